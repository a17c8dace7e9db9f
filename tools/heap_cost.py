"""What each part of the gateway costs in MicroPython heap, measured on the
compiled board tree of tools/build.py, printed as a table.

    python tools/heap_cost.py [--board esp32] [--heapsize 2M] [--boards]

Each row runs in a fresh interpreter: a full collection, `gc.mem_alloc()`,
the import (or the setup), another full collection and `gc.mem_alloc()`
again; the row is the difference. A module's row is what importing it adds
on top of the base every config loads (the hub, the config, the HTTP server
and its layers, the platform), so a module the base imports already costs
nothing in its row. The last rows are the live heap after `create_app` for
whole configs: what a board holds before it serves its first request. The
probes run as a board with Wi-Fi (empty stand-ins for its built-in
`network`, `machine`, `ntptime`), so the board appliance is in them.

Three columns, three interpreters (`INTERPRETERS`): the 64-bit unix port
(`-X heapsize`), and a 32-bit MicroPython (the WebAssembly port from npm,
tools/mp32/, run under node) with the tree as a board gets it from `make
deploy`: the .mpy files in its filesystem (/lib), or the ROMFS image mapped
outside the heap (/rom). Bytecode and strings do not shrink with pointers,
so 32-bit is close to 64-bit from files; ROMFS leaves them in flash.

`--boards` prints, instead, each board's configurations (`fits` in
boards/<board>.json) against their live runs: the least heap
tools/board_live.py found each one served with on a 32-bit twin of the
board (`live.least`, written into the board file with this tool's static
figure for it then, `live.static`), grown by what the static figure (the
live heap after `create_app` holding `ENTITIES_HELD` entities, at 32-bit)
has grown since, against `heap_budget`. The suite holds every promised
entry to it; tools/board_live.py, which needs MicroPython's source, is run
when the code or the board files change the figures.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import build  # noqa: E402  (tools/build.py)

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
NODE_RUNNER = os.path.join(TOOLS, "mp32", "run.mjs")

#: (column, bits, install): the interpreters a row is measured on.
INTERPRETERS = [
    ("64-bit unix port, .mpy files", 64, "files"),
    ("32-bit, .mpy files", 32, "files"),
    ("32-bit, ROMFS", 32, "romfs"),
]

#: (row, module imported on top of the base)
MODULES = [
    ("ugate.app itself", "ugate.app"),
    ("REST API", "ugate.faces.homeassistant.rest"),
    ("services API", "ugate.faces.homeassistant.services"),
    ("SSE /api/stream", "ugate.faces.homeassistant.stream"),
    ("WebSocket API", "ugate.faces.homeassistant.websocket"),
    ("error log API", "ugate.faces.homeassistant.error_log"),
    ("static files", "ugate.faces.homeassistant.static"),
    ("notifications", "ugate.hub.notifications"),
    ("serial bridge + status API", "ugate.sources.bridge ugate.faces.homeassistant.status"),
    ("parser jsonl", "ugate.sources.sensors.jsonl"),
    ("parser mysensors", "ugate.sources.sensors.mysensors"),
    ("parser rflink", "ugate.sources.sensors.rflink"),
    ("parser rtl_433", "ugate.sources.sensors.rtl433"),
    ("restore_state", "ugate.hub.restore"),
    ("web page: its routes (page, history, owner API)", "ugate.faces.page"),
    ("web page: the history (empty) and the live log", "ugate.hub.history ugate.hub.system_log"),
    ("web page: its views, once used", "ugate.faces.page.files ugate.faces.page.history ugate.faces.page.owner"),
    ("sign-in routes", "ugate.faces.homeassistant.auth"),
    ("sign-in, kept once used (its state, users, refresh tokens)",
     "ugate.faces.homeassistant.login_flow ugate.hub.users ugate.hub.refresh_tokens"),
    ("sign-in, during a request (the views, PBKDF2, sessions)",
     "ugate.faces.homeassistant.auth_views ugate.base.pbkdf2 ugate.hub.sessions"),
    ("sign-in page, during its request", "ugate.faces.homeassistant.authorize_page"),
    ("Hono (device API and application API)", "ugate.sources.hono ugate.faces.hono"),
    ("forwarder into Home Assistant", "ugate.faces.forward.home_assistant"),
    ("forwarder into Hono (with the message channel)", "ugate.faces.forward.hono"),
    ("forwarder into MQTT (with umqtt.simple and mp_mqtt)", "ugate.faces.forward.mqtt mp_mqtt"),
    ("board appliance (status, update API, clock, watchdog)", "board_appliance board_clock"),
    ("over-the-air update, from its first request (its slots and checks)", "board_ota"),
    ("Wi-Fi join (unloaded once joined)", "board_net"),
    ("Wi-Fi setup page and Improv (no gateway: without Wi-Fi, safe mode)", "board_setup board_improv"),
    ("mobile_app (registrations, push, the WebSocket commands)",
     "ugate.faces.homeassistant.mobile_app ugate.faces.homeassistant.mobile_app.websocket_commands"),
    ("mobile_app webhook (sensors, location, secretbox)", "ugate.faces.homeassistant.mobile_app.webhook"),
    ("templates (loaded at the first render)", "ugate.faces.homeassistant.template"),
]

#: (row, config.json) for the create_app rows.
CONFIGS = [
    ("create_app: default config", {}),
    ("create_app: REST + one jsonl port, no WebSocket/SSE", {"serial": [{"port": "/dev/null", "protocol": "jsonl"}],
                                           "disabled_faces": ["websocket", "stream", "mobile_app"]}),
    ("create_app: default config + one MQTT forwarder",
     {"forward": [{"type": "mqtt", "name": "broker", "host": "127.0.0.1"}]}),
    ("create_app: everything (serial, restore, Hono)",
     {"serial": [{"port": "/dev/null", "protocol": "mysensors"}], "restore_state": True, "hono": {}}),
]

#: A measurement in steps (the 32-bit port frees garbage of earlier steps
#: only): the setup, the heap before, the code, the heap after.
BEFORE = "import gc\ngc.collect()\nbefore = gc.mem_alloc()"
AFTER = "gc.collect()\nprint(gc.mem_alloc() - before)"

#: What every config loads: the hub, the HTTP server and its layers, the
#: platform. (config.py is loaded and unloaded again by app.load_config.)
BASE = """from ugate import hub as _hub
from ugate.http import server, ban, cors, forwarded, headers
import mp_platform"""

#: What the zeroconf announcement loads once the gateway serves, where the
#: config announces (its face is loaded): mp_mdns and micropython-mdns. The
#: unix port lacks what the package needs, there as when it serves.
ANNOUNCE = """import sys
if "ugate.faces.homeassistant.zeroconf" in sys.modules:
    try:
        import mp_mdns, mdns_client, mdns_client.responder
    except ImportError:
        pass
"""
ANNOUNCE_ROW = "zeroconf announcement (micropython-mdns; not on the unix port)"

#: A config's gateway as it serves: create_app, then the announcement.
CREATE = """
from ugate import app
hub = _hub.Hub(app.load_config({config_dir!r}), {config_dir!r}, mp_platform.MicroPythonPlatform())
gw = app.create_app(hub)
""" + ANNOUNCE

#: An entity as the REST API stores it (attributes parsed from JSON).
ATTRIBUTES = json.dumps({"friendly_name": "Sensor with a longer friendly name", "unit_of_measurement": "°C",
                         "device_class": "temperature", "source": "x" * 100})
ENTITIES = """
import json
for i in range({n}):
    state, _ = states.set("sensor.many_{{}}".format(i), str(i), json.loads({attrs!r}))
    states.json(state)  # its JSON, kept as the first GET /api/states keeps it
"""
#: 100 entities in a state machine of their own; the row is the cost of one.
ENTITY_ROW = 100
ENTITY = """
from ugate.hub.states import StateMachine
from ugate.hub.bus import Bus
states = StateMachine(Bus())
states.max_json_chars = 0  # as on a board without PSRAM (MicroPythonPlatform.json_chars)
""" + ENTITIES.format(n=ENTITY_ROW, attrs=ATTRIBUTES)

#: What a board's configuration holds in the budget check: the issue's
#: target load (20 entities).
ENTITIES_HELD = 20
#: The modules a board has built in (in flash: no heap), empty stand-ins
#: where the interpreter lacks them: with them the platform sets up the
#: board appliance, as on a board.
HARDWARE = ("network", "machine", "ntptime", "socket", "usocket")
#: `uasyncio`, which a board's firmware freezes as MicroPython's own
#: `from asyncio import *` and micropython-mdns imports: written beside the
#: stand-ins, imported only by what imports it.
UASYNCIO = "from asyncio import *\n"
#: Built into the boards' firmware (or absent there, with ugate and Microdot
#: falling back), but Python modules of micropython-lib in the WebAssembly
#: port, 20 KB together: imported before a measurement, as they cost a
#: board no heap.
BUILT_IN_ON_BOARDS = ("binascii", "collections", "functools", "io", "os", "time")
#: Absent from the boards' firmware, but in the WebAssembly port: empty
#: stand-ins first on the path, so that importing a name from them fails
#: as on a board (Microdot then calls handlers as it does there).
ABSENT_ON_BOARDS = ("inspect",)
HARDWARE_STEP = """import sys
sys.path.insert(0, {absent!r})
sys.path.append({tree!r})
for name in {names!r}:
    try:
        __import__(name)
    except ImportError:
        sys.path.append({hardware!r})
        __import__(name)
for name in {built_in!r}:
    try:
        __import__(name)
    except ImportError:
        pass
"""


def hardware_dir(workdir):
    path = os.path.join(workdir, "hardware")
    os.makedirs(os.path.join(path, "absent"), exist_ok=True)
    for name in HARDWARE:
        open(os.path.join(path, name + ".py"), "w").close()
    for name in ABSENT_ON_BOARDS:
        open(os.path.join(path, "absent", name + ".py"), "w").close()
    with open(os.path.join(path, "uasyncio.py"), "w") as f:
        f.write(UASYNCIO)
    return path


#: The last line every probe prints. Node sometimes never exits after the
#: WebAssembly port ran everything (about one run in fifty here, with or
#: without V8's worker threads): a probe that printed this is complete.
PROBE_DONE = "-- probe done --"
PROBE_TIMEOUT_S = 120


class Interpreter:
    """A MicroPython that runs probes on a built tree: `bits` 64 (the unix
    port) or 32 (the WebAssembly port under node), the tree installed as
    .mpy `files` or as a `romfs` image; with `hardware` (hardware_dir) it
    is a board with Wi-Fi, and the flash root's modules are importable."""

    def __init__(self, tree, bits=64, install="files", heapsize="2M", hardware=None):
        self.tree, self.bits, self.install, self.heapsize = tree, bits, install, heapsize
        self.hardware = hardware

    def argv(self, steps, dirs):
        if self.hardware:
            steps = [HARDWARE_STEP.format(tree=self.tree, names=HARDWARE, hardware=self.hardware,
                                          absent=os.path.join(self.hardware, "absent"),
                                          built_in=BUILT_IN_ON_BOARDS)] + list(steps)
            dirs = list(dirs) + [self.hardware, self.tree]
        lib, image = os.path.join(self.tree, "lib"), os.path.join(self.tree, build.ROMFS_IMAGE)
        if self.bits == 32:
            argv = ["node", NODE_RUNNER] + (["--romfs", image] if self.install == "romfs" else ["--lib", lib])
            for d in dirs:
                argv += ["--copy", d]
            for step in steps:
                argv += ["-c", step]
            return argv, None
        env = dict(os.environ, MICROPYPATH=".frozen" if self.install == "romfs" else ".frozen:" + lib)
        if self.hardware:
            env["UGATE_BOARD"] = "1"  # the unix port as a board (mp_platform.IS_BOARD)
        options = ["-X", "heapsize=" + self.heapsize, "-c", "\n".join(steps)]
        if self.install == "romfs":
            return [sys.executable, "-m", "ugate_host.romfs", image] + options, env
        return [MICROPYTHON] + options, env

    def run(self, steps, dirs=()):
        """What the code `steps` print, as a list of lines (RuntimeError on a
        failure); `dirs` are the directories they read (copied for node)."""
        argv, env = self.argv(list(steps) + ["print({!r})".format(PROBE_DONE)], dirs)
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(PROBE_TIMEOUT_S):
            try:
                out, err = proc.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired as exc:
                if PROBE_DONE.encode() in (exc.stdout or b""):
                    proc.kill()
                    out, err = proc.communicate()
                    break
        else:
            proc.kill()
            out, err = proc.communicate()
            err += "no end in {} s".format(PROBE_TIMEOUT_S).encode()
        out, err = out.decode(), err.decode()
        if PROBE_DONE not in out:
            raise RuntimeError("{}\n{}".format("\n".join(steps), err or out))
        return out[:out.index(PROBE_DONE)].split("\n")

    def measure(self, code, setup="", dirs=()):
        """Bytes of live heap `code` adds, after `setup` ran, in a fresh interpreter."""
        return int(self.run([setup, BEFORE, code, AFTER], dirs)[-2])


def config_dir(workdir, config):
    path = tempfile.mkdtemp(dir=workdir)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(dict(config, log_level="warning"), f)
    return path


def rows(interpreter, workdir):
    """(row, bytes) for every part and config, on one interpreter."""
    measure = interpreter.measure
    out = [("base: hub, HTTP server and layers, platform", measure(BASE))]
    for name, modules in MODULES:
        out.append((name, measure("\n".join("import " + m for m in modules.split()), setup=BASE)))
    out.append((ANNOUNCE_ROW, measure(ANNOUNCE, setup=BASE + "\nimport ugate.faces.homeassistant.zeroconf")))
    out.append(("one entity (4 attributes, about 150 bytes of text)", measure(ENTITY, setup=BASE) // ENTITY_ROW))
    for name, config in CONFIGS:
        d = config_dir(workdir, config)
        out.append((name, measure(BASE + CREATE.format(config_dir=d), dirs=[d])))
    return out


def run(board, heapsize, interpreters=INTERPRETERS):
    """[(row, [bytes per interpreter])]"""
    with tempfile.TemporaryDirectory() as workdir:
        tree = build.build(board, os.path.join(workdir, "build"))
        hardware = hardware_dir(workdir)
        columns = [rows(Interpreter(tree, bits, install, heapsize, hardware), workdir)
                   for _, bits, install in interpreters]
    return [(name, [dict(c)[name] for c in columns]) for name, _ in columns[0]]


#: The install whose heap stands for a `fits` entry's here: frozen code
#: cannot be measured in this port (it freezes nothing of ugate); its ROMFS
#: figure grows at least as much with a change (ROMFS keeps a module's
#: interned names and code objects in the heap, a frozen firmware in flash).
STATIC_INSTALL = {"files": "files", "romfs": "romfs", "frozen": "romfs"}


def static_heap(board, entry, tree, workdir):
    """The live heap at 32-bit after `create_app` for a board file's `fits`
    entry, holding ENTITIES_HELD entities, installed as STATIC_INSTALL says."""
    d = config_dir(workdir, entry["config"])
    # The platform bounds the JSON kept by the heap it finds: the board's,
    # not this interpreter's.
    code = BASE + CREATE.format(config_dir=d) + (
        "states = hub.states\nstates.max_json_chars = mp_platform.MicroPythonPlatform.json_chars({})\n".format(
            build.load_board(board)["heap_budget"])) + ENTITIES.format(n=ENTITIES_HELD, attrs=ATTRIBUTES)
    interpreter = Interpreter(tree, 32, STATIC_INSTALL[entry["install"]], hardware=hardware_dir(workdir))
    return int(interpreter.run(["", BEFORE, code, AFTER], [d])[-2])


def fits(board, entry, tree, workdir):
    """A `fits` entry now, against its live run (`live` in the board file:
    `least`, the least heap tools/board_live.py found it served with, and
    `static`, this tool's figure for it then): a dict with static, least,
    need (the least heap grown by what the static heap has grown since),
    budget and left, in bytes."""
    static = static_heap(board, entry, tree, workdir)
    need = entry["live"]["least"] + static - entry["live"]["static"]
    budget = build.load_board(board)["heap_budget"]
    return {"static": static, "least": entry["live"]["least"], "need": need, "budget": budget,
            "left": budget - need}


def board_rows():
    """(board, its name, fits entry, measurement) for every entry of every
    board file's `fits`."""
    out = []
    with tempfile.TemporaryDirectory() as workdir:
        for board in build.boards():
            spec = build.load_board(board)
            tree = build.build(board, os.path.join(workdir, board))
            for entry in spec.get("fits", []):
                out.append((board, spec["name"], entry, fits(board, entry, tree, workdir)))
    return out


def table(rows, interpreters=INTERPRETERS):
    lines = ["| part | " + " | ".join(name for name, _, _ in interpreters) + " |",
             "|---|" + "---:|" * len(interpreters)]
    for name, sizes in rows:
        lines.append("| {} | {} |".format(name, " | ".join("{:.1f} KB".format(s / 1024) for s in sizes)))
    return "\n".join(lines)


def promised(entry):
    """Whether a `fits` entry promises to fit (an entry with "promised":
    false is a configuration that does not, measured and shown)."""
    return entry.get("promised", True)


def board_table(rows):
    lines = ["| board | configuration | install | least heap it served with (live) | static heap then, now "
             "| heap_budget | left |", "|---|---|---|---:|---:|---:|---:|"]
    for board, name, entry, m in rows:
        lines.append("| {} (`{}`) | {} | {}{} | {:.1f} KB | {:.1f} KB, {:.1f} KB | {:.1f} KB | {:.1f} KB |".format(
            name, board, entry["what"], entry["install"], " (promised)" if promised(entry) else "",
            m["least"] / 1024, entry["live"]["static"] / 1024, m["static"] / 1024, m["budget"] / 1024,
            m["left"] / 1024))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Measure the MicroPython heap each part of the gateway "
                                "costs after import, and after create_app, on the compiled tree.")
    p.add_argument("--board", default="esp32", help="the board whose build is measured (default esp32)")
    p.add_argument("--heapsize", default="2M", help="the 64-bit unix port's heap for the probes (default 2M)")
    p.add_argument("--boards", action="store_true", help="measure the configurations each board file "
                   "says fit (`fits`) at 32-bit against its heap_budget")
    opts = p.parse_args(argv)
    print(board_table(board_rows()) if opts.boards else table(run(opts.board, opts.heapsize)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
