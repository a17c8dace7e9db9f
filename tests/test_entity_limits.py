"""The entity table under pressure: new devices past what the heap holds
(MicroPython, 512 KB) are refused with a notification while the gateway
serves, the port reads and known entities update; notifications have their
own bound and are never refused for want of entity slots; one Hono device
with many keys gets its share of the table, not all of it."""
import json
import time

from conftest import Gateway
from hono_helpers import JSON, Consumer, demo_gateway, device
from test_bridge import Pty, port_status, wait_port, wait_state

NOTICE = "/api/states/persistent_notification.entity_limit"


class HeapGateway(Gateway):
    run_args = ["--heapsize", "512K"]


def test_300_new_devices_under_a_512k_heap(tmp_path):
    """Neighbours' radio sensors: far more than a board's heap holds. The
    entity limit is raised so that the heap is what stops them."""
    pty = Pty(tmp_path / "ttyUSB0")
    config = {"serial": [{"port": pty.link, "protocol": "jsonl"}], "log_level": "warning",
              "limits": {"max_entities": 5000}}
    gw = HeapGateway("micropython", tmp_path / "config", config).start()
    try:
        wait_port(gw, pty.link, "connected")
        for i in range(300):
            pty.write(json.dumps({"id": "dev{}".format(i), "temperature": i % 40,
                                  "humidity": 40 + i % 20}).encode() + b"\n")
            if i % 50 == 49:
                time.sleep(0.2)
                r = gw.get("/api/states")  # served throughout, whole
                assert r.status_code == 200 and len(r.json()) >= 2
        wait_for_lines(gw, pty, 300)
        status = port_status(gw, pty.link)
        assert status["state"] == "connected" and status["lines_rejected"] > 0
        held = [s["entity_id"] for s in gw.get("/api/states").json()]
        assert 100 < len(held) < 600
        notice = gw.get(NOTICE).json()["attributes"]
        assert notice["title"] == "New entities refused"
        assert "Too many entities for the gateway's memory" in notice["message"]
        # Known entities keep updating.
        pty.write(b'{"id": "dev0", "temperature": 99}\n')
        wait_state(gw, "sensor.jsonl_dev0_temperature", "99")
        # Room made is used again.
        removed = [e for e in held if e.startswith("sensor.jsonl_dev")][:40]
        for entity_id in removed:
            assert gw.delete("/api/states/" + entity_id).status_code == 200
        time.sleep(1.1)  # StateMachine.heap_recheck_ms
        pty.write(b'{"id": "newcomer", "temperature": 1}\n')
        wait_state(gw, "sensor.jsonl_newcomer_temperature", "1")
        assert "MemoryError" not in gw.logs() and "memory allocation failed" not in gw.logs()
    finally:
        gw.stop()
        pty.close()


def wait_for_lines(gw, pty, count, timeout=30):
    deadline = time.time() + timeout
    while port_status(gw, pty.link)["lines_read"] < count:
        assert time.time() < deadline, port_status(gw, pty.link)
        time.sleep(0.1)


def test_refused_entities_raise_a_notification_and_notifications_have_their_own_bound(start_gateway):
    gw = start_gateway({"limits": {"max_entities": 3}})
    for i in range(3):
        assert gw.post("/api/states/sensor.e{}".format(i), json={"state": "1"}).status_code == 201
    assert gw.post("/api/states/sensor.e3", json={"state": "1"}).status_code == 400
    notice = gw.get(NOTICE).json()["attributes"]
    assert notice["message"].startswith("sensor.e3 and other new entities were not created: "
                                        "Too many entities (limits.max_entities is 3).")
    # The table is full: notifications still come, up to their own bound,
    # past which the oldest goes.
    bound = {"cpython": 64, "micropython": 16}[gw.runtime]  # StateMachine.max_notifications
    for i in range(bound + 5):
        r = gw.post("/api/services/persistent_notification/create",
                    json={"notification_id": "n{}".format(i), "message": "m"})
        assert r.status_code == 200
    ids = [s["entity_id"] for s in gw.get("/api/states").json()]
    notifications = [e for e in ids if e.startswith("persistent_notification.")]
    assert len(notifications) == bound
    assert "persistent_notification.n{}".format(bound + 4) in notifications
    assert "persistent_notification.n0" not in notifications
    assert [e for e in ids if e.startswith("sensor.")] == ["sensor.e0", "sensor.e1", "sensor.e2"]


def test_one_hono_device_with_many_keys_gets_its_share(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw):
        for batch in range(3):
            payload = {"k{}_{}".format(batch, i): i for i in range(20)}
            r = device(gw, "POST", "/telemetry", headers=JSON, content=json.dumps(payload).encode())
            assert r.status_code == 202
        r = device(gw, "PUT", "/telemetry//4712", auth=("gw1@DEFAULT_TENANT", "gw-secret"),
                   headers=JSON, content=b'{"temp": 5}')
        assert r.status_code == 202
    states = gw.get("/api/states").json()
    of_4711 = [s for s in states if s["attributes"].get("device_id") == "4711"]
    assert len(of_4711) == 16  # Adapter.max_entities_per_device
    assert gw.get("/api/states/sensor.hono_default_tenant_4712_temp").json()["state"] == "5"
    notice = gw.get(NOTICE).json()["attributes"]["message"]
    assert "Device 4711 of tenant DEFAULT_TENANT has 16 entities" in notice
    assert gw.post("/api/services/persistent_notification/create",
                   json={"message": "still works"}).status_code == 200


def test_states_are_listed_in_entity_id_order(start_gateway):
    """GET /api/states merges the tables the states are spread over."""
    gw = start_gateway()
    names = ["sensor.s{:03d}".format((i * 37) % 60) for i in range(60)]  # every one, scrambled
    for name in names:
        assert gw.post("/api/states/" + name, json={"state": "1"}).status_code == 201
    assert [s["entity_id"] for s in gw.get("/api/states").json()] == sorted(names)
