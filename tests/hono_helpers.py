"""Helpers for the Hono tests: a gateway with Hono's demo registry, device
requests that run while the test plays the application, and a northbound
consumer reading `/api/hono/<tenant>/messages` in a thread."""
import json
import queue
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from conftest import run_ugate

TENANT = "DEFAULT_TENANT"
SENSOR = ("sensor1@DEFAULT_TENANT", "hono-secret")
GATEWAY = ("gw1@DEFAULT_TENANT", "gw-secret")
JSON = {"Content-Type": "application/json"}
EMPTY = {"Content-Type": "application/vnd.eclipse-hono-empty-notification"}


def hono(config_dir, *args, password=None):
    """Run `ugate hono ARGS --config-dir DIR`, the password on stdin."""
    return run_ugate("hono", *args, "--config-dir", config_dir,
                     input=password + "\n" if password is not None else "")


def demo_gateway(start_gateway, tmp_path, hono_config=None, **config):
    """A gateway with Hono's demo data (DEFAULT_TENANT, 4711 sensor1/hono-secret,
    gw-1 gw1/gw-secret, 4712 via gw-1)."""
    config_dir = tmp_path / "hono-config"
    config_dir.mkdir(exist_ok=True)
    r = hono(config_dir, "demo")
    assert r.returncode == 0, r.stderr
    if hono_config:
        config["hono"] = hono_config
    return start_gateway(config=config, config_dir=config_dir)


def device(gw, method, path, auth=SENSOR, headers=JSON, content=b'{"temp": 5}', timeout=30, **kw):
    """A device's request (httpx Basic auth when `auth` is a pair)."""
    with httpx.Client(timeout=timeout) as client:
        return client.request(method, gw.url(path), auth=auth, headers=headers, content=content, **kw)


_pool = ThreadPoolExecutor(8)


def later(fn, *args, **kwargs):
    """Run a (blocking) request in the background; `.result()` waits."""
    return _pool.submit(fn, *args, **kwargs)


class Consumer:
    """An application consuming a tenant's messages over SSE (a raw socket,
    so `close` ends the read at once)."""

    def __init__(self, gw, tenant=TENANT, token=True):
        self.gw = gw
        self.tenant = tenant
        self.messages = queue.Queue()
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.status = None
        self.head = b""
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        self.sock.settimeout(None)
        auth = "Authorization: Bearer {}\r\n".format(gw.token if token is True else token) if token else ""
        self.sock.sendall("GET /api/hono/{}/messages HTTP/1.0\r\n{}\r\n".format(tenant, auth).encode())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.connected.wait(15), "consumer did not connect"

    def _run(self):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return
                buf += chunk
            self.head, buf = buf.split(b"\r\n\r\n", 1)
            self.status = int(self.head.split()[1])
            while True:
                while b"\n\n" in buf:
                    frame, buf = buf.split(b"\n\n", 1)
                    if frame == b"data: ping":
                        self.connected.set()  # the first frame: registered
                    elif frame.startswith(b"data: "):
                        self.messages.put(json.loads(frame[6:]))
                if self.status != 200:
                    return
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
        except OSError:
            pass
        finally:
            self.body = buf
            self.closed.set()
            self.connected.set()

    def next(self, timeout=10):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message for the consumer within {} s".format(timeout))

    def none_within(self, seconds):
        try:
            msg = self.messages.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError("unexpected message {}".format(msg))

    def settle(self, msg, outcome):
        return self.gw.post("/api/hono/{}/messages/{}".format(self.tenant, msg["id"]),
                            json={"outcome": outcome})

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.closed.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
