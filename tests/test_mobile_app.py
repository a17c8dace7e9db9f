"""mobile_app on both runtimes, with a scripted phone (tests/mobile_phone.py)
following the companion apps' sequence: register, get_config, sensors,
location, templates, services, events, the WebSocket session with local
push, encryption with the hex and the legacy key, removal and the 410
that makes the phone register again. Most tests sign in with a long-lived
token; one signs in through the login flow as the apps' web view does and
registers with the access token."""
import json
import os
import stat
import time

import httpx

from auth_client import create_user, sign_in
from conftest import run_ugate, wait_for
from mobile_phone import ANDROID, IOS, Phone, legacy_key


def test_registration_answers_and_refusals(gateway):
    # Both paths; unknown keys dropped; the seed's os_version alone accepted.
    phone = Phone(gateway)
    answer = phone.register()
    assert list(answer) == ["cloudhook_url", "remote_ui_url", "secret", "webhook_id"]
    assert answer["cloudhook_url"] is None and answer["remote_ui_url"] is None
    assert answer["secret"] is None  # the app does not encrypt
    assert len(answer["webhook_id"]) == 64 and int(answer["webhook_id"], 16) >= 0
    seed = dict(IOS, junk="dropped")
    del seed["os_name"]
    ios = Phone(gateway, seed, path="/api/mobile_app/devices")
    answer = ios.register()
    assert len(answer["secret"]) == 64 and int(answer["secret"], 16) >= 0
    listed = gateway.get("/api/mobile_app/registrations").json()
    assert [p["device_name"] for p in listed] == ["Pixel 8", "Robbie's iPhone"]
    assert all("junk" not in p and "secret" not in p and "webhook_id" not in p for p in listed)
    assert listed[0]["notify_service"] == "notify.mobile_app_pixel_8"
    assert listed[1]["notify_service"] is None  # push_url only: no local push
    # Kept owner-only: it holds webhook ids and keys.
    path = os.path.join(gateway.config_dir, "mobile_app.json")
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
    # Malformed bodies: 400 naming the field; no token: 401.
    for body, field in ((dict(ANDROID, app_id=None), "app_id"),
                        ({k: v for k, v in ANDROID.items() if k != "model"}, "model"),
                        (dict(ANDROID, supports_encryption="yes"), "supports_encryption"),
                        (dict(ANDROID, app_data=[]), "app_data")):
        r = gateway.post("/api/mobile_app/registrations", json=body)
        assert r.status_code == 400 and "data['{}']".format(field) in r.json()["message"], r.text
    assert gateway.post("/api/mobile_app/registrations", content=b"{").status_code == 400
    assert gateway.post("/api/mobile_app/registrations", json=ANDROID, token=False).status_code == 401


def test_webhook_envelope_rules(gateway):
    plain, secret = Phone(gateway), Phone(gateway, IOS)
    plain.register()
    secret.register()
    unknown = gateway.post("/api/webhook/" + "0" * 64, json={"type": "get_config"}, token=False)
    assert unknown.status_code == 200 and unknown.content == b""
    r = plain.post(None, raw=b"not json")
    assert (r.status_code, r.json()) == (400, {})
    r = secret.post({"type": "get_config", "data": {}})
    assert r.status_code == 400 and r.json() == {
        "success": False, "error": {"code": "encryption_required", "message": "Encryption required"}}
    for envelope in ({"type": "get_config", "data": "x"}, {"data": {}}, {"type": 5},
                     {"type": "get_config", "data": {}, "extra": 1},
                     {"type": "get_config", "encrypted": True, "encrypted_data": 5}):
        r = secret.post(envelope) if "encrypted" in envelope else plain.post(envelope)
        assert (r.status_code, r.json()) == (200, {}), envelope
    # The docs' "type": "encrypted" example is not what apps send: unknown type.
    status, answer, _ = secret.send("encrypted", {}, key=secret.hex_key)
    assert (status, answer) == (200, {})
    assert secret.send("get_config", key=os.urandom(32))[:2] == (200, {})  # does not decrypt
    r = secret.post({"type": "get_config", "encrypted": True, "encrypted_data": "@@@"})
    assert (r.status_code, r.json()) == (200, {})
    assert plain.send("no_such_type")[:2] == (200, {})
    assert plain.send("register_sensor", {"name": "x"})[:2] == (200, {})  # schema error
    # Unpadded base64 is taken as well as padded.
    status, answer, key = secret.send("get_config", key=secret.hex_key, padding=False)
    assert status == 200 and answer["version"] and key == secret.hex_key


def test_android_phone_sequence(gateway):
    """Register, get_config, the WebSocket session with push, sensors,
    location, templates, services, events and tags, as the Android app."""
    phone = Phone(gateway)
    phone.register()
    status, config, _ = phone.send("get_config")
    assert status == 200
    for key in ("latitude", "longitude", "elevation", "unit_system", "location_name", "time_zone",
                "components", "version", "theme_color", "entities", "hass_device_id"):
        assert key in config
    assert "mobile_app" in config["components"] and config["entities"] == {}

    session = phone.websocket()
    _, user = session.command({"type": "auth/current_user"})  # right after registering, as Android
    assert user["success"] is True and user["result"]["is_owner"] is True
    _, result = session.command({"type": "get_config"})
    assert result["result"]["version"] == config["version"]
    for command in ("get_states", "get_services", "config/area_registry/list",
                    "config/floor_registry/list"):
        assert session.command({"type": command})[1]["success"] is True, command
    devices = session.command({"type": "config/device_registry/list"})[1]["result"]
    assert [(d["id"], d["name"], d["manufacturer"]) for d in devices] == [
        (config["hass_device_id"], "Pixel 8", "Google")]
    events_id, _ = session.command({"type": "subscribe_events", "event_type": "tag_scanned"})

    # Sensors: registered (201), registered again (updates), states per unique id.
    sensor = {"name": "Battery Level", "type": "sensor", "unique_id": "battery_level", "state": 81,
              "unit_of_measurement": "%", "device_class": "battery", "state_class": "measurement",
              "icon": "mdi:battery", "entity_category": "diagnostic", "attributes": {"charging": False}}
    assert phone.send("register_sensor", sensor)[:2] == (201, {"success": True})
    assert phone.send("register_sensor", dict(sensor, state=80))[:2] == (201, {"success": True})
    assert phone.send("register_sensor", {"name": "Charging", "type": "binary_sensor",
                                          "unique_id": "is_charging", "state": False,
                                          "device_class": "plug"})[0] == 201
    assert phone.send("register_sensor", {"name": "Steps", "type": "sensor", "unique_id": "steps",
                                          "state": 10, "disabled": True})[0] == 201
    state = gateway.get("/api/states/sensor.pixel_8_battery_level").json()
    assert state["state"] == "80"
    assert state["attributes"] == {"charging": False, "state_class": "measurement",
                                   "unit_of_measurement": "%", "device_class": "battery",
                                   "icon": "mdi:battery", "friendly_name": "Pixel 8 Battery Level"}
    assert gateway.get("/api/states/binary_sensor.pixel_8_charging").json()["state"] == "off"
    assert gateway.get("/api/states/sensor.pixel_8_steps").status_code == 404  # disabled
    status, answer, _ = phone.send("update_sensor_states", [
        {"type": "sensor", "unique_id": "battery_level", "state": 79, "attributes": {"charging": True}},
        {"type": "binary_sensor", "unique_id": "is_charging", "state": True},
        {"type": "sensor", "unique_id": "steps", "state": 12},
        {"type": "sensor", "unique_id": "unknown_one", "state": 1}])
    assert status == 200
    assert answer["battery_level"] == {"success": True}
    assert answer["is_charging"] == {"success": True}
    assert answer["steps"] == {"success": True, "is_disabled": True}
    assert answer["unknown_one"] == {"success": False, "error": {
        "code": "not_registered", "message": "sensor unknown_one is not registered"}}
    status, answer, _ = phone.send("update_sensor_states", [
        {"type": "sensor", "unique_id": "battery_level", "state": [1]}])
    assert answer["battery_level"]["error"]["code"] == "invalid_format"
    assert gateway.get("/api/states/sensor.pixel_8_battery_level").json()["state"] == "79"
    assert gateway.get("/api/states/binary_sensor.pixel_8_charging").json()["state"] == "on"
    status, config, _ = phone.send("get_config")
    assert config["entities"] == {"battery_level": {"disabled": False},
                                  "is_charging": {"disabled": False}, "steps": {"disabled": True}}
    entities = session.command({"type": "config/entity_registry/list"})[1]["result"]
    by_id = {e["entity_id"]: e for e in entities}
    assert by_id["sensor.pixel_8_battery_level"]["unique_id"] == phone.webhook_id + "_battery_level"
    assert by_id["sensor.pixel_8_battery_level"]["entity_category"] == "diagnostic"
    assert by_id["sensor.pixel_8_steps"]["disabled_by"] == "integration"
    display = session.command({"type": "config/entity_registry/list_for_display"})[1]["result"]
    assert "sensor.pixel_8_steps" not in [e["ei"] for e in display["entities"]]

    # Location: a device tracker, home within the home zone.
    location = {"gps": [0.0003, 0.0002], "gps_accuracy": 12, "battery": 79, "altitude": 40.5,
                "course": 90, "speed": 2, "vertical_accuracy": 3}
    assert phone.send("update_location", location)[:2] == (200, {})
    tracker = gateway.get("/api/states/device_tracker.pixel_8").json()
    assert tracker["state"] == "home"
    assert tracker["attributes"] == {"source_type": "gps", "latitude": 0.0003, "longitude": 0.0002,
                                     "battery_level": 79, "gps_accuracy": 12, "altitude": 40.5,
                                     "course": 90, "speed": 2, "vertical_accuracy": 3,
                                     "friendly_name": "Pixel 8"}
    phone.send("update_location", {"gps": [48.1, 11.5], "gps_accuracy": 5})
    assert gateway.get("/api/states/device_tracker.pixel_8").json()["state"] == "not_home"
    assert phone.send("update_location", {"gps": [91, 0], "gps_accuracy": 5})[:2] == (200, {})
    assert gateway.get("/api/states/device_tracker.pixel_8").json()["attributes"]["latitude"] == 48.1

    # Templates, per key; an unsupported one is an error in its key only.
    status, answer, _ = phone.send("render_template", {
        "battery": {"template": "{{ states('sensor.pixel_8_battery_level') | int + 1 }}"},
        "text": {"template": "Battery {{ state_attr('sensor.pixel_8_battery_level', 'unit_of_measurement') }}"},
        "home": {"template": "{{ is_state('device_tracker.pixel_8', 'home') }}"},
        "var": {"template": "{{ (x * 9 / 5 + 32) | round(1) }}", "variables": {"x": 21}},
        "bad": {"template": "{% for x in y %}{% endfor %}"}})
    assert status == 200
    assert answer["battery"] == 80 and answer["text"] == "Battery %"
    assert answer["home"] is False and answer["var"] == 69.8
    assert "not supported" in answer["bad"]["error"]

    # render_template over the WebSocket: re-rendered when a state it reads changes.
    tpl_id, result = session.command({"type": "render_template",
                                      "template": "{{ states('sensor.pixel_8_battery_level') }} %"})
    assert result["success"] is True
    first = session.wait(tpl_id, "event")["event"]
    assert first["result"] == "79 %" and first["listeners"]["entities"] == ["sensor.pixel_8_battery_level"]
    phone.send("update_sensor_states", [{"type": "sensor", "unique_id": "battery_level", "state": 78}])
    assert session.wait(tpl_id, "event")["event"]["result"] == "78 %"
    _, error = session.command({"type": "render_template", "template": "{{ nope() }}"})
    assert error["success"] is False and error["error"]["code"] == "template_error"

    # call_service, fire_event, scan_tag, get_zones, the types without a backend.
    assert phone.send("call_service", {"domain": "persistent_notification", "service": "create",
                                       "service_data": {"message": "hi", "notification_id": "p"}})[:2] \
        == (200, {})
    assert gateway.get("/api/states/persistent_notification.p").status_code == 200
    r = phone.post(phone.envelope("call_service", {"domain": "nope", "service": "nope"}))
    assert r.status_code == 400
    assert phone.send("fire_event", {"event_type": "phone_event", "event_data": {"a": 1}})[:2] == (200, {})
    assert phone.send("scan_tag", {"tag_id": "kitchen-tag"})[:2] == (200, {})
    tag = session.wait(events_id, "event")["event"]
    assert tag["event_type"] == "tag_scanned"
    assert tag["data"] == {"tag_id": "kitchen-tag", "name": None, "device_id": config["hass_device_id"]}
    status, zones, _ = phone.send("get_zones")
    assert [z["entity_id"] for z in zones] == ["zone.home"] and zones[0]["attributes"]["radius"] == 100
    assert phone.send("stream_camera", {"camera_entity_id": "camera.front"})[:2] == (400, {"success": False})
    status, answer, _ = phone.send("conversation_process", {"text": "turn on the light"})
    assert status == 200 and answer["response"]["response_type"] == "error"
    status, answer, _ = phone.send("update_registration", {
        "app_version": "2025.2.0-full", "device_name": "Pixel 8", "manufacturer": "Google",
        "model": "Pixel 8", "os_version": "15", "app_data": {"push_websocket_channel": True}})
    assert status == 200 and answer["app_version"] == "2025.2.0-full" and answer["os_version"] == "15"
    assert "webhook_id" not in answer and "secret" not in answer

    # Anything else on the WebSocket: a clear error, the connection goes on.
    assert session.command({"type": "subscribe_trigger", "trigger": {}})[1]["error"]["code"] == "not_supported"
    assert session.command({"type": "no/such_command"})[1]["error"] == {
        "code": "unknown_command", "message": "Unknown command."}
    ping_id = session.next_id
    session.next_id += 1
    json_ping = {"id": ping_id, "type": "ping"}
    session.ws.send(json.dumps(json_ping))
    assert session.wait(ping_id)["type"] == "pong"
    session.close()


def test_local_push(start_gateway):
    """notify.mobile_app_<device> over REST, the WebSocket and Hono's command
    path, delivered on the push channel, confirmed; unconfirmed and waiting
    notifications delivered when the phone opens its channel again."""
    gateway = start_gateway({"hono": {}})
    phone = Phone(gateway)
    phone.register()
    # Sent while the phone has no channel: it waits.
    r = gateway.post("/api/services/notify/mobile_app_pixel_8",
                     json={"message": "Garage open", "title": "Home", "data": {"tag": "garage"}})
    assert r.status_code == 200
    session = phone.websocket()
    channel, result = session.command({"type": "mobile_app/push_notification_channel",
                                       "webhook_id": phone.webhook_id, "support_confirm": True})
    assert result["success"] is True
    waited = session.wait(channel, "event")["event"]
    assert waited["message"] == "Garage open" and waited["title"] == "Home"
    assert waited["data"] == {"tag": "garage"} and len(waited["hass_confirm_id"]) == 32
    _, ok = session.command({"type": "mobile_app/push_notification_confirm",
                             "webhook_id": phone.webhook_id, "confirm_id": waited["hass_confirm_id"]})
    assert ok["success"] is True
    _, again = session.command({"type": "mobile_app/push_notification_confirm",
                                "webhook_id": phone.webhook_id, "confirm_id": waited["hass_confirm_id"]})
    assert again["error"] == {"code": "not_found", "message": "Push notification not found"}

    # Over the WebSocket's call_service, to the open channel.
    _, called = session.command({"type": "call_service", "domain": "notify",
                                 "service": "mobile_app_pixel_8", "service_data": {"message": "Hi"}})
    assert called["success"] is True
    hi = session.wait(channel, "event")["event"]
    assert hi["message"] == "Hi"
    # Not confirmed: the phone reconnects and gets it again.
    session.close()
    session = phone.websocket()
    channel, _ = session.command({"type": "mobile_app/push_notification_channel",
                                  "webhook_id": phone.webhook_id, "support_confirm": True})
    redelivered = session.wait(channel, "event")["event"]
    assert redelivered["message"] == "Hi" and redelivered["hass_confirm_id"] == hi["hass_confirm_id"]
    session.command({"type": "mobile_app/push_notification_confirm", "webhook_id": phone.webhook_id,
                     "confirm_id": hi["hass_confirm_id"]})

    # Hono's application API reaches the phone through the command router.
    r = gateway.post("/api/hono/DEFAULT_TENANT/commands/mobile_app/pixel_8?name=notify",
                     json={"message": "From Hono"})
    assert r.status_code == 202, r.text
    assert session.wait(channel, "event")["event"]["message"] == "From Hono"
    # A missing message: refused, nothing sent.
    r = gateway.post("/api/services/notify/mobile_app_pixel_8", json={"title": "no message"})
    assert r.status_code == 400
    # Errors of the push commands.
    _, bad = session.command({"type": "mobile_app/push_notification_channel", "webhook_id": "0" * 64})
    assert bad["error"] == {"code": "not_found", "message": "Webhook ID not found"}
    session.close()


def test_encryption_keys(start_gateway):
    """The legacy key works until the hex key is used, then it is refused;
    answers use the key the phone uses; enable_encryption."""
    gateway = start_gateway()
    phone = Phone(gateway, IOS)
    phone.register()
    legacy = legacy_key(phone.secret)
    sensor = {"name": "Battery", "type": "sensor", "unique_id": "battery", "state": 50}
    status, answer, key = phone.send("register_sensor", sensor, key=legacy)
    assert (status, answer, key) == (201, {"success": True}, legacy)
    status, answer, key = phone.send("update_sensor_states",
                                     [{"type": "sensor", "unique_id": "battery", "state": 49}],
                                     key=phone.hex_key)
    assert (status, answer, key) == (200, {"battery": {"success": True}}, phone.hex_key)
    # From now on the legacy key is refused: nothing changes.
    status, answer, key = phone.send("update_sensor_states",
                                     [{"type": "sensor", "unique_id": "battery", "state": 1}], key=legacy)
    assert (status, answer) == (200, {})
    assert gateway.get("/api/states/sensor.robbie_s_iphone_battery").json()["state"] == "49"
    # An empty answer and an error go unencrypted.
    r = phone.post(phone.envelope("update_location", {"gps": [1, 2], "gps_accuracy": 3}, phone.hex_key))
    assert r.json() == {}
    r = phone.post(phone.envelope("enable_encryption", {}, phone.hex_key))
    assert r.status_code == 400 and r.json()["error"]["code"] == "encryption_already_enabled"
    # A phone that did not encrypt turns it on; from then on it must.
    plain = Phone(gateway, dict(ANDROID, device_name="Tablet"))
    plain.register()
    status, answer, _ = plain.send("enable_encryption")
    assert status == 200 and len(answer["secret"]) == 64
    plain.secret = answer["secret"]
    assert plain.send("get_config")[0] == 400  # encryption_required
    status, config, key = plain.send("get_config", key=plain.hex_key)
    assert status == 200 and key == plain.hex_key and config["version"]


def test_removal_answers_410_and_the_phone_registers_again(gateway):
    phone = Phone(gateway)
    phone.register()
    assert gateway.get("/api/mobile_app/registrations").json()[0]["last_seen"] is None
    phone.send("register_sensor", {"name": "Battery", "type": "sensor", "unique_id": "b", "state": 1})
    old = phone.webhook_id
    [listed] = gateway.get("/api/mobile_app/registrations").json()
    assert listed["last_seen"] is not None and listed["last_seen"] >= listed["created_at"]
    entry = listed["entry_id"]
    r = gateway.delete("/api/mobile_app/registrations/" + entry)
    assert r.status_code == 200
    assert gateway.delete("/api/mobile_app/registrations/" + entry).status_code == 404
    r = phone.post(phone.envelope("update_registration", {}))
    assert r.status_code == 410
    assert gateway.get("/api/states/sensor.pixel_8_battery").status_code == 404
    assert gateway.post("/api/services/notify/mobile_app_pixel_8", json={"message": "x"}).status_code == 400
    # The app registers again and carries on.
    phone.register()
    assert phone.webhook_id != old
    assert phone.send("register_sensor", {"name": "Battery", "type": "sensor", "unique_id": "b",
                                          "state": 2})[0] == 201
    # `ugate mobile` works on the same file while the gateway runs.
    listed = run_ugate("mobile", "list", "--config-dir", gateway.config_dir)
    assert listed.returncode == 0 and "Pixel 8" in listed.stdout and "1 sensors" in listed.stdout
    assert phone.webhook_id not in listed.stdout
    removed = run_ugate("mobile", "remove", "Pixel 8", "--config-dir", gateway.config_dir)
    assert removed.returncode == 0, removed.stderr
    assert phone.post(phone.envelope("get_config", {})).status_code == 410
    wait_for(lambda: gateway.get("/api/states/sensor.pixel_8_battery").status_code == 404,
             what="the removed phone's sensor to go")
    assert run_ugate("mobile", "remove", "nobody", "--config-dir", gateway.config_dir).returncode == 2


def test_readings_reach_every_face(gateway):
    """A phone's reading is a state like any other: REST, SSE, WebSocket."""
    phone = Phone(gateway)
    phone.register()
    phone.send("register_sensor", {"name": "Light", "type": "sensor", "unique_id": "light",
                                   "state": 100, "unit_of_measurement": "lx"})
    session = phone.websocket()
    sub, _ = session.command({"type": "subscribe_entities", "entity_ids": ["sensor.pixel_8_light"]})
    assert session.wait(sub, "event")["event"]["a"]["sensor.pixel_8_light"]["s"] == "100"
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", gateway.url("/api/stream?restrict=state_changed"),
                           headers=gateway.headers()) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "data: ping"
            phone.send("update_sensor_states", [{"type": "sensor", "unique_id": "light", "state": 250}])
            deadline = time.time() + 10
            for line in lines:
                if line.startswith("data: {"):
                    event = json.loads(line[6:])
                    assert event["data"]["new_state"]["state"] == "250"
                    break
                assert time.time() < deadline
    assert session.wait(sub, "event")["event"]["c"]["sensor.pixel_8_light"]["+"]["s"] == "250"
    assert gateway.get("/api/states/sensor.pixel_8_light").json()["state"] == "250"
    session.close()


def test_a_phone_signed_in_through_the_login_flow(gateway):
    """The app's sign-in (the login flow and /auth/token, as its web view
    runs them), then registration and push with the access token: the
    phone is that user's: another user cannot open its push channel."""
    create_user(gateway, "anna", "correct horse")  # the first user: the owner
    create_user(gateway, "ben", "battery staple")
    tokens = sign_in(gateway, "ben", "battery staple")
    phone = Phone(gateway, token=tokens["access_token"])
    phone.register()
    assert phone.send("get_config")[0] == 200
    session = phone.websocket()
    _, user = session.command({"type": "auth/current_user"})
    channel, result = session.command({"type": "mobile_app/push_notification_channel",
                                       "webhook_id": phone.webhook_id})
    assert result["success"] is True
    gateway.post("/api/services/notify/mobile_app_pixel_8", json={"message": "for ben"})
    assert session.wait(channel, "event")["event"] == {"message": "for ben"}
    session.close()
    owner = Phone(gateway).websocket()  # the owner's long-lived token
    _, refused = owner.command({"type": "mobile_app/push_notification_channel",
                                "webhook_id": phone.webhook_id})
    assert refused["error"]["code"] == "not_found" and user["result"]["name"] == "ben"
    owner.close()
