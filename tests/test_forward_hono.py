"""Forwarding into Eclipse Hono on both runtimes, with a second gateway's Hono
API as the upstream and an application consuming there: the gateway is a Hono
gateway for its devices (a bridged RFLink remote, a local Hono device):
telemetry, QoS 1 events settled end to end, 503 from the upstream retried,
and a command sent upstream reaching the pty device, its response returning."""
import json

from conftest import free_port, wait_for
from hono_helpers import TENANT, Consumer, demo_gateway, device, hono, later
from test_bridge import ptys, wait_port  # noqa: F401 (ptys is a fixture)

SWITCH = b"20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;\r\n"


def status(gw):
    [forwarder] = gw.get("/api/ugate/forwarders").json()
    return forwarder


def test_the_gateway_as_a_hono_gateway(start_gateway, tmp_path, ptys):  # noqa: F811
    upstream = demo_gateway(start_gateway, tmp_path)  # gw-1 (gw1/gw-secret) serves 4712
    assert hono(upstream.config_dir, "device", TENANT, "4713", "--via", "gw-1").returncode == 0
    pty = ptys()
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    assert hono(local_dir, "demo").returncode == 0
    forward = {"type": "hono", "name": "hono-up", "url": upstream.base, "tenant": TENANT,
               "auth_id": "gw1", "password": "gw-secret", "ttd": 5,
               "devices": {"rflink/rflink_newkaku_00c142": "4712", "4711": "4713"}}
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "rflink"}],
                               "hono": {"settle_timeout": 2}, "forward": [forward]},
                       config_dir=local_dir)
    wait_port(gw, pty.link, "connected")
    wait_for(lambda: status(gw)["connected"], what="the forwarder to reach the upstream")
    with Consumer(upstream) as app:
        # A bridged reading: telemetry of the upstream device behind the gateway.
        pty.write(SWITCH)
        msg = app.next()
        while msg["device_id"] != "4712" or msg["content-type"] != "application/json":
            msg = app.next()  # command polls arrive as empty notifications
        assert json.loads(msg["payload"]) == {"switch_1": "on"}
        # A local device's QoS 1 event: settled upstream, answered here.
        pending = later(device, gw, "POST", "/event", content=b'{"alarm": true}')
        event = next_for(app, "4713")
        assert event["type"] == "event" and json.loads(event["payload"]) == {"alarm": True}
        assert app.settle(event, "accepted").status_code == 204
        assert pending.result().status_code == 202
    # No consumer upstream: 503 there; the local device hears 503, the event
    # stays stored and is delivered once a consumer is back.
    r = device(gw, "POST", "/event", content=b'{"door": "open"}')
    assert r.status_code == 503
    with Consumer(upstream) as app:
        event = next_for(app, "4713")
        assert json.loads(event["payload"]) == {"door": "open"}
        app.settle(event, "accepted")
        # A request-response command sent upstream reaches the pty device; its
        # outcome comes back.
        def command():
            r = upstream.post("/api/hono/{}/commands/4712?name=switch_1&timeout=10".format(TENANT),
                              content=b"off", headers={"Content-Type": "text/plain"})
            return r if r.status_code != 503 else None  # until the gateway waits for commands
        r = wait_for(command, what="the gateway to take commands for 4712")
        assert r.status_code == 200 and r.headers["hono-cmd-status"] == "200"
        assert pty.read_line() == "10;NewKaku;00c142;1;OFF;"
    s = status(gw)
    assert s["type"] == "hono" and s["sent"] >= 3 and s["last_success"]
    assert "gw-secret" not in gw.logs()


def next_for(app, device_id):
    msg = app.next()
    while msg["device_id"] != device_id or msg["content-type"].startswith("application/vnd.eclipse-hono"):
        msg = app.next()
    return msg


def test_wrong_credentials_stop_the_forwarder(start_gateway, tmp_path):
    upstream = demo_gateway(start_gateway, tmp_path)
    forward = {"type": "hono", "name": "hono-up", "url": upstream.base, "auth_id": "gw1",
               "password": "wrong"}
    gw = start_gateway(config={"forward": [forward]}, config_dir=tmp_path / "local")
    s = wait_for(lambda: status(gw)["last_error"] and status(gw), what="the refusal")
    assert "401" in s["last_error"] and not s["connected"]
    assert gw.get("/api/states/persistent_notification.forward_hono_up").status_code == 200


def test_an_unreachable_upstream_is_no_consumer(start_gateway, tmp_path):
    """Only a forwarder that reaches its upstream counts as a consumer of
    the tenant: until then a local device hears Hono's 503."""
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    assert hono(local_dir, "demo").returncode == 0
    forward = {"type": "hono", "name": "hono-up", "url": "http://127.0.0.1:{}".format(free_port()),
               "auth_id": "gw1", "password": "gw-secret", "devices": {"4711": "4713"}}
    gw = start_gateway(config={"hono": {}, "forward": [forward]}, config_dir=local_dir)
    s = wait_for(lambda: status(gw)["last_error"] and status(gw), what="a failed attempt")
    assert not s["connected"]
    r = device(gw, "POST", "/event", content=b'{"n": 1}')
    assert r.status_code == 503 and r.json() == {"error": "no consumer available"}
