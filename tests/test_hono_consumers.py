"""Northbound consumers of Hono telemetry and events on both runtimes: QoS 0
and 1 with a consumer that accepts, rejects, releases or never settles;
events kept across a restart until a consumer takes them; the settle API;
JSON telemetry as entity states."""
from hono_helpers import JSON, TENANT, Consumer, demo_gateway, device, later

QOS1 = dict(JSON, **{"QoS-Level": "1"})


def test_qos1_telemetry_waits_for_the_consumer(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 2})
    with Consumer(gw) as app:
        for outcome, status in (("accepted", 202), ("rejected", 400), ("released", 503)):
            pending = later(device, gw, "POST", "/telemetry", headers=QOS1)
            msg = app.next()
            assert msg["qos"] == 1
            assert not pending.done()  # the device waits for the consumer
            assert app.settle(msg, outcome).status_code == 204
            r = pending.result()
            assert r.status_code == status, (outcome, r.text)
            if status == 503:
                assert r.headers["Retry-After"] == "2"
                assert r.json() == {"error": "message released by the consumer"}
        # A consumer that never settles: 503 after settle_timeout.
        r = device(gw, "POST", "/telemetry", headers=QOS1)
        assert r.status_code == 503
        assert r.json() == {"error": "the consumer did not settle the message in time"}
        late = app.next()
        assert app.settle(late, "accepted").status_code == 404  # nothing waits any more
        # QoS 0 is answered without settling.
        assert device(gw, "POST", "/telemetry").status_code == 202
        assert app.next()["qos"] == 0


def test_settle_api(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    path = "/api/hono/DEFAULT_TENANT/messages/01ABC"
    assert gw.post(path, json={"outcome": "accepted"}, token=False).status_code == 401
    assert gw.post(path, json={"outcome": "maybe"}).status_code == 400
    assert gw.post(path, content=b"not json").status_code == 400
    assert gw.post(path, json={"outcome": "accepted"}).status_code == 404
    assert gw.get("/api/hono/DEFAULT_TENANT/messages", token=False).status_code == 401
    r = gw.get("/api/hono/NO_TENANT/messages")
    assert r.status_code == 404 and r.json() == {"error": "no such tenant"}


def test_events_are_kept_until_a_consumer_takes_them(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 1})
    with Consumer(gw) as app:
        # An event the consumer accepts is answered 202 and not kept.
        pending = later(device, gw, "POST", "/event", content=b'{"alarm": true}')
        taken = app.next()
        assert taken["type"] == "event" and taken["qos"] == 1
        app.settle(taken, "accepted")
        assert pending.result().status_code == 202
        # One it does not settle: the device hears 503 (it may resend), the
        # event stays stored.
        r = device(gw, "PUT", "/event//4712", auth=("gw1@DEFAULT_TENANT", "gw-secret"),
                   headers=dict(JSON, **{"hono-ttl": "3600"}), content=b'{"door": "open"}')
        assert r.status_code == 503
        kept = app.next()
        assert kept["device_id"] == "4712" and kept["ttl"] == 3600000
    gw.restart()
    with Consumer(gw) as app:
        again = app.next()
        assert again["id"] == kept["id"] and again["payload"] == '{"door": "open"}'
        assert again["creation-time"] == kept["creation-time"]
        app.none_within(0.5)  # the accepted one is gone
        assert app.settle(again, "accepted").status_code == 204
    gw.restart()
    with Consumer(gw) as app:
        app.none_within(1)


def test_bounded_event_store(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 1, "max_stored_events": 2})
    with Consumer(gw) as app:
        for _ in range(2):
            assert device(gw, "POST", "/event").status_code == 503  # not settled: kept
        r = device(gw, "POST", "/event")
        assert r.status_code == 503 and r.json() == {"error": "event store full"}
        for _ in range(2):
            app.settle(app.next(), "accepted")
        pending = later(device, gw, "POST", "/event")
        app.settle(app.next(), "accepted")
        assert pending.result().status_code == 202


def test_json_telemetry_becomes_entity_states(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw) as app:
        assert device(gw, "POST", "/telemetry", content=b'{"temp": 5.5, "open": true, "name": "x"}').status_code == 202
        app.next()
    temp = gw.get("/api/states/sensor.hono_default_tenant_4711_temp").json()
    assert temp["state"] == "5.5"
    assert temp["attributes"] == {"friendly_name": "4711 temp", "device_id": "4711", "tenant_id": TENANT}
    assert gw.get("/api/states/binary_sensor.hono_default_tenant_4711_open").json()["state"] == "on"
    assert gw.get("/api/states/sensor.hono_default_tenant_4711_name").status_code == 404
    # Refused telemetry changes nothing.
    assert device(gw, "POST", "/telemetry", content=b'{"temp": 9}').status_code == 503
    assert gw.get("/api/states/sensor.hono_default_tenant_4711_temp").json()["state"] == "5.5"


def test_garbled_store_lines_cost_only_themselves(start_gateway, tmp_path):
    """A power cut can leave erased-flash bytes (0xff) or half a line in the
    event store: those lines are skipped, the stored events still come."""
    import os
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 1})
    with Consumer(gw) as app:
        assert device(gw, "POST", "/event", content=b'{"n": 1}').status_code == 503
        kept = app.next()
    gw.stop()
    with open(os.path.join(gw.config_dir, "hono_events.jsonl"), "ab") as f:
        f.write(b'\xff\xff\xff\xff\n{"add": {"id": "01J')
    gw.start()
    with Consumer(gw) as app:
        assert app.next()["id"] == kept["id"]
        app.none_within(0.5)
        # The next event is not appended to the cut line (and lost with it).
        assert device(gw, "POST", "/event", content=b'{"n": 2}').status_code == 503
        second = app.next()
    assert gw.logs().count("skipped a damaged line") == 2
    gw.restart()
    with Consumer(gw) as app:
        assert sorted(app.next()["id"] for _ in range(2)) == sorted([kept["id"], second["id"]])
    assert "skipped a damaged line" not in gw.logs()


def test_settling_is_not_starved_by_the_devices_it_settles(start_gateway, tmp_path):
    # Every connection slot is taken: the consumer's stream and devices
    # waiting for their QoS 1 messages to be settled. The settle calls still
    # get through (a reserved slot), so every device gets its answer.
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"settle_timeout": 20},
                      limits={"max_connections": 3, "idle_timeout": 30})
    with Consumer(gw) as app:
        pending = [later(device, gw, "POST", "/telemetry", headers=QOS1) for _ in range(2)]
        msgs = [app.next(), app.next()]
        assert gw.raw(b"GET /api/ HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 503")  # full
        for msg in msgs:
            assert app.settle(msg, "accepted").status_code == 204
        assert [p.result().status_code for p in pending] == [202, 202]
