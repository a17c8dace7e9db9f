"""Each board's configurations (`fits` in boards/<board>.json) served live
on a 32-bit twin of the board, with the board's heap: the measurement a
board's owner can trust, where tools/heap_cost.py adds up parts.

    python tools/board_live.py build --source ~/micropython   # the twin, once
    python tools/board_live.py [--board esp32] [--install frozen] [--least]

The twin is MicroPython's unix port built for i686 from a checkout of
MicroPython's source (git clone, then `make -C ports/unix submodules`; the
build needs `gcc-i686-linux-gnu`), with tools/twin32/ as its variant: the
standard variant's features, asyncio and the hardware stand-ins
(tests/standins) frozen in as a board has them built in, and a ROMFS
partition, a file mapped outside the heap as a board maps its partition
(tools/twin32/romfs-file.patch; tests/standins/romfs_partition.py makes it
the block device a board's is). `build` makes two of it in build/twin32/: `plain/micropython`
and `frozen/micropython`, the second with ugate frozen in as
firmware/manifest.py freezes it into a board's firmware.

A run boots the board as `make deploy` lays it out (boot.py, main.py,
board.json and the config in a flash root; the code as `.mpy` files, as
the ROMFS image in a partition, or frozen), joined to the stand-ins' Wi-Fi, with a serial
port (a pty), an MQTT broker (Mosquitto) for a configured MQTT forwarder,
and the heap the board leaves the gateway (`heap_budget` free when the
interpreter starts). Then each of the clients the config lets in at once
(`limits.max_connections`) does, at the same time as the others, its
share of 20 rounds of: a state POSTed (4 attributes, about 150 bytes of
text, as tools/heap_cost.py holds), an event POSTed with a body of nearly
`limits.max_body_bytes`, `GET /api/states`, and a reading on the serial
port. The run passes when every request was answered with success, the
gateway still serves, holds the 20 states and logged no MemoryError.

With `--update` each entry's board then takes an over-the-air update (the
tree's ugate-update.bin, sent as `ugate ota` sends it: the tree, or the
ROMFS image where the board runs from ROMFS), booting again each time it
resets: its trial boot must come up and keep it.

The table says, for each entry and way to install: whether it passed at
`heap_budget` (`RUNS` runs in a row), how the update went, and with `--least` the least heap
(free at start, found by halving to `LEAST_STEP`) at which it passed
`RUNS` runs in a row, so `left` is what the board has to spare. `--record`
writes the least heap of each entry, installed as it says, into its board
file (`live`), with tools/heap_cost.py's static figure for it, which
tests/test_memory_budget.py holds the code to. Not in CI: MicroPython's source is not in a
package registry the build machines reach (README "Board matrix").
"""
import argparse
import functools
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty

import httpx

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import build  # noqa: E402  (tools/build.py)
import deploy  # noqa: E402  (tools/deploy.py: what a board's flash root holds)
import heap_cost  # noqa: E402  (tools/heap_cost.py: the attributes it holds)
from mosquitto import Broker  # noqa: E402  (tools/mosquitto.py)
from ports import free_port  # noqa: E402  (tools/ports.py)
from ugate.hub.tokens import TokenStore  # noqa: E402
from ugate_host import ota, romfs, update_bundle  # noqa: E402

TWIN_VARIANT = os.path.join(TOOLS, "twin32")
TWIN_BUILD = os.path.join(REPO, "build", "twin32")
#: The ways to install, each with its twin (frozen: ugate is in it).
TWINS = {"files": "plain", "romfs": "plain", "frozen": "frozen"}
#: What the standard variant has that the twin leaves out: their libraries
#: are git submodules the checkout may lack, and the gateway needs none.
TWIN_MAKE = ["CROSS_COMPILE=i686-linux-gnu-", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0"]

ROUNDS = 20
RUNS = 3
LEAST_STEP = 1024
WIFI = {"ssid": "home", "password": "secret123", "networks": [["home", -50]], "rssi": -61}
#: An event's body, short of the limit by this much for its JSON around it.
EVENT_SLACK = 64


def twin(install):
    return os.path.join(TWIN_BUILD, TWINS[install], "micropython")


def build_twins(source):
    """Patch MicroPython's checkout `source` (once) and build both twins."""
    main_c = os.path.join(source, "ports", "unix", "main.c")
    with open(main_c) as f:
        patched = "MICROPY_ROMFS" in f.read()
    if not patched:
        subprocess.run(["patch", "-p1", "-d", source, "-i", os.path.join(TWIN_VARIANT, "romfs-file.patch")],
                       check=True)
    subprocess.run(["make", "-C", os.path.join(source, "mpy-cross")], check=True)
    # firmware/manifest.py imports tools/build.py, which finds Microdot in
    # this Python's packages: it must run the manifest.
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    for name, frozen in (("plain", "0"), ("frozen", "1")):
        subprocess.run(["make", "-C", os.path.join(source, "ports", "unix"), "VARIANT_DIR=" + TWIN_VARIANT,
                        "BUILD=" + os.path.join(TWIN_BUILD, name)] + TWIN_MAKE,
                       env=dict(env, UGATE_FROZEN=frozen), check=True)
        print(os.path.join(TWIN_BUILD, name, "micropython"))


def free_at_start(exe, heapsize):
    out = subprocess.run([exe, "-X", "heapsize={}".format(heapsize), "-c",
                          "import gc\ngc.collect()\nprint(gc.mem_free())"],
                         capture_output=True, text=True, check=True).stdout
    return int(out)


@functools.lru_cache(maxsize=None)  # every entry of a board runs at its heap_budget
def heapsize_for(exe, free):
    """The smallest heap (to 16 bytes) that leaves `free` bytes when the
    interpreter starts, as a board leaves `heap_budget`."""
    lo, hi = free, 2 * free
    while hi - lo > 16:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if free_at_start(exe, mid) >= free else (mid, hi)
    return hi


class SerialPort:
    """A pty the gateway opens as its serial port, through a symlink."""

    def __init__(self, link):
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), link)

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        os.close(self.master)
        os.close(self.slave)


class LiveBoard:
    """One boot of a board tree on its twin with a fixed heap, in a flash
    root of its own; `serve()` runs the clients and says what failed."""

    def __init__(self, tree, entry, install, heapsize):
        self.root = tempfile.mkdtemp(prefix="ugate-live-")
        for name in deploy.flash_root(install):
            src = os.path.join(tree, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(self.root, name))
        self.data = os.path.join(self.root, "ugate-data")
        os.makedirs(self.data)
        self.broker = Broker() if entry["config"].get("forward") else None
        self.port = SerialPort(os.path.join(self.root, "ttyS0"))
        config = json.loads(json.dumps(entry["config"]))
        config["serial"] = [dict(config["serial"][0], port=self.port.link)] if config.get("serial") else []
        for forward in config.get("forward", []):
            forward.update(host="127.0.0.1", port=self.broker.port)
        config.update(log_level="warning", board={"ntp_servers": ["time.example"]})
        self.limits = dict(board_limits(), **config.get("limits", {}))
        self._write("config.json", config)
        self._write("wifi.json", {"ssid": WIFI["ssid"], "password": WIFI["password"]})
        self.token = TokenStore(self.data).create("owner")
        self.settings = os.path.join(self.root, "standin.json")
        with open(self.settings, "w") as f:
            json.dump({"wifi": WIFI}, f)
        path = [self.root, ".frozen"] + {"files": [os.path.join(self.root, "lib")],
                                         "romfs": ["/rom", "/rom/lib"], "frozen": []}[install]
        self.env = dict(os.environ, UGATE_STANDIN=self.settings, UGATE_BOARD="1", MICROPYPATH=":".join(path))
        self.code = "import boot\nimport main"
        if install == "romfs":  # the partition, a file the twin maps; the firmware has it before boot.py
            self.env["MICROPY_ROMFS"] = self.root + ".rom"
            romfs.write_partition(os.path.join(tree, build.ROMFS_IMAGE), self.env["MICROPY_ROMFS"])
            self.code = "import romfs_partition\n" + self.code
        self.exe, self.heapsize, self.proc = twin(install), heapsize, None
        self.http_port = free_port()
        self.bundle = os.path.join(tree, update_bundle.FILE_NAME)

    def _write(self, name, obj):
        with open(os.path.join(self.data, name), "w") as f:
            json.dump(obj, f)

    def console(self):
        with open(os.path.join(self.root, "console.txt"), errors="replace") as f:
            return f.read()

    def url(self, path):
        return "http://127.0.0.1:{}{}".format(self.http_port, path)

    def boot(self, timeout=30):
        """Start the board (again after it reset); whether it serves."""
        if self.broker and not self.broker.proc:
            self.broker.start()
        self.proc = subprocess.Popen(
            [self.exe, "-X", "heapsize={}".format(self.heapsize), "-c", self.code,
             "--config-dir", "ugate-data", "--host", "127.0.0.1", "--port", str(self.http_port)],
            cwd=self.root, env=self.env, stdin=subprocess.PIPE,
            stdout=open(os.path.join(self.root, "console.txt"), "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def serve(self):
        """What went wrong serving the clients (an empty list: nothing)."""
        if not self.boot():
            return ["did not serve: " + self.console()[-300:]]
        clients = self.limits["max_connections"]
        headers = {"Authorization": "Bearer " + self.token}
        event = {"pad": "x" * (self.limits["max_body_bytes"] - EVENT_SLACK)}
        attributes = json.loads(heap_cost.ATTRIBUTES)
        failures = []

        def client(c):
            with httpx.Client(headers=headers, timeout=30) as http:
                for i in range(c, ROUNDS, clients):
                    try:
                        for r in (http.post(self.url("/api/states/sensor.live_{}".format(i)),
                                            json={"state": str(i), "attributes": attributes}),
                                  http.post(self.url("/api/events/ugate_live"), json=event),
                                  http.get(self.url("/api/states"))):
                            if r.status_code >= 300:
                                failures.append("{} {}".format(r.request.url.path, r.status_code))
                        self.port.write('{{"id": "live{}", "count": {}}}\n'.format(c, i).encode())
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        return

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            held = [s for s in httpx.get(self.url("/api/states"), headers=headers, timeout=30).json()
                    if s["entity_id"].startswith("sensor.live_")]
            if len(held) != ROUNDS:
                failures.append("holds {} of the {} states".format(len(held), ROUNDS))
        except (httpx.HTTPError, ValueError) as exc:
            failures.append("after the clients: " + repr(exc))
        if "MemoryError" in self.console():
            failures.append("MemoryError: " + self.console()[-300:])
        return failures

    def update(self):
        """Send the tree's update bundle as `ugate ota` does, booting the
        board again each time it resets; how it went ("kept", "rolled back"
        or what failed, and the first MemoryError the board printed)."""
        said, outcome = io.StringIO(), []

        def send():
            try:
                kept = ota.run("127.0.0.1:{}".format(self.http_port), None, self.token, timeout=180, out=said,
                               bundle=self.bundle) == 0
                outcome.append("kept" if kept else "rolled back")
            except (ota.OtaError, OSError) as exc:
                outcome.append("failed: {}".format(exc))

        sender = threading.Thread(target=send)
        sender.start()
        while sender.is_alive():
            if self.proc.poll() is not None:  # the board reset
                self.boot()
            time.sleep(0.1)
        memory = [line for line in self.console().splitlines() if "MemoryError" in line]
        return outcome[0] + ("; " + memory[0] if memory else "")

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
            self.proc.stdin.close()
        if self.broker:
            self.broker.stop()
        self.port.close()
        shutil.rmtree(self.root, ignore_errors=True)
        if "MICROPY_ROMFS" in self.env:
            os.remove(self.env["MICROPY_ROMFS"])


def board_limits():
    """The board platform's own limits (firmware/mp_platform.py), which a
    config's `limits` lower."""
    sys.path.insert(0, os.path.join(REPO, "firmware"))
    try:
        from mp_platform import MicroPythonPlatform
    finally:
        sys.path.pop(0)
    return MicroPythonPlatform.limits


def failures(tree, entry, install, free):
    """What failed in RUNS runs with `free` bytes of heap at start (the
    first run that failed; an empty list: all served)."""
    heapsize = heapsize_for(twin(install), free)
    for _ in range(RUNS):
        board = LiveBoard(tree, entry, install, heapsize)
        try:
            failed = board.serve()
        finally:
            board.close()
        if failed:
            return failed
    return []


def updated(tree, entry, install, free):
    """How an update went on a board with `free` bytes of heap at start,
    after it served the clients."""
    board = LiveBoard(tree, entry, install, heapsize_for(twin(install), free))
    try:
        failed = board.serve()
        return "did not serve: " + failed[0] if failed else board.update()
    finally:
        board.close()


def least(tree, entry, install, budget):
    """The least heap free at start (to LEAST_STEP) that served RUNS runs,
    halving between a heap that failed and one that served."""
    lo, hi = budget // 2, budget
    while failures(tree, entry, install, hi):
        lo, hi = hi, hi * 2
    while hi - lo > LEAST_STEP:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if failures(tree, entry, install, mid) else (lo, mid)
    return hi


def rows(boards, installs, find_least, record, update=False):
    """(board, its name, fits entry, install, failures at heap_budget, the
    least heap or None, how an update went or None) for every entry of the
    boards' `fits`, installed as each of `installs` says (None: as the entry
    says). With `record`, each entry's `live` in its board file is measured
    again."""
    out = []
    with tempfile.TemporaryDirectory() as workdir:
        for board in boards:
            spec = build.load_board(board)
            tree = build.build(board, os.path.join(workdir, board))
            for entry in spec.get("fits", []):
                for install in installs or [entry["install"]]:
                    found = None
                    if find_least or (record and install == entry["install"]):
                        found = least(tree, entry, install, spec["heap_budget"])
                    if record and install == entry["install"]:
                        entry["live"] = {"least": found,
                                         "static": heap_cost.static_heap(board, entry, tree, workdir)}
                    out.append((board, spec["name"], entry, install,
                                failures(tree, entry, install, spec["heap_budget"]), found,
                                updated(tree, entry, install, spec["heap_budget"]) if update else None))
                    print(table(out[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
            if record:
                write_board(board, spec)
    return out


def write_board(board, spec):
    """boards/<board>.json as it is laid out: a line for each key, and for
    each entry of a key that holds several (`uart`, `fits`)."""
    lines = []
    for key, value in spec.items():
        if isinstance(value, (list, dict)) and value and all(
                isinstance(v, dict) for v in (value.values() if isinstance(value, dict) else value)):
            items = (["{}: {}".format(json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in value.items()]
                     if isinstance(value, dict) else [json.dumps(v, ensure_ascii=False) for v in value])
            brackets = "{}" if isinstance(value, dict) else "[]"
            lines.append("  {}: {}\n    {}\n  {}".format(json.dumps(key), brackets[0], ",\n    ".join(items),
                                                       brackets[1]))
        else:
            lines.append("  {}: {}".format(json.dumps(key), json.dumps(value, ensure_ascii=False)))
    with open(os.path.join(build.BOARDS, board + ".json"), "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def table(rows):
    lines = ["| board | configuration | install | at heap_budget | update at heap_budget | least heap that served "
             "| heap_budget | left |",
             "|---|---|---|---|---|---:|---:|---:|"]
    for board, name, entry, install, failed, found, update in rows:
        budget = build.load_board(board)["heap_budget"]
        mark = " (promised)" if install == entry["install"] and heap_cost.promised(entry) else ""
        verdict = "served, {} runs of {}".format(RUNS, RUNS) if not failed else "failed: " + failed[0][:80]
        least_kb = "{:.1f} KB".format(found / 1024) if found else "–"
        left = "{:.1f} KB".format((budget - found) / 1024) if found else "–"
        lines.append("| {} (`{}`) | {} | {}{} | {} | {} | {} | {:.1f} KB | {} |".format(
            name, board, entry["what"], install, mark, verdict.replace("|", "/").replace("\n", " "),
            (update or "–")[:80].replace("|", "/").replace("\n", " "), least_kb, budget / 1024, left))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Serve each board's configurations live on a 32-bit twin "
                                "of the board (MicroPython's unix port built for i686).")
    sub = p.add_subparsers(dest="command")
    b = sub.add_parser("build", help="build the twins into build/twin32/ from a MicroPython checkout")
    b.add_argument("--source", required=True, help="MicroPython's source (a git checkout)")
    p.add_argument("--board", action="append", choices=build.boards(),
                   help="a board to run (again for more; default: every board file)")
    p.add_argument("--install", action="append", choices=sorted(TWINS),
                   help="a way to install (again for more; default: as each entry says)")
    p.add_argument("--least", action="store_true", help="also find the least heap each one serves with")
    p.add_argument("--update", action="store_true", help="also send each one an over-the-air update after it "
                   "served, at heap_budget")
    p.add_argument("--record", action="store_true", help="measure each entry's `live` again (installed as "
                   "it says) and write it into its board file, for tests/test_memory_budget.py")
    opts = p.parse_args(argv)
    if opts.command == "build":
        build_twins(os.path.abspath(opts.source))
        return 0
    missing = [twin(i) for i in TWINS if not os.path.exists(twin(i))]
    if missing:
        raise SystemExit("error: no twin {} (python tools/board_live.py build --source MICROPYTHON)".format(
            missing[0]))
    print(table(rows(opts.board or build.boards(), opts.install, opts.least, opts.record, opts.update)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
