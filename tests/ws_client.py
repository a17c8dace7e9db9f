"""A small client of Home Assistant's WebSocket API over websocket-client,
for the tests of `/api/websocket`."""
import json

import websocket


def ws_url(gateway):
    return "ws://127.0.0.1:{}/api/websocket".format(gateway.port)


def open_socket(gateway, **kwargs):
    return websocket.create_connection(ws_url(gateway), timeout=10, **kwargs)


def recv(ws):
    return json.loads(ws.recv())


def send(ws, message):
    ws.send(json.dumps(message))


def connect(gateway, token=None, **kwargs):
    """An authenticated client connection."""
    ws = open_socket(gateway, **kwargs)
    assert recv(ws)["type"] == "auth_required"
    send(ws, {"type": "auth", "access_token": token or gateway.token})
    assert recv(ws)["type"] == "auth_ok"
    return ws


def command(ws, message):
    send(ws, message)
    return recv(ws)
