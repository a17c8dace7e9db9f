"""Bridged serial and radio devices in the Hono face, on both runtimes: a
reading on a serial port reaches the tenant's northbound consumer as
telemetry, and a Hono command to a bridged device id reaches the port."""
import json

from hono_helpers import Consumer
from test_bridge import ptys, wait_port, wait_state  # noqa: F401 (ptys is a fixture)

COMMANDS = "/api/hono/DEFAULT_TENANT/commands/"


def test_bridged_readings_and_commands(start_gateway, ptys):  # noqa: F811
    pty = ptys()
    # The Hono face is on with a `hono` section (or a registry).
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "rflink"}], "hono": {}})
    wait_port(gw, pty.link, "connected")
    with Consumer(gw) as app:
        pty.write(b"20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;\r\n")
        msg = app.next()
        assert msg["type"] == "telemetry" and msg["tenant_id"] == "DEFAULT_TENANT"
        assert msg["device_id"] == "rflink/rflink_newkaku_00c142"
        assert msg["qos"] == 0 and msg["orig_adapter"] == "ugate-bridge"
        assert msg["content-type"] == "application/json" and json.loads(msg["payload"]) == {"switch_1": "on"}
        pty.write(b"20;12;Pir;ID=aa66;PIR=ON;\r\n")
        assert app.next()["device_id"] == "rflink/rflink_pir_aa66"
    wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "on")
    # The command name is the reading's key, the payload its value.
    r = gw.post(COMMANDS + "rflink/rflink_newkaku_00c142?name=switch_1", content=b"off",
                headers={"Content-Type": "text/plain"})
    assert r.status_code == 202
    assert pty.read_line() == "10;NewKaku;00c142;1;OFF;"
    # JSON payloads are values; the device id may come URL-encoded; a
    # request-response command is answered once the port took it.
    r = gw.post(COMMANDS + "rflink%2Frflink_newkaku_00c142?name=switch_1&timeout=5", content=b"true",
                headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.headers["hono-cmd-status"] == "200"
    assert pty.read_line() == "10;NewKaku;00c142;1;ON;"
    # What the device cannot take: 400 and nothing on the port.
    for path, body in (("rflink/rflink_newkaku_00c142?name=switch_9", b"on"),
                       ("rflink/rflink_newkaku_00c142?name=switch_1", b"sideways"),
                       ("rflink/rflink_pir_aa66?name=motion", b"off")):
        r = gw.post(COMMANDS + path, content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 400, path
        assert "error" in r.json()
    # A device the bridge does not know is not waiting.
    assert gw.post(COMMANDS + "rflink/nothing?name=x", content=b"on").status_code == 503
    pty.write(b"20;3B;NewKaku;ID=00c142;SWITCH=1;CMD=OFF;\r\n")
    wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "off")
    assert pty.received == b""
