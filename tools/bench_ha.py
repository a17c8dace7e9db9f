"""ugate side by side with Home Assistant on Home Assistant's own API, over
loopback, printed as a table of medians and ratios (and written as JSON).

    python tools/bench_ha.py [--targets ha,cpython,micropython,microdot-cpython,microdot-micropython]
                             [--rounds 5] [--duration 5] [--connections 8] [--entities 100]
                             [--subscribers 10] [--changes 500] [--json FILE]

Targets, one running at a time, in rounds that alternate their order:
  ha                    Home Assistant HA_VERSION with only http, api and websocket_api, in
                        its own virtual environment (installed once into the cache,
                        $UGATE_BENCH_CACHE or ~/.cache/ugate-bench), a long-lived token
                        made by its own auth code (tools/ha_token.py)
  cpython, micropython  `ugate run` on each runtime (MicroPython: the unix port, with a
                        board's class limits), default config but for limits.max_connections
                        64 (the fan-outs hold 11 connections, a board's default is 8)
  microdot-*            the least a bare Microdot app does for the POST route
                        (tools/bench_microdot.py): the ceiling of a Microdot server

Workloads (HTTP ones with wrk, Debian's `wrk`, 1 thread):
  post_new      POST /api/states/sensor.x, a new connection each (Connection: close),
                a new state each time
  post_keep     the same on kept connections
  get_states    GET /api/states with the entities set (plus sensor.x), kept connections
  get_state     GET /api/states/sensor.x, kept connections
  ws_fanout     S WebSocket subscribers (subscribe_events state_changed), N states
                POSTed one after the other: events delivered to all per second
  sse_fanout    the same over /api/stream
  startup       seconds from the start of the process to the first answer of GET /api/
  rss           the server's resident memory after the round's workloads, MB
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import websocket

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from bench import markdown, ws_subscribe  # noqa: E402  (tools/bench.py)
from ports import free_port  # noqa: E402  (tools/ports.py)
ROOT = os.path.dirname(TOOLS)
BIN = os.path.dirname(sys.executable)

HA_VERSION = "2024.1.6"
HA_INTEGRATIONS = ("http", "api", "websocket_api")
TARGETS = ("ha", "cpython", "micropython", "microdot-cpython", "microdot-micropython")
HTTP_WORKLOADS = ("post_new", "post_keep", "get_states", "get_state")
WORKLOADS = HTTP_WORKLOADS + ("ws_fanout", "sse_fanout", "startup", "rss")
#: What the bare Microdot app serves.
MICRODOT_WORKLOADS = ("post_new", "post_keep", "startup", "rss")
UNITS = {"ws_fanout": "ev/s", "sse_fanout": "ev/s", "startup": "s", "rss": "MB"}
#: Lower is better for these: their ratio is HA's value over ugate's.
LOWER_IS_BETTER = ("startup", "rss")

POST_SCRIPT = """
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, '{"state": "' .. n .. '", "attributes": {"unit_of_measurement": "W"}}')
end
"""


def cache_dir():
    return os.environ.get("UGATE_BENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ugate-bench")


def ha_venv():
    """Home Assistant's virtual environment, made once (a few minutes) and kept."""
    venv = os.path.join(cache_dir(), "ha-" + HA_VERSION)
    hass = os.path.join(venv, "bin", "hass")
    if os.path.exists(hass):
        return venv
    print("installing Home Assistant {} into {} (once)".format(HA_VERSION, venv), file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["homeassistant==" + HA_VERSION], check=True)
    # What Home Assistant would pip-install at its first start, installed now.
    site = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                           "import homeassistant, os; print(os.path.dirname(homeassistant.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    requirements = []
    for name in HA_INTEGRATIONS:
        with open(os.path.join(site, "components", name, "manifest.json")) as f:
            requirements += json.load(f).get("requirements", [])
    if requirements:
        subprocess.run(pip + requirements, check=True)
    return venv


class Target:
    """A server process on loopback; subclasses say how to start it."""
    token = "unused"

    def __init__(self, name, workdir):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def env(self):
        return None

    def ready_request(self):
        return "GET", "/api/", None

    def start(self, settle, timeout=120):
        """Start the server; returns the seconds to its first answer."""
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        start = time.perf_counter()
        self.proc = subprocess.Popen(self.argv(), env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        method, path, body = self.ready_request()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("{} exited at start; see {}".format(self.name, self.log.name))
            try:
                status, _ = self.request(method, path, body, timeout=2)
                if status < 300:
                    seconds = time.perf_counter() - start
                    time.sleep(settle)  # what a server does just after its start is not measured
                    return seconds
            except OSError:
                pass
            if time.perf_counter() - start > timeout:
                raise RuntimeError("{} did not answer within {} s".format(self.name, timeout))
            time.sleep(0.005)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def rss_mb(self):
        with open("/proc/{}/status".format(self.proc.pid)) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None

    def headers(self):
        return {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}

    def request(self, method, path, body=None, timeout=30, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, self.headers())
            res = conn.getresponse()
            return res.status, res.read()
        finally:
            if own:
                conn.close()


class HomeAssistant(Target):
    def __init__(self, name, workdir):
        super().__init__(name, workdir)
        self.venv = ha_venv()
        with open(os.path.join(self.dir, "configuration.yaml"), "w") as f:
            f.write("http:\n  server_host: 127.0.0.1\n  server_port: {}\n".format(self.port))
            for name in HA_INTEGRATIONS[1:]:
                f.write("{}:\n".format(name))
        self.token = subprocess.run([os.path.join(self.venv, "bin", "python"), os.path.join(TOOLS, "ha_token.py"),
                                     self.dir], capture_output=True, text=True, check=True).stdout.strip()

    def argv(self):
        # --skip-pip: its integrations' requirements are installed with it.
        return [os.path.join(self.venv, "bin", "hass"), "-c", self.dir, "--skip-pip"]


class Ugate(Target):
    def __init__(self, name, workdir):
        super().__init__(name, workdir)
        from ugate.hub.tokens import TokenStore
        with open(os.path.join(self.dir, "config.json"), "w") as f:
            # The fan-outs hold 11 connections, more than a board's 8.
            json.dump({"log_level": "warning", "limits": {"max_connections": 64}}, f)
        self.token = TokenStore(self.dir).create("bench")

    def argv(self):
        return [os.path.join(BIN, "ugate"), "run", "--config-dir", self.dir, "--host", "127.0.0.1",
                "--port", str(self.port), "--runtime", self.name]


class BareMicrodot(Target):
    def argv(self):
        script = [os.path.join(TOOLS, "bench_microdot.py"), str(self.port)]
        if self.name.endswith("micropython"):
            return [os.path.join(BIN, "micropython")] + script
        return [sys.executable] + script

    def env(self):
        from ugate_host.cli import micropython_path
        return dict(os.environ, MICROPYPATH=micropython_path())

    def ready_request(self):
        return "POST", "/api/states/sensor.x", {"state": "0"}


def make_target(name, workdir):
    if name == "ha":
        return HomeAssistant(name, workdir)
    if name.startswith("microdot-"):
        return BareMicrodot(name, workdir)
    return Ugate(name, workdir)


# -- workloads ----------------------------------------------------------------

def wrk(target, opts, path, script=None, close=False):
    """Requests per second that wrk reaches; RuntimeError on failed requests."""
    argv = ["wrk", "-t1", "-c{}".format(opts.connections), "-d{}s".format(opts.duration),
            "-H", "Authorization: Bearer " + target.token]
    if close:
        argv += ["-H", "Connection: close"]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + ["http://127.0.0.1:{}{}".format(target.port, path)],
                         capture_output=True, text=True, timeout=opts.duration + 60).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None or bad:
        raise RuntimeError("wrk on {} {}: {}".format(target.name, path, out.strip()[-300:]))
    return float(rate.group(1))


def seed(target, opts):
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    try:
        for i in range(opts.entities):
            status, body = target.request("POST", "/api/states/sensor.bench_{}".format(i), {
                "state": str(i), "attributes": {"unit_of_measurement": "W",
                                                "friendly_name": "Bench {}".format(i)}}, conn=conn)
            if status >= 300:
                raise RuntimeError("seeding {}: {} {!r}".format(target.name, status, body[:200]))
        target.request("POST", "/api/states/sensor.x", {"state": "0"}, conn=conn)
    finally:
        conn.close()


def fanout(target, opts, subscribe):
    """Events per second delivered to every subscriber: `subscribe()`
    returns a function that reads until it has seen all the changes."""
    readers = [subscribe() for _ in range(opts.subscribers)]
    done = []
    threads = [threading.Thread(target=lambda r=r: done.append(r()), daemon=True) for r in readers]
    for t in threads:
        t.start()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    start = time.perf_counter()
    try:
        for i in range(1, opts.changes + 1):
            status, _ = target.request("POST", "/api/states/sensor.fanout", {"state": str(i)}, conn=conn)
            if status >= 300:
                raise RuntimeError("fan-out POST on {}: {}".format(target.name, status))
        for t in threads:
            t.join(60)
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    if len(done) != len(readers) or not all(done):
        raise RuntimeError("{}: not every subscriber got every change".format(target.name))
    return opts.subscribers * opts.changes / seconds


def ws_subscriber(target, opts):
    ws = ws_subscribe(target.port, target.token, timeout=60)
    last = str(opts.changes)

    def read():
        try:
            while True:
                for msg in (lambda m: m if isinstance(m, list) else [m])(json.loads(ws.recv())):
                    new = msg["event"]["data"]["new_state"]
                    if new and new["entity_id"] == "sensor.fanout" and new["state"] == last:
                        return True
        finally:
            ws.close()
    return read


def sse_subscriber(target, opts):
    s = socket.create_connection(("127.0.0.1", target.port), timeout=60)
    s.sendall("GET /api/stream?restrict=state_changed HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n".format(
        target.token).encode())
    buf = b""
    while b"data: ping" not in buf:  # subscribed
        data = s.recv(65536)
        if not data:
            raise RuntimeError("{}: /api/stream closed".format(target.name))
        buf += data
    marker = '"entity_id": "sensor.fanout", "state": "{}"'.format(opts.changes).encode()
    marker_compact = marker.replace(b": ", b":").replace(b", ", b",")  # orjson writes no spaces

    def read():
        seen = b""
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    return False
                seen = seen[-200:] + data
                if marker in seen or marker_compact in seen:
                    return True
        finally:
            s.close()
    return read


def run_workload(target, workload, opts, script):
    if workload == "post_new":
        return wrk(target, opts, "/api/states/sensor.x", script, close=True)
    if workload == "post_keep":
        return wrk(target, opts, "/api/states/sensor.x", script)
    if workload == "get_states":
        return wrk(target, opts, "/api/states")
    if workload == "get_state":
        return wrk(target, opts, "/api/states/sensor.x")
    if workload == "ws_fanout":
        return fanout(target, opts, lambda: ws_subscriber(target, opts))
    if workload == "sse_fanout":
        return fanout(target, opts, lambda: sse_subscriber(target, opts))
    if workload == "rss":
        return target.rss_mb()
    raise ValueError(workload)


def run(opts):
    """{target: {workload: [value per round]}} and the errors met."""
    results = {name: {} for name in opts.targets}
    errors = []
    with tempfile.TemporaryDirectory() as workdir:
        script = os.path.join(workdir, "post.lua")
        with open(script, "w") as f:
            f.write(POST_SCRIPT)
        targets = [make_target(name, workdir) for name in opts.targets]
        for round_ in range(opts.rounds):
            # The order turns each round: no target always runs first or last.
            shift = round_ % len(targets)
            for target in targets[shift:] + targets[:shift]:
                workloads = MICRODOT_WORKLOADS if isinstance(target, BareMicrodot) else WORKLOADS
                try:
                    results[target.name].setdefault("startup", []).append(target.start(opts.settle))
                except RuntimeError as exc:
                    errors.append(str(exc))
                    continue
                try:
                    if not isinstance(target, BareMicrodot):
                        seed(target, opts)
                    for workload in workloads:
                        if workload in opts.workloads and workload != "startup":
                            print("round {} {} {}".format(round_ + 1, target.name, workload), file=sys.stderr)
                            try:
                                value = run_workload(target, workload, opts, script)
                            except (RuntimeError, OSError, AssertionError,
                                    websocket.WebSocketException) as exc:
                                errors.append("{} {}: {}".format(target.name, workload, exc))
                                continue
                            results[target.name].setdefault(workload, []).append(value)
                finally:
                    target.stop()
    return results, errors


def medians(results):
    return {target: {w: statistics.median(v) for w, v in values.items() if v}
            for target, values in results.items()}


def ratio(workload, value, reference):
    if value is None or not reference:
        return None
    return reference / value if workload in LOWER_IS_BETTER else value / reference


def fmt(workload, value):
    if value is None:
        return "-"
    if workload == "startup":
        return "{:.2f} s".format(value)
    if workload == "rss":
        return "{:.0f} MB".format(value)
    return "{:.0f}{}".format(value, "/s" if workload not in UNITS else " " + UNITS[workload])


def table(med, opts):
    """The medians, each ugate runtime with its ratio to Home Assistant (>1:
    ugate is better: faster, or less time/memory), and the Microdot ceiling."""
    names = opts.targets
    columns = [("workload", False)]
    for name in names:
        columns.append((name, True))
        if name in ("cpython", "micropython") and "ha" in names:
            columns.append(("× HA", True))
        if name.startswith("microdot-") and name[9:] in names:
            columns.append(("{} / ceiling".format(name[9:]), True))
    rows = []
    for workload in opts.workloads:
        row = [workload]
        ha = med.get("ha", {}).get(workload)
        for name in names:
            value = med.get(name, {}).get(workload)
            row.append(fmt(workload, value))
            if name in ("cpython", "micropython") and "ha" in names:
                r = ratio(workload, value, ha)
                row.append("{:.2f}".format(r) if r is not None else "-")
            if name.startswith("microdot-") and name[9:] in names:
                r = ratio(workload, med.get(name[9:], {}).get(workload), value)
                row.append("{:.2f}".format(r) if r else "-")
        rows.append(row)
    return markdown(columns, rows)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": sys.version.split()[0],
            "home_assistant": HA_VERSION}


def main(argv=None):
    p = argparse.ArgumentParser(description="ugate side by side with Home Assistant on its own API.")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help="comma-separated, of " + ", ".join(TARGETS) + " (default all)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default all)")
    p.add_argument("--rounds", type=int, default=5, help="rounds, medians taken (default 5)")
    p.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--entities", type=int, default=100, help="entities set before the workloads (default 100)")
    p.add_argument("--subscribers", type=int, default=10, help="fan-out subscribers (default 10)")
    p.add_argument("--changes", type=int, default=500, help="fan-out state changes (default 500)")
    p.add_argument("--settle", type=float, default=2,
                   help="seconds between a server's first answer and the workloads (default 2)")
    p.add_argument("--json", default=os.path.join(ROOT, "build", "bench-ha.json"),
                   help="where the results go as JSON (default build/bench-ha.json)")
    opts = p.parse_args(argv)
    opts.targets = [t for t in opts.targets.split(",") if t]
    opts.workloads = [w for w in opts.workloads.split(",") if w]
    unknown = set(opts.targets) - set(TARGETS) or set(opts.workloads) - set(WORKLOADS)
    if unknown:
        p.error("unknown: " + ", ".join(sorted(unknown)))
    if not shutil.which("wrk"):
        p.error("needs wrk (apt-get install wrk)")
    results, errors = run(opts)
    med = medians(results)
    print(table(med, opts))
    for error in errors:
        print("error:", error)
    os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
    with open(opts.json, "w") as f:
        json.dump({"machine": machine(), "options": {k: v for k, v in vars(opts).items() if k != "json"},
                   "medians": med, "rounds": results, "errors": errors}, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
