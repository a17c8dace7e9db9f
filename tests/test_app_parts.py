"""A gateway sets up only the parts its config uses (so a board imports
nothing else), on both runtimes: Hono with a `hono` section or a registry,
the serial bridge with `serial` ports, and the WebSocket and SSE faces unless
`disabled_faces` leaves them out."""
from conftest import run_core


def test_default_config_leaves_hono_out(gateway):
    assert "hono" not in gateway.get("/api/components").json()
    r = gateway.request("POST", "/telemetry", token=False, content=b"{}",
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 404
    # No serial ports: no bridge, an empty port list.
    assert gateway.get("/api/ugate/ports").json() == []
    assert "websocket_api" in gateway.get("/api/components").json()


def test_hono_section_turns_hono_on(start_gateway):
    gw = start_gateway(config={"hono": {}})
    assert "hono" in gw.get("/api/components").json()
    r = gw.request("POST", "/telemetry", token=False, content=b"{}",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 401  # the adapter is there and wants credentials


def test_disabled_faces_are_not_served(start_gateway):
    gw = start_gateway(config={"disabled_faces": ["websocket", "stream"]})
    assert gw.get("/api/websocket").status_code == 404
    assert gw.get("/api/stream").status_code == 404
    assert "websocket_api" not in gw.get("/api/components").json()
    assert gw.post("/api/states/sensor.slim", json={"state": "1"}).status_code == 201
    assert gw.get("/api/states/sensor.slim").json()["state"] == "1"


UNUSED = ("ugate.sources.hono", "ugate.faces.hono", "ugate.hub.messages", "ugate.sources.bridge",
          "ugate.hub.restore", "ugate.faces.homeassistant.static", "ugate.faces.homeassistant.websocket",
          "ugate.faces.homeassistant.stream", "ugate.sources.sensors")

SETUP = """
import sys
from ugate import app, config, hub
class Platform:
    name = "test"
    limits = {{"max_body_bytes": 16384, "max_header_line": 2048, "max_connections": 4, "idle_timeout": 20,
              "max_entities": 64, "max_bans": 8}}
    class_limits = {{}}
    def parts(self, hub):
        return []
conf = config.validate({config})
app.create_app(hub.Hub(conf, {config_dir!r}, Platform()))
print(" ".join(sorted(m for m in {unused!r} if m in sys.modules)))
"""


def test_what_a_config_does_not_use_is_not_imported(runtime, tmp_path):
    slim = {"disabled_faces": ["websocket", "stream"]}
    loaded = run_core(runtime, SETUP.format(config=slim, config_dir=str(tmp_path), unused=UNUSED))
    assert loaded.split() == []
    full = {"serial": [{"port": "/dev/null", "protocol": "jsonl"}], "restore_state": True, "hono": {}}
    (tmp_path / "www").mkdir()
    loaded = run_core(runtime, SETUP.format(config=full, config_dir=str(tmp_path), unused=UNUSED))
    assert loaded.split() == sorted(UNUSED)
