"""The rest of Home Assistant's REST API on both runtimes: config, core
state, components, delete, events, services, the state_changed rules (seen
through SSE) and the answers to wrong paths and methods."""
from sse_client import EventStream


def test_config(gateway):
    r = gateway.get("/api/config")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    conf = r.json()
    for key in ("components", "config_dir", "latitude", "longitude", "elevation",
                "location_name", "time_zone", "unit_system", "version", "state"):
        assert key in conf, key
    assert conf["state"] == "RUNNING"
    assert conf["unit_system"]["temperature"] == "°C"
    assert conf["location_name"] == "ugate"
    assert "api" in conf["components"]


def test_config_follows_the_config_file(start_gateway):
    gw = start_gateway({"location_name": "Shed", "unit_system": "us_customary",
                        "latitude": 52.5, "time_zone": "Europe/Berlin"})
    conf = gw.get("/api/config").json()
    assert conf["location_name"] == "Shed"
    assert conf["latitude"] == 52.5
    assert conf["time_zone"] == "Europe/Berlin"
    assert conf["unit_system"]["temperature"] == "°F"


def test_core_state_and_components(gateway):
    r = gateway.get("/api/core/state")
    assert (r.status_code, r.json()) == (200, {"state": "RUNNING"})
    r = gateway.get("/api/components")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert {"api", "http"} <= set(r.json())


def test_every_endpoint_needs_a_token(gateway):
    for method, path in [("GET", "/api/config"), ("GET", "/api/core/state"),
                         ("GET", "/api/components"), ("GET", "/api/states"),
                         ("DELETE", "/api/states/sensor.x"), ("GET", "/api/events"),
                         ("POST", "/api/events/x"), ("GET", "/api/services"),
                         ("POST", "/api/services/persistent_notification/create")]:
        r = gateway.request(method, path, token=False)
        assert (r.status_code, r.text) == (401, "401: Unauthorized"), (method, path)


def test_delete_state(gateway):
    gateway.post("/api/states/sensor.old", json={"state": "1"})
    r = gateway.delete("/api/states/SENSOR.old")
    assert (r.status_code, r.json()) == (200, {"message": "Entity removed."})
    assert r.headers["Content-Type"] == "application/json"
    assert gateway.get("/api/states/sensor.old").status_code == 404
    r = gateway.delete("/api/states/sensor.old")
    assert (r.status_code, r.json()) == (404, {"message": "Entity not found."})


def test_events_list_and_fire(gateway):
    r = gateway.get("/api/events")
    assert r.status_code == 200 and isinstance(r.json(), list)
    with EventStream(gateway, "/api/stream?restrict=garage_open") as sse:
        assert sse.frame() == "ping"
        events = gateway.get("/api/events").json()
        assert {"event": "*", "listener_count": 1} in events
        assert all(list(e) == ["event", "listener_count"] for e in events)
        r = gateway.post("/api/events/garage_open", json={"door": "left"})
        assert (r.status_code, r.json()) == (200, {"message": "Event garage_open fired."})
        assert sse.event()["data"] == {"door": "left"}
        r = gateway.post("/api/events/garage_open")  # an empty body is no data
        assert r.status_code == 200
        assert sse.event()["data"] == {}


def test_fire_event_refuses_bad_data(gateway):
    def fire(**kw):
        r = gateway.post("/api/events/x", **kw)
        return r.status_code, r.json()["message"]

    assert fire(content=b"{nope") == (400, "Event data should be valid JSON.")
    assert fire(content=b"\xff") == (400, "Event data should be valid JSON.")
    assert fire(json=[1, 2]) == (400, "Event data should be a JSON object")
    assert fire(json="text") == (400, "Event data should be a JSON object")
    assert fire(json={}) == (200, "Event x fired.")


def test_services_list(gateway):
    r = gateway.get("/api/services")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    domains = {d["domain"]: d for d in r.json()}
    assert all(list(d) == ["domain", "services"] for d in domains.values())
    notification = domains["persistent_notification"]["services"]
    assert set(notification) >= {"create", "dismiss"}
    create = notification["create"]
    assert list(create)[:3] == ["name", "description", "fields"]
    assert create["fields"]["message"]["required"] is True
    assert "description" in create["fields"]["title"]
    assert "response" not in create  # it answers with no data


def test_call_service_answers_with_the_changed_states(gateway):
    r = gateway.post("/api/services/persistent_notification/create",
                     json={"message": "Battery low", "title": "Garage", "notification_id": "Bat 1"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    changed = r.json()
    assert [s["entity_id"] for s in changed] == ["persistent_notification.bat_1"]
    assert changed[0]["attributes"] == {"title": "Garage", "message": "Battery low",
                                        "notification_id": "Bat 1"}
    assert changed[0]["context"]["user_id"]
    state = gateway.get("/api/states/persistent_notification.bat_1").json()
    assert state["state"] == "notifying" and state["context"] == changed[0]["context"]
    # Dismissing removes the state; a removal is no changed state.
    r = gateway.post("/api/services/persistent_notification/dismiss",
                     json={"notification_id": "Bat 1"})
    assert (r.status_code, r.json()) == (200, [])
    assert gateway.get("/api/states/persistent_notification.bat_1").status_code == 404


def test_call_service_fires_call_service(gateway):
    with EventStream(gateway, "/api/stream?restrict=call_service") as sse:
        assert sse.frame() == "ping"
        gateway.post("/api/services/persistent_notification/create", json={"message": "m"})
        event = sse.event()
        assert event["data"] == {"domain": "persistent_notification", "service": "create",
                                 "service_data": {"message": "m"}}
        assert event["context"]["user_id"]


def test_notification_without_id_gets_one(gateway):
    changed = gateway.post("/api/services/persistent_notification/create",
                           json={"message": "hello"}).json()
    assert len(changed) == 1
    assert changed[0]["entity_id"].startswith("persistent_notification.")
    assert changed[0]["attributes"]["message"] == "hello"


def test_call_service_errors(gateway):
    def call(path, **kw):
        r = gateway.post("/api/services/" + path, **kw)
        return r.status_code, r.text

    # Home Assistant: unknown services and data the service refuses are a bare 400.
    assert call("light/turn_on", json={}) == (400, "400: Bad Request")
    assert call("persistent_notification/nothing", json={}) == (400, "400: Bad Request")
    assert call("persistent_notification/create", json={}) == (400, "400: Bad Request")
    assert call("persistent_notification/create",
                json={"message": "m", "colour": "red"}) == (400, "400: Bad Request")
    assert call("persistent_notification/create", json=["m"]) == (400, "400: Bad Request")
    r = gateway.post("/api/services/persistent_notification/create", content=b"{bad")
    assert (r.status_code, r.json()) == (400, {"message": "Data should be valid JSON."})
    r = gateway.post("/api/services/persistent_notification/create?return_response",
                     json={"message": "m"})
    assert r.status_code == 400
    assert r.json()["message"].startswith("Service does not support responses.")
    # Nothing was created by the refused calls.
    assert not [s for s in gateway.get("/api/states").json()
                if s["entity_id"].startswith("persistent_notification.")]
    assert "unknown service light.turn_on" in gateway.logs()


def test_wrong_paths_and_methods(gateway):
    r = gateway.get("/api/nothing")
    assert (r.status_code, r.text) == (404, "404: Not Found")
    r = gateway.request("PUT", "/api/states/sensor.x")
    assert (r.status_code, r.text) == (405, "405: Method Not Allowed")
    assert r.headers["Allow"] == "DELETE,GET,HEAD,POST"
    r = gateway.get("/api/services/persistent_notification/create")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_head_answers_like_get_without_a_body(gateway):
    gateway.post("/api/states/sensor.h", json={"state": "1"})
    get = gateway.get("/api/states/sensor.h")
    head = gateway.request("HEAD", "/api/states/sensor.h")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == "application/json"
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert gateway.request("HEAD", "/api/states/sensor.none").status_code == 404
    assert gateway.request("HEAD", "/api/", token=False).status_code == 401


def test_identical_write_fires_no_state_changed(gateway):
    with EventStream(gateway, "/api/stream?restrict=state_changed") as sse:
        assert sse.frame() == "ping"
        body = {"state": "on", "attributes": {"friendly_name": "Radio"}}
        gateway.post("/api/states/binary_sensor.radio", json=body)
        first = sse.event()["data"]
        assert first["old_state"] is None
        gateway.post("/api/states/binary_sensor.radio", json=body)  # identical: no event
        gateway.post("/api/states/binary_sensor.radio", json=dict(body, force_update=True))
        forced = sse.event()["data"]
        old = forced["old_state"]
        # The identical write was reported, nothing else.
        assert old["last_reported"] > first["new_state"]["last_reported"]
        assert dict(old, last_reported=None) == dict(first["new_state"], last_reported=None)
        assert forced["new_state"]["last_changed"] > first["new_state"]["last_changed"]
        gateway.post("/api/states/binary_sensor.radio",
                     json={"state": "on", "attributes": {"friendly_name": "Radio 2"}})
        attrs = sse.event()["data"]
        assert attrs["new_state"]["attributes"] == {"friendly_name": "Radio 2"}
        assert attrs["new_state"]["last_changed"] == forced["new_state"]["last_changed"]
        gateway.delete("/api/states/binary_sensor.radio")
        removed = sse.event()["data"]
        assert removed["new_state"] is None
        assert removed["old_state"] == attrs["new_state"]
