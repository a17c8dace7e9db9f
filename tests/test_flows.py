"""Every flow goes through the hub, on both runtimes: a reading from each
source (a serial line, `POST /api/states`, a Hono device's telemetry)
reaches a Home Assistant WebSocket subscriber, and where Hono's contract
says so (devices' telemetry, bridged sensors' readings; not HTTP sensors) a
Hono consumer. And the durable event store holds up on a board's heap."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import wait_for
from hono_helpers import JSON, SENSOR, Consumer, demo_gateway, device, later
from test_bridge import ptys, wait_port  # noqa: F401 (ptys is a fixture)
from ws_client import command, connect


class Subscriber:
    """A WebSocket client of `subscribe_entities`, collecting the entity
    ids it hears of."""

    def __init__(self, gw):
        self.ws = connect(gw)
        assert command(self.ws, {"id": 1, "type": "subscribe_entities"})["success"]
        self.seen = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while True:
                event = json.loads(self.ws.recv())["event"]
                with self.lock:
                    for entity_id, state in event.get("a", {}).items():
                        self.seen[entity_id] = state["s"]
                    for entity_id, diff in event.get("c", {}).items():
                        self.seen[entity_id] = diff["+"].get("s", self.seen.get(entity_id))
        except Exception:
            pass

    def wait(self, entity_id, state):
        wait_for(lambda: self.seen.get(entity_id) == state, what="{} = {} over the WebSocket".format(
            entity_id, state))


def test_each_source_reaches_the_faces_through_the_hub(start_gateway, tmp_path, ptys):  # noqa: F811
    pty = ptys()
    gw = demo_gateway(start_gateway, tmp_path, serial=[{"port": pty.link, "protocol": "jsonl"}])
    wait_port(gw, pty.link, "connected")
    ha = Subscriber(gw)
    with Consumer(gw) as hono:
        # A serial line: an entity state, and telemetry of the bridged device.
        pty.write(b'{"id": "porch", "temperature": 7.5}\n')
        ha.wait("sensor.jsonl_porch_temperature", "7.5")
        msg = hono.next()
        assert (msg["device_id"], json.loads(msg["payload"])) == ("jsonl/jsonl_porch", {"temperature": 7.5})
        # An HTTP sensor: an entity state; not a Hono device, so no telemetry.
        assert gw.post("/api/states/sensor.kitchen", json={"state": "21"}).status_code == 201
        ha.wait("sensor.kitchen", "21")
        hono.none_within(0.5)
        # A Hono device's telemetry, once its consumer has it: a message and a state.
        assert device(gw, "POST", "/telemetry", content=b'{"temp": 5}').status_code == 202
        assert hono.next()["device_id"] == "4711"
        ha.wait("sensor.hono_default_tenant_4711_temp", "5")
    ha.ws.close()


#: Events of 2 KB, as many as a board's store may hold when told to.
EVENTS = 100
PAYLOAD = 2048


def test_a_full_event_store_survives_kill_9_on_a_small_heap(start_gateway, tmp_path, board_tree):
    """100 stored events of 2 KB are replayed one at a time to a consumer
    that connects after the gateway was killed (kill -9) and restarted:
    under MicroPython as a board runs it (the compiled tree, a 512 KiB
    heap), and on CPython."""
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 1, "max_stored_events": EVENTS})
    if gw.runtime == "micropython":
        gw.run_args = ["--mpy", board_tree, "--heapsize", "512K"]
        gw.restart()

    def event(i):
        body = "{:04d}".format(i).encode() * (PAYLOAD // 4)
        return device(gw, "POST", "/event", headers={"Content-Type": "text/plain"}, content=body)

    with Consumer(gw) as app:
        # Nobody settles: each device hears 503 and its event stays stored.
        with ThreadPoolExecutor(4) as devices:
            sent = list(devices.map(event, range(EVENTS)))
        assert {r.status_code for r in sent} == {503}
        assert app.messages.qsize() == EVENTS
        r = event(EVENTS)
        assert r.json() == {"error": "event store full"}
    gw.kill()
    gw.start()
    with Consumer(gw) as app:
        replayed = [app.next() for _ in range(EVENTS)]
        bodies = sorted(m["payload"] for m in replayed)
        assert bodies == ["{:04d}".format(i) * (PAYLOAD // 4) for i in range(EVENTS)]
        for msg in replayed:
            assert app.settle(msg, "accepted").status_code == 204
    gw.restart()
    with Consumer(gw) as app:
        app.none_within(1)
    # What was settled stays settled, and the store takes events again.
    with Consumer(gw) as app:
        pending = later(device, gw, "POST", "/event", auth=SENSOR, headers=JSON, content=b'{"n": 1}')
        app.settle(app.next(), "accepted")
        assert pending.result().status_code == 202
    assert "MemoryError" not in gw.logs()
