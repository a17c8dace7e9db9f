"""A small client of Home Assistant's WebSocket API over websocket-client,
for the tests of `/api/websocket`."""
import json
import time

import websocket
from websocket import ABNF


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


def closed_by_server(ws, timeout=10):
    """True when the server closes the connection (close frame, EOF or reset)
    before `timeout`; messages still in flight are skipped."""
    ws.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            frame = ws.recv_frame()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return True
        except websocket.WebSocketTimeoutException:
            return False
        if frame is None or frame.opcode == ABNF.OPCODE_CLOSE:
            return True
    return False
