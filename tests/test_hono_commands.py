"""Hono command and control over HTTP on both runtimes: a device waiting
with hono-ttd gets one-way and request-response commands from an
application, answers them, and the command response statuses."""
import time

from conftest import run_core
from hono_helpers import EMPTY, GATEWAY, JSON, Consumer, demo_gateway, device, hono, later

COMMANDS = "/api/hono/DEFAULT_TENANT/commands/"


def command(gw, dev, name, payload=b'{"level": 7}', timeout=None, content_type="application/json"):
    path = COMMANDS + dev + "?name=" + name + ("&timeout={}".format(timeout) if timeout else "")
    return gw.post(path, content=payload, headers={"Content-Type": content_type} if content_type else {})


def wait_ttd(app, dev="4711", accept=False):
    msg = app.next()
    assert msg["device_id"] == dev and msg["ttd"] > 0
    if accept:
        app.settle(msg, "accepted")
    return msg


def test_one_way_command_reaches_a_waiting_device(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw) as app:
        # The device is not waiting: the application hears so.
        r = command(gw, "4711", "setVolume")
        assert r.status_code == 503 and r.json() == {"error": "device is not waiting for a command"}
        # The usual way: an empty event with hono-ttd.
        waiting = later(device, gw, "POST", "/event", headers=dict(EMPTY, **{"hono-ttd": "15"}), content=b"")
        msg = wait_ttd(app, accept=True)
        assert msg["ttd"] == 15 and msg["type"] == "event"
        assert command(gw, "4711", "setVolume").status_code == 202
        r = waiting.result()
        assert r.status_code == 200
        assert r.headers["hono-command"] == "setVolume"
        assert r.headers["Content-Type"] == "application/json"
        assert "hono-cmd-req-id" not in r.headers and "hono-cmd-target-device" not in r.headers
        assert r.content == b'{"level": 7}'
        # ttd passes without a command: 202, empty.
        start = time.time()
        r = device(gw, "POST", "/telemetry", headers=dict(JSON, **{"hono-ttd": "1"}))
        assert r.status_code == 202 and r.content == b"" and time.time() - start >= 0.9
        wait_ttd(app)
        # The tenant's max-ttd caps the wait (a registry change applies at once).
        assert hono(gw.config_dir, "tenant", "DEFAULT_TENANT", "--max-ttd", "12").returncode == 0
        late = later(device, gw, "POST", "/telemetry?hono-ttd=999")
        assert wait_ttd(app)["ttd"] == 12
        assert command(gw, "4711", "x", payload=b"", content_type=None).status_code == 202
        r = late.result()
        assert r.status_code == 200 and r.headers["hono-command"] == "x" and r.content == b""
        # Bad command requests.
        assert gw.post(COMMANDS + "4711", content=b"x").status_code == 400  # no name
        assert command(gw, "4711", "x", timeout=100000).status_code == 400
        assert command(gw, "4711", "x", timeout="1_0").status_code == 400  # not an integer
        # hono-ttd is a decimal integer as Hono reads it: no wait for "1_0".
        r = device(gw, "POST", "/telemetry", headers=dict(JSON, **{"hono-ttd": "1_0"}))
        assert r.status_code == 202 and "ttd" not in app.next()
        assert gw.post(COMMANDS + "4711?name=x", token=False).status_code == 401
        assert gw.post("/api/hono/NOPE/commands/4711?name=x").status_code == 404


def test_the_last_waiting_request_gets_the_command(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw) as app:
        first = later(device, gw, "POST", "/telemetry?hono-ttd=30")
        wait_ttd(app)
        second = later(device, gw, "POST", "/telemetry?hono-ttd=30")
        wait_ttd(app)
        r = first.result(timeout=10)  # released at once, long before its ttd
        assert r.status_code == 202
        assert command(gw, "4711", "reboot").status_code == 202
        r = second.result()
        assert r.status_code == 200 and r.headers["hono-command"] == "reboot"


def test_request_response_command(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw) as app:
        waiting = later(device, gw, "POST", "/telemetry", headers=dict(JSON, **{"hono-ttd": "20"}))
        wait_ttd(app)
        answer = later(command, gw, "4711", "getState", b"{}", 20)
        r = waiting.result()
        assert r.status_code == 200 and r.headers["hono-command"] == "getState"
        req_id = r.headers["hono-cmd-req-id"]
        # Bad responses: no or a bad status, a malformed or unknown id.
        for path in ("/command/res/" + req_id, "/command/res/{}?hono-cmd-status=300".format(req_id),
                     "/command/res/{}?hono-cmd-status=abc".format(req_id),
                     "/command/res/xyz?hono-cmd-status=200", "/command/res/0123456789abcdef?hono-cmd-status=200"):
            assert device(gw, "POST", path).status_code == 400, path
        assert device(gw, "POST", "/command/res/{}?hono-cmd-status=200".format(req_id),
                      auth=("sensor1@DEFAULT_TENANT", "bad")).status_code == 401
        # Another device cannot answer it.
        assert device(gw, "PUT", "/command/res//gw-1/{}?hono-cmd-status=200".format(req_id),
                      auth=GATEWAY).status_code == 400
        r = device(gw, "POST", "/command/res/{}?hono-cmd-status=200".format(req_id),
                   headers={"Content-Type": "application/json"}, content=b'{"state": "ok"}')
        assert r.status_code == 202 and r.content == b""
        r = answer.result()
        assert r.status_code == 200
        assert r.headers["hono-cmd-status"] == "200" and r.headers["hono-cmd-req-id"] == req_id
        assert r.headers["Content-Type"] == "application/json" and r.json() == {"state": "ok"}
        # Answered once: the id is gone.
        assert device(gw, "POST", "/command/res/{}?hono-cmd-status=200".format(req_id)).status_code == 400
        # A device that never answers: the application gets 504.
        waiting = later(device, gw, "POST", "/telemetry?hono-ttd=20")
        wait_ttd(app)
        answer = later(command, gw, "4711", "getState", b"{}", 1)
        assert waiting.result().status_code == 200
        r = answer.result()
        assert r.status_code == 504


def test_gateway_gets_commands_for_its_devices(start_gateway, tmp_path):
    # A device waits at most 80% of the idle timeout.
    gw = demo_gateway(start_gateway, tmp_path, limits={"idle_timeout": 25})
    with Consumer(gw) as app:
        waiting = later(device, gw, "PUT", "/event//4712", auth=GATEWAY,
                        headers=dict(EMPTY, **{"hono-ttd": "50"}), content=b"")
        assert wait_ttd(app, "4712", accept=True)["ttd"] == 20
        answer = later(command, gw, "4712", "open", b"now", 20, "text/plain")
        r = waiting.result()
        assert r.status_code == 200 and r.headers["hono-cmd-target-device"] == "4712"
        assert r.headers["Content-Type"] == "text/plain" and r.content == b"now"
        req_id = r.headers["hono-cmd-req-id"]
        r = device(gw, "PUT", "/command/res/DEFAULT_TENANT/4712/{}?hono-cmd-status=503".format(req_id),
                   auth=GATEWAY, headers={}, content=b"")
        assert r.status_code == 202
        r = answer.result()
        assert r.status_code == 200 and r.headers["hono-cmd-status"] == "503" and r.content == b""
        # A gateway may not answer for a device it does not serve.
        assert device(gw, "PUT", "/command/res//4711/{}?hono-cmd-status=200".format(req_id),
                      auth=GATEWAY).status_code == 403


COMMANDS_FULL = """
import asyncio
from ugate.hub.commands import Command, Commands
from ugate.sources.hono.commands import WaitingDevices

class Registry:
    def device(self, tenant, device):
        return {}

commands = Commands()
waiting = WaitingDevices(Registry())
waiting.max_pending = 0  # every request-response command is one too many
commands.targets.append(waiting)

async def main():
    waiter = waiting.wait("T", "d")
    try:
        await commands.send("T", "d", Command("ask", None, b""), 5)
    except ValueError as exc:
        print(exc)
    await commands.send("T", "d", Command("go", None, b""))
    print(waiter.command.name)

asyncio.run(main())
"""


def test_a_refused_command_leaves_the_device_waiting(runtime):
    """A request-response command refused because too many wait already
    (400) does not take the device's waiting request with it: the next
    command still reaches the device."""
    assert run_core(runtime, COMMANDS_FULL) == "too many commands wait for a response\ngo\n"
