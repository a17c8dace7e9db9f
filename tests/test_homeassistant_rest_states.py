"""The first slice of the REST API on both runtimes: /api/ and the states
endpoints with Home Assistant's codes, messages and time semantics."""
import time

BATH = {"state": "20", "attributes": {"unit_of_measurement": "°C", "friendly_name": "Bathroom Temp"}}


def test_api_running_needs_a_valid_bearer_token(gateway):
    r = gateway.get("/api/")
    assert r.status_code == 200
    assert r.json() == {"message": "API running."}
    assert gateway.get("/api/", token=False).status_code == 401
    assert gateway.get("/api/", token="not-a-token").status_code == 401
    assert gateway.get("/api/", token=False, headers={"Authorization": "BEARER " + gateway.token}).status_code == 401
    assert gateway.get("/api/", token=False, headers={"authorization": "Bearer " + gateway.token}).status_code == 200
    r = gateway.get("/api/", token=False)
    assert r.text == "401: Unauthorized"


def test_http_sensor_is_created_on_first_post(gateway):
    r = gateway.post("/api/states/sensor.bathroom_temperature", json=BATH)
    assert r.status_code == 201
    assert r.headers["Location"] == "/api/states/sensor.bathroom_temperature"
    body = r.json()
    assert list(body) == ["entity_id", "state", "attributes", "last_changed", "last_reported",
                          "last_updated", "context"]
    assert body["entity_id"] == "sensor.bathroom_temperature"
    assert body["attributes"] == BATH["attributes"]
    r = gateway.post("/api/states/sensor.bathroom_temperature", json=BATH)
    assert r.status_code == 200
    got = gateway.get("/api/states/sensor.bathroom_temperature").json()
    assert got["state"] == "20" and got["attributes"]["unit_of_measurement"] == "°C"


def test_binary_sensor_like_the_seed(gateway):
    r = gateway.post("/api/states/binary_sensor.radio",
                     json={"state": "off", "attributes": {"friendly_name": "Radio"}})
    assert r.status_code == 201
    assert gateway.get("/api/states/binary_sensor.radio").json()["state"] == "off"
    ids = [s["entity_id"] for s in gateway.get("/api/states").json()]
    assert "binary_sensor.radio" in ids


def test_state_values_are_stored_as_strings(gateway):
    for value, expected in [(0, "0"), (0.0, "0.0"), (True, "True"), ("", ""), (21.5, "21.5")]:
        r = gateway.post("/api/states/sensor.v", json={"state": value})
        assert r.json()["state"] == expected


def test_entity_ids_are_lowercased(gateway):
    assert gateway.post("/api/states/sensor.MiXeD", json={"state": "1"}).status_code == 201
    assert gateway.get("/api/states/SENSOR.mixed").json()["entity_id"] == "sensor.mixed"


def test_post_checks_in_home_assistant_order(gateway):
    def post(path, **kw):
        r = gateway.post(path, **kw)
        return r.status_code, r.json()["message"]

    assert post("/api/states/sensor.x", content=b"{bad") == (400, "Invalid JSON specified.")
    assert post("/api/states/sensor.x", content=b"\xff\xfe") == (400, "Invalid JSON specified.")
    assert post("/api/states/sensor.x", json=None) == (400, "State data should be a JSON object.")
    assert post("/api/states/sensor.x", json=[1]) == (400, "State data should be a JSON object.")
    assert post("/api/states/sensor.x", json="on") == (400, "State data should be a JSON object.")
    assert post("/api/states/sensor.x", json={}) == (400, "No state specified.")
    assert post("/api/states/sensor.x", json={"state": None}) == (400, "No state specified.")
    assert post("/api/states/bad.entity.id", json={"state": "1"}) == (400, "Invalid entity ID specified.")
    assert post("/api/states/sensor._x", json={"state": "1"}) == (400, "Invalid entity ID specified.")
    assert post("/api/states/sensor.a__b", json={"state": "1"}) == (400, "Invalid entity ID specified.")
    assert post("/api/states/sensor.x", json={"state": "x" * 256}) == (400, "Invalid state specified.")
    assert gateway.post("/api/states/sensor.x", json={"state": "x" * 255}).status_code == 201


def test_unknown_entity_is_404(gateway):
    r = gateway.get("/api/states/sensor.nothing")
    assert r.status_code == 404
    assert r.json() == {"message": "Entity not found."}


def test_time_semantics(gateway):
    first = gateway.post("/api/states/sensor.t", json={"state": "1", "attributes": {"a": 1}}).json()
    time.sleep(0.01)
    same = gateway.post("/api/states/sensor.t", json={"state": "1", "attributes": {"a": 1}}).json()
    assert same["last_changed"] == first["last_changed"]
    assert same["last_updated"] == first["last_updated"]
    assert same["last_reported"] > first["last_reported"]
    time.sleep(0.01)
    attrs = gateway.post("/api/states/sensor.t", json={"state": "1", "attributes": {"a": 2}}).json()
    assert attrs["last_changed"] == first["last_changed"]
    assert attrs["last_updated"] > first["last_updated"]
    time.sleep(0.01)
    forced = gateway.post("/api/states/sensor.t",
                          json={"state": "1", "attributes": {"a": 2}, "force_update": True}).json()
    assert forced["last_changed"] > first["last_changed"]
    time.sleep(0.01)
    changed = gateway.post("/api/states/sensor.t", json={"state": "2"}).json()
    assert changed["last_changed"] == changed["last_updated"] == changed["last_reported"]
    assert changed["attributes"] == {}
    assert changed["last_changed"].endswith("+00:00") and len(changed["last_changed"]) == 32


def test_context_carries_the_token_owner(gateway):
    body = gateway.post("/api/states/sensor.c", json={"state": "1"}).json()
    ctx = body["context"]
    assert len(ctx["id"]) == 26 and ctx["parent_id"] is None and ctx["user_id"]


def test_many_states_are_listed(start_gateway):
    """GET /api/states is streamed a state at a time: a board's fragmented
    heap cannot hold hundreds of states as one string (the board default
    limit of 256 entities is raised here)."""
    gateway = start_gateway({"limits": {"max_entities": 1000}})
    attrs = {"friendly_name": "Sensor with a longer friendly name", "unit_of_measurement": "°C",
             "device_class": "temperature", "source": "x" * 100}
    for i in range(200):
        assert gateway.post("/api/states/sensor.many_{}".format(i),
                            json={"state": str(i), "attributes": attrs}).status_code == 201
    states = gateway.get("/api/states").json()
    assert sorted(s["entity_id"] for s in states) == sorted("sensor.many_{}".format(i) for i in range(200))
    assert all(s["attributes"] == attrs for s in states)


def test_entity_limit_is_a_clear_400(start_gateway):
    gw = start_gateway({"limits": {"max_entities": 3}})
    for i in range(3):
        assert gw.post("/api/states/sensor.e{}".format(i), json={"state": "1"}).status_code == 201
    r = gw.post("/api/states/sensor.e3", json={"state": "1"})
    assert r.status_code == 400
    assert r.json() == {"message": "Too many entities (limits.max_entities is 3)."}
    assert gw.post("/api/states/sensor.e0", json={"state": "2"}).status_code == 200  # updates go on
    assert gw.delete("/api/states/sensor.e0").status_code == 200
    assert gw.post("/api/states/sensor.e3", json={"state": "1"}).status_code == 201
