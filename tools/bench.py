"""Benchmarks: the same workloads against the gateway on CPython and on the
MicroPython unix port, over loopback, printed as a table.

    python tools/bench.py [--runtime cpython|micropython ...] [--posts 2000] [--entities 100]
                          [--gets 200] [--lines 5000] [--events 300] [--clients 3] [--heapsize 512K]

Workloads, each on a fresh gateway per runtime (serial port: a pty, jsonl):
  post_states   N sequential POST /api/states/<entity> (one connection each, as HTTP/1.0)
  get_states    sequential GET /api/states with M entities set
  serial_lines  L JSON lines written to the port until the last one is a state
  ws_fanout     E states POSTed, each until all C WebSocket subscribers have it

MicroPython runs the compiled tree of tools/build.py (what a board runs)
under a fixed heap, sampled by tools/heap_probe.py: the `peak heap` column
is the largest live heap (after a full collection) seen during a workload,
sampled every 100 ms.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tty

import websocket

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import build  # noqa: E402  (tools/build.py)
from ports import free_port  # noqa: E402  (tools/ports.py)

from ugate.hub.tokens import TokenStore  # noqa: E402

BIN = os.path.dirname(sys.executable)
RUNTIMES = ("cpython", "micropython")


def ws_subscribe(port, token, timeout=30):
    """A WebSocket client of Home Assistant's API subscribed to state_changed."""
    ws = websocket.create_connection("ws://127.0.0.1:{}/api/websocket".format(port), timeout=timeout)
    assert json.loads(ws.recv())["type"] == "auth_required"
    ws.send(json.dumps({"type": "auth", "access_token": token}))
    assert json.loads(ws.recv())["type"] == "auth_ok"
    ws.send(json.dumps({"id": 1, "type": "subscribe_events", "event_type": "state_changed"}))
    assert json.loads(ws.recv())["success"] is True
    return ws


class Target:
    """A gateway process on loopback with a jsonl serial port on a pty
    (`config`: more keys of its config.json)."""

    def __init__(self, runtime, workdir, tree, heapsize, config=None):
        self.runtime = runtime
        self.config_dir = os.path.join(workdir, "{}-{}".format(runtime, time.time_ns()))
        os.makedirs(self.config_dir)
        self.serial, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        link = os.path.join(self.config_dir, "serial")
        os.symlink(os.ttyname(slave), link)
        with open(os.path.join(self.config_dir, "config.json"), "w") as f:
            json.dump(dict({"serial": [{"port": link, "protocol": "jsonl"}], "log_level": "warning"},
                           **(config or {})), f)
        self.token = TokenStore(self.config_dir).create("bench")
        self.port = free_port()
        args = ["--config-dir", self.config_dir, "--host", "127.0.0.1", "--port", str(self.port)]
        env = dict(os.environ)
        if runtime == "cpython":
            argv = [os.path.join(BIN, "ugate"), "run"] + args
        else:
            argv = [os.path.join(BIN, "micropython"), "-X", "heapsize=" + heapsize,
                    os.path.join(TOOLS, "heap_probe.py")] + args
            env["MICROPYPATH"] = ":".join([".frozen", tree, os.path.join(tree, "lib")])
        self.log_path = os.path.join(self.config_dir, "stderr.log")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "w"))
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("{} gateway did not start:\n{}".format(runtime, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                # Serving, and its port open: input sent before the port is
                # open is flushed when it opens.
                if json.loads(self.request("GET", "/api/ugate/ports"))[0]["state"] == "connected":
                    break
            except OSError:
                pass
            time.sleep(0.05)

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Authorization": "Bearer " + self.token}
            if body is not None:
                headers["Content-Type"] = "application/json"
                body = json.dumps(body)
            conn.request(method, path, body, headers)
            res = conn.getresponse()
            data = res.read()
        finally:
            conn.close()
        if res.status >= 300:
            raise RuntimeError("{} {}: {} {!r}".format(method, path, res.status, data[:200]))
        return data

    def subscriber(self):
        return ws_subscribe(self.port, self.token)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def log_size(self):
        return os.path.getsize(self.log_path)

    def peak_heap(self, since):
        """The largest heap_probe sample logged after byte `since`, or None."""
        with open(self.log_path) as f:
            f.seek(since)
            samples = [int(line[5:]) for line in f.read().splitlines() if line.startswith("heap ")]
        return max(samples) if samples else None

    def stop(self):
        self.proc.kill()  # its files are thrown away: no need for a clean stop
        self.proc.wait()
        os.close(self.serial)
        os.close(self._slave)


def post_states(target, opts):
    for i in range(opts.posts):
        target.request("POST", "/api/states/sensor.bench_{}".format(i % opts.entities),
                       {"state": str(i), "attributes": {"unit_of_measurement": "W"}})
    return opts.posts


def get_states(target, opts):
    for i in range(opts.entities):
        target.request("POST", "/api/states/sensor.bench_{}".format(i), {"state": str(i)})
    start = time.perf_counter()
    for _ in range(opts.gets):
        states = json.loads(target.request("GET", "/api/states"))
        assert len(states) >= opts.entities
    return opts.gets, time.perf_counter() - start


def serial_lines(target, opts):
    for i in range(opts.lines):
        os.write(target.serial, '{{"id": "bench", "count": {}}}\n'.format(i).encode())
    last = str(opts.lines - 1)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if json.loads(target.request("GET", "/api/states/sensor.jsonl_bench_count"))["state"] == last:
                return opts.lines
        except RuntimeError:  # 404 until the first line is through
            pass
        time.sleep(0.02)
    raise RuntimeError("the last serial line never became a state")


def ws_fanout(target, opts):
    clients = [target.subscriber() for _ in range(opts.clients)]
    try:
        start = time.perf_counter()
        for i in range(opts.events):
            target.request("POST", "/api/states/sensor.fanout", {"state": str(i)})
            for ws in clients:
                while True:
                    msg = json.loads(ws.recv())
                    new = msg["event"]["data"]["new_state"]
                    if new and new["entity_id"] == "sensor.fanout" and new["state"] == str(i):
                        break
        return opts.events, time.perf_counter() - start
    finally:
        for ws in clients:
            ws.close()


WORKLOADS = [post_states, get_states, serial_lines, ws_fanout]


def run(opts):
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        tree = build.build(opts.board, os.path.join(workdir, "build")) if "micropython" in opts.runtime else None
        for runtime in opts.runtime:
            for workload in WORKLOADS:
                target = Target(runtime, workdir, tree, opts.heapsize)
                try:
                    mark = target.log_size()
                    start = time.perf_counter()
                    result = workload(target, opts)
                    ops, seconds = result if isinstance(result, tuple) else (result, time.perf_counter() - start)
                    if runtime == "micropython":
                        time.sleep(0.25)  # one more heap sample after the last operation
                    rows.append((runtime, workload.__name__, ops, seconds, target.peak_heap(mark)))
                except (RuntimeError, OSError, websocket.WebSocketException) as exc:
                    # A failed workload is a result too; the others still run.
                    rows.append((runtime, workload.__name__, "failed: {}".format(exc), None, None))
                finally:
                    target.stop()
    return rows


def markdown(columns, rows):
    """A Markdown table: `columns` are (title, right-aligned); a row is its
    cells, or (first cells..., "failed: ...") for a workload that failed."""
    lines = ["| " + " | ".join(t for t, _ in columns) + " |",
             "|" + "|".join("---:" if right else "---" for _, right in columns) + "|"]
    for cells in rows:
        cells = list(cells) + [""] * (len(columns) - len(cells))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def table(rows):
    cells = []
    for runtime, workload, ops, seconds, heap in rows:
        if seconds is None:
            cells.append((runtime, workload, ops))
            continue
        cells.append((runtime, workload, ops, "{:.2f}".format(seconds),
                      "{:.0f}".format(ops / seconds if seconds else 0),
                      "{} KB".format(round(heap / 1024)) if heap else "-"))
    return markdown([("runtime", False), ("workload", False), ("ops", True), ("seconds", True),
                     ("ops/s", True), ("peak heap", True)], cells)


def main(argv=None):
    p = argparse.ArgumentParser(description="Run the benchmark workloads against the gateway on CPython "
                                "and MicroPython over loopback and print a table.")
    p.add_argument("--runtime", action="append", choices=RUNTIMES, help="only this runtime (repeatable)")
    p.add_argument("--posts", type=int, default=2000, help="POST /api/states requests (default 2000)")
    p.add_argument("--entities", type=int, default=100, help="entities for GET /api/states (default 100)")
    p.add_argument("--gets", type=int, default=200, help="GET /api/states requests (default 200)")
    p.add_argument("--lines", type=int, default=5000, help="serial JSON lines (default 5000)")
    p.add_argument("--events", type=int, default=300, help="states fanned out to WebSocket clients (default 300)")
    p.add_argument("--clients", type=int, default=3, help="WebSocket subscribers (default 3)")
    p.add_argument("--board", default="esp32", help="the board whose build MicroPython runs (default esp32)")
    p.add_argument("--heapsize", default="512K", help="MicroPython's fixed heap (default 512K)")
    opts = p.parse_args(argv)
    opts.runtime = opts.runtime or list(RUNTIMES)
    rows = run(opts)
    print(table(rows))
    return 1 if any(seconds is None for _, _, _, seconds, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
