"""A revoked credential ends what it opened, on both runtimes: its
`/api/stream` streams, its Hono consumer streams (which then no longer count
as consumers) and its WebSocket connections; other clients go on. Revoked
here (/auth/revoke, the WebSocket profile commands) it ends them at once; by
another process (`ugate token revoke`, `ugate user remove`) within
Auth.recheck_interval (2 s)."""
import socket
import threading
import time

import httpx

from auth_client import create_user, sign_in
from conftest import run_ugate, wait_for
from hono_helpers import JSON, Consumer, demo_gateway, device
from ws_client import closed_by_server, command, connect

QOS1 = dict(JSON, **{"QoS-Level": "1"})


class Stream:
    """GET /api/stream with a token on a raw socket, read in a thread."""

    def __init__(self, gw, token):
        self.data = b""
        self.ended = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
        self.sock.sendall("GET /api/stream HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n".format(
            token).encode())
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: b"data: ping" in self.data, 10, "the stream's first ping")

    def _read(self):
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.data += chunk
        except OSError:
            pass
        self.ended.set()

    def close(self):
        self.sock.close()


def test_ugate_token_revoke_closes_its_streams(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    token = run_ugate("token", "create", "--name", "app", "--config-dir", gw.config_dir).stdout.strip()
    stream, other = Stream(gw, token), Stream(gw, gw.token)
    app = Consumer(gw, token=token)
    time.sleep(1.1)  # auth.json's mtime has whole seconds
    assert run_ugate("token", "revoke", "app", "--config-dir", gw.config_dir).returncode == 0
    assert stream.ended.wait(8), "the revoked token's /api/stream stayed open"
    assert app.closed.wait(8), "the revoked token's Hono consumer stream stayed open"
    # No consumer is left for the tenant: a QoS 1 message is refused, not delivered.
    r = device(gw, "POST", "/telemetry", headers=QOS1)
    assert r.status_code == 503 and r.json() == {"error": "no consumer available"}
    # The owner's stream goes on.
    gw.post("/api/events/still_here", json={})
    wait_for(lambda: b"still_here" in other.data, 10, "the other stream's event")
    assert not other.ended.is_set()
    other.close()


def test_revoking_a_refresh_token_ends_its_access_tokens_streams_and_websockets(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    create_user(gw, "ada", "pw")
    tokens = sign_in(gw, "ada", "pw")
    access = tokens["access_token"]
    stream = Stream(gw, access)
    app = Consumer(gw, token=access)
    ws = connect(gw, access)
    assert command(ws, {"id": 1, "type": "ping"})["type"] == "pong"
    with httpx.Client(timeout=10) as client:
        assert client.post(gw.url("/auth/revoke"), data={"token": tokens["refresh_token"]}).status_code == 200
    assert stream.ended.wait(5) and app.closed.wait(5)
    assert closed_by_server(ws, timeout=5)
    assert gw.get("/api/", token=access).status_code == 401
    r = device(gw, "POST", "/telemetry", headers=QOS1)
    assert r.status_code == 503


def test_ugate_user_remove_ends_the_users_sessions(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    create_user(gw, "bob", "pw2")
    bob = sign_in(gw, "bob", "pw2")["access_token"]
    ada = sign_in(gw, "ada", "pw")["access_token"]
    bobs, adas = Stream(gw, bob), Stream(gw, ada)
    ws = connect(gw, bob)
    time.sleep(1.1)
    assert run_ugate("user", "remove", "bob", "--config-dir", gw.config_dir).returncode == 0
    assert bobs.ended.wait(8)
    assert closed_by_server(ws, timeout=8)
    assert gw.get("/api/", token=bob).status_code == 401
    assert gw.get("/api/", token=ada).status_code == 200 and not adas.ended.is_set()
    adas.close()
