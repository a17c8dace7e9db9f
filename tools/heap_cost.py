"""What each part of the gateway costs in MicroPython heap, measured on the
compiled board tree of tools/build.py, printed as a table.

    python tools/heap_cost.py [--board esp32] [--heapsize 2M]

Each row runs in a fresh interpreter (the unix port, `-X heapsize`): a full
collection, `gc.mem_alloc()`, the import (or the setup), another full
collection and `gc.mem_alloc()` again; the row is the difference. A module's
row is what importing it adds on top of the base every config loads (the
hub, the config, the HTTP server and its layers, the platform),
so a module the base imports already costs nothing in its row. The last
rows are the live heap after `create_app` for whole configs: what a board
holds before it serves its first request.
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
    ("mobile_app (registrations, push, the WebSocket commands)",
     "ugate.faces.homeassistant.mobile_app ugate.faces.homeassistant.mobile_app.websocket_commands"),
    ("mobile_app webhook (sensors, location, secretbox)", "ugate.faces.homeassistant.mobile_app.webhook"),
    ("templates (loaded at the first render)", "ugate.faces.homeassistant.template"),
]

#: (row, config.json) for the create_app rows.
CONFIGS = [
    ("create_app: default config", {}),
    ("create_app: REST + one jsonl port, no WebSocket/SSE", {"serial": [{"port": "/dev/null", "protocol": "jsonl"}],
                                           "disabled_faces": ["websocket", "stream"]}),
    ("create_app: default config + one MQTT forwarder",
     {"forward": [{"type": "mqtt", "name": "broker", "host": "127.0.0.1"}]}),
    ("create_app: everything (serial, restore, Hono)",
     {"serial": [{"port": "/dev/null", "protocol": "mysensors"}], "restore_state": True, "hono": {}}),
]

PROBE = """
import gc
gc.collect()
before = gc.mem_alloc()
{code}
gc.collect()
print(gc.mem_alloc() - before)
"""

#: What every config loads: the hub, the HTTP server and its layers, the
#: platform. (config.py is loaded and unloaded again by app.load_config.)
BASE = """from ugate import hub as _hub
from ugate.http import server, ban, cors, forwarded, headers
import mp_platform"""

CREATE = """
hub = _hub.Hub(app.load_config({config_dir!r}), {config_dir!r}, mp_platform.MicroPythonPlatform())
gw = app.create_app(hub)
"""


#: 100 entities as the REST API stores them (attributes parsed from JSON);
#: the row is the cost of one.
ENTITIES = 100
ENTITY = """
import json
from ugate.hub.states import StateMachine
from ugate.hub.bus import Bus
states = StateMachine(Bus())
for i in range({n}):
    states.set("sensor.many_{{}}".format(i), str(i), json.loads({attrs!r}))
""".format(n=ENTITIES, attrs=json.dumps({
    "friendly_name": "Sensor with a longer friendly name", "unit_of_measurement": "°C",
    "device_class": "temperature", "source": "x" * 100}))


def measure(tree, code, heapsize, setup=""):
    """Bytes of live heap `code` adds, after `setup` ran, in a fresh interpreter."""
    env = dict(os.environ, MICROPYPATH=":".join([".frozen", os.path.join(tree, "lib")]))
    script = setup + "\n" + PROBE.format(code=code)
    r = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heapsize, "-c", script], env=env,
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("{}\n{}".format(code, r.stderr or r.stdout))
    return int(r.stdout.split()[-1])


def run(board, heapsize):
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        tree = build.build(board, os.path.join(workdir, "build"))
        rows.append(("base: hub, HTTP server and layers, platform", measure(tree, BASE, heapsize)))
        for name, modules in MODULES:
            code = "\n".join("import " + m for m in modules.split())
            rows.append((name, measure(tree, code, heapsize, setup=BASE)))
        rows.append(("one entity (4 attributes, about 150 bytes of text)",
                     measure(tree, ENTITY, heapsize, setup=BASE) // ENTITIES))
        for i, (name, config) in enumerate(CONFIGS):
            config_dir = os.path.join(workdir, "config{}".format(i))
            os.makedirs(config_dir)
            with open(os.path.join(config_dir, "config.json"), "w") as f:
                json.dump(dict(config, log_level="warning"), f)
            rows.append((name, measure(tree, BASE + "\nfrom ugate import app" + CREATE.format(config_dir=config_dir), heapsize)))
    return rows


def table(rows):
    lines = ["| part | heap (64-bit unix port) |", "|---|---:|"]
    for name, size in rows:
        lines.append("| {} | {:.1f} KB |".format(name, size / 1024))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Measure the MicroPython heap each part of the gateway "
                                "costs after import, and after create_app, on the compiled tree.")
    p.add_argument("--board", default="esp32", help="the board whose build is measured (default esp32)")
    p.add_argument("--heapsize", default="2M", help="MicroPython's heap for the probes (default 2M)")
    opts = p.parse_args(argv)
    print(table(run(opts.board, opts.heapsize)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
