"""Eclipse Hono's HTTP adapter, southbound, on both runtimes: the seed's
curl examples with the demo data, and every status code of the reference's
section 3 in Hono's order of checks."""
import base64

from hono_helpers import (EMPTY, GATEWAY, JSON, SENSOR, TENANT, Consumer, demo_gateway, device,
                          hono, later)


def basic(text):
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode(),
            "Content-Type": "application/json"}


def assert_accepted(r):
    assert r.status_code == 202, r.text
    assert r.headers["Content-Length"] == "0" and r.content == b""


def assert_error(r, status, text=None):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    if text is not None:
        assert r.json() == {"error": text}


def test_seed_examples_with_a_consumer(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw) as app:
        # Publish some JSON data for device 4711.
        assert_accepted(device(gw, "POST", "/telemetry"))
        msg = app.next()
        assert msg["type"] == "telemetry" and msg["tenant_id"] == TENANT and msg["device_id"] == "4711"
        assert msg["payload"] == '{"temp": 5}' and msg["content-type"] == "application/json"
        assert msg["qos"] == 0 and msg["orig_adapter"] == "hono-http" and msg["orig_address"] == "/telemetry"
        assert "ttd" not in msg
        # An invalid QoS level: the seed's status line and 20-byte body.
        raw = gw.raw(b"POST /telemetry HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                     + base64.b64encode(b"sensor1@DEFAULT_TENANT:hono-secret")
                     + b"\r\nContent-Type: application/json\r\nQoS-Level: 2\r\nContent-Length: 11\r\n\r\n"
                     + b'{"temp": 5}')
        head, body = raw.split(b"\r\n\r\n", 1)
        assert head.split(b"\r\n")[0].endswith(b" 400 Bad QoS Header Value")
        assert b"Content-Length: 20" in head and body == b"Bad QoS Header Value"
        # Via gateway gw-1 for device 4712, and with the tenant left out.
        assert_accepted(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/4712", auth=GATEWAY))
        assert app.next()["device_id"] == "4712"
        assert_accepted(device(gw, "PUT", "/telemetry//4712", auth=GATEWAY))
        assert app.next()["orig_address"] == "/telemetry//4712"
        r = device(gw, "POST", "/telemetry/DEFAULT_TENANT/4712", auth=GATEWAY,
                   headers={"Content-Type": "application/json", "QoS-Level": "2"})
        assert r.status_code == 405  # the seed's last example: POST is not a gateway form
        # hono-ttd as header and as query parameter (nobody sends a command: 202).
        assert_accepted(device(gw, "POST", "/telemetry?hono-ttd=1"))
        assert app.next()["ttd"] == 1
        assert_accepted(device(gw, "POST", "/telemetry?hono-ttd=9", headers=dict(JSON, **{"hono-ttd": "1"})))
        assert app.next()["ttd"] == 1
        assert_accepted(device(gw, "POST", "/telemetry", headers=dict(JSON, **{"hono-ttd": "soon"})))
        assert "ttd" not in app.next()  # not an integer: ignored


def test_no_consumer_is_503(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    for path, auth in (("/telemetry", SENSOR), ("/event", SENSOR),
                       ("/telemetry/DEFAULT_TENANT/4712", GATEWAY)):
        r = device(gw, "PUT" if path.count("/") > 1 else "POST", path, auth=auth)
        assert_error(r, 503, "no consumer available")
        assert r.headers["Retry-After"] == "2"
    # A consumer of another tenant does not count.
    assert hono(gw.config_dir, "tenant", "OTHER").returncode == 0
    with Consumer(gw, "OTHER"):
        assert_error(device(gw, "POST", "/telemetry"), 503, "no consumer available")


def test_authentication(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with Consumer(gw):
        def unauthorized(r):
            assert_error(r, 401)
            assert r.headers["WWW-Authenticate"] == 'Basic realm="Hono"'
        unauthorized(device(gw, "POST", "/telemetry", auth=None))
        unauthorized(device(gw, "POST", "/telemetry", auth=("sensor1@DEFAULT_TENANT", "wrong")))
        unauthorized(device(gw, "POST", "/telemetry", auth=("nobody@DEFAULT_TENANT", "hono-secret")))
        unauthorized(device(gw, "POST", "/telemetry", auth=("sensor1@NO_TENANT", "hono-secret")))
        unauthorized(device(gw, "POST", "/telemetry", auth=("sensor1", "hono-secret")))
        unauthorized(device(gw, "POST", "/event", auth=None, headers={"Authorization": "Bearer x",
                                                           "Content-Type": "text/plain"}))
        # Not base64 at all: 400.
        r = device(gw, "POST", "/telemetry", auth=None,
                   headers={"Authorization": "Basic !!!not-base64!!!", "Content-Type": "application/json"})
        assert_error(r, 400)
        # The whole user:password base64-encoded in the user name, empty password.
        inner = base64.b64encode(b"sensor1@DEFAULT_TENANT:hono-secret").decode()
        assert_accepted(device(gw, "POST", "/telemetry", auth=None, headers=basic(inner + ":")))
        # Credentials are checked before the body size and the QoS.
        r = device(gw, "POST", "/telemetry", auth=("sensor1@DEFAULT_TENANT", "wrong"),
                   headers={"QoS-Level": "7"}, content=b"x" * 5000)
        unauthorized(r)
        # The unauthenticated form is refused while authentication is required.
        unauthorized(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/4711", auth=None))
    assert "Login attempt or request with invalid authentication" in gw.logs()


def test_failed_basic_auth_bans_the_address(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, login_attempts_threshold=2)
    for _ in range(2):
        assert device(gw, "POST", "/telemetry", auth=("sensor1@DEFAULT_TENANT", "guess")).status_code == 401
    assert device(gw, "POST", "/telemetry").status_code == 403  # banned, right credentials or not
    assert gw.get("/api/").status_code == 403


def test_registration_status_codes(start_gateway, tmp_path):
    config_dir = tmp_path / "hono-config"
    config_dir.mkdir()
    for args in (("demo",), ("tenant", "OFF", "--disabled"), ("tenant", "NOHTTP", "--adapter-disabled"),
                 ("tenant", "OTHER"), ("device", "OTHER", "9"), ("device", TENANT, "off", "--disabled"),
                 ("device", TENANT, "gw-off", "--disabled"), ("device", TENANT, "4713", "--via", "gw-off"),
                 ("device", "OFF", "d"), ("device", "NOHTTP", "d"), ("device", "OTHER", "o1")):
        assert hono(config_dir, *args).returncode == 0, args
    for tenant, dev, auth_id in (("OFF", "d", "d"), ("NOHTTP", "d", "d"), (TENANT, "off", "off"),
                                 (TENANT, "gw-off", "gwoff"), ("OTHER", "o1", "o1")):
        r = hono(config_dir, "credential", tenant, dev, auth_id, password="pw")
        assert r.returncode == 0, r.stderr
    gw = start_gateway(config={}, config_dir=config_dir)
    with Consumer(gw):
        # Tenant or adapter disabled: 403 (after authentication).
        assert_error(device(gw, "POST", "/telemetry", auth=("d@OFF", "pw")), 403, "tenant is disabled")
        assert_error(device(gw, "POST", "/telemetry", auth=("d@NOHTTP", "pw")), 403)
        assert device(gw, "POST", "/telemetry", auth=("d@OFF", "wrong")).status_code == 401
        # Device disabled (the seed: 403).
        assert_error(device(gw, "POST", "/telemetry", auth=("off@DEFAULT_TENANT", "pw")), 403,
                     "device is disabled")
        # The URI's tenant is not the credentials' tenant.
        assert_error(device(gw, "PUT", "/telemetry/OTHER/4712", auth=GATEWAY), 403)
        # A gateway the device does not list, or a disabled one.
        assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/4711", auth=GATEWAY), 403,
                     "gateway is not authorized to act for the device")
        assert_error(device(gw, "PUT", "/event//4713", auth=("gwoff@DEFAULT_TENANT", "pw")), 403)
        # Unknown device: 404; a device of another tenant: 403 (the seed).
        assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/nope", auth=GATEWAY), 404,
                     "device not found")
        assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/9", auth=GATEWAY), 403,
                     "device does not belong to tenant")
        # A PUT without the device: 404.
        assert device(gw, "PUT", "/telemetry/DEFAULT_TENANT", auth=GATEWAY).status_code == 404
        # A gateway publishing for itself.
        assert_accepted(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/gw-1", auth=GATEWAY))


def test_body_qos_and_content_type_rules(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"max_payload": 100})
    with Consumer(gw) as app:
        # Body size before QoS, QoS before content type, content type before registration.
        assert_error(device(gw, "POST", "/telemetry", headers={"QoS-Level": "3"}, content=b"x" * 101), 413)
        assert device(gw, "POST", "/telemetry", headers={"QoS-Level": "3"}, content=b"").status_code == 400
        assert_accepted(device(gw, "POST", "/telemetry", content=b"x" * 100))
        app.next()
        assert_error(device(gw, "POST", "/telemetry", headers={}), 400, "missing content type")
        assert_error(device(gw, "POST", "/telemetry", content=b""), 400, "missing request body")
        assert_error(device(gw, "POST", "/event", headers=EMPTY), 400,
                     "an empty notification must have no body")
        assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/nope", auth=GATEWAY, headers={}), 400)
        # An empty notification.
        assert_accepted(device(gw, "POST", "/telemetry", headers=EMPTY, content=b""))
        msg = app.next()
        assert msg["content-type"] == EMPTY["Content-Type"] and msg["payload"] == ""
        # Events take QoS 1 or nothing; telemetry 0 or 1.
        assert device(gw, "POST", "/event", headers=dict(JSON, **{"QoS-Level": "0"})).reason_phrase == \
            "Bad QoS Header Value"
        assert_accepted(device(gw, "POST", "/telemetry", headers=dict(JSON, **{"QoS-Level": "0"})))
        assert app.next()["qos"] == 0
        # Binary payloads reach the consumer in base64.
        assert_accepted(device(gw, "POST", "/telemetry", headers={"Content-Type": "application/octet-stream"},
                               content=b"\xff\x00\x01"))
        assert base64.b64decode(app.next()["payload_base64"]) == b"\xff\x00\x01"


def test_unauthenticated_devices_when_allowed(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"authentication_required": False})
    assert hono(gw.config_dir, "device", TENANT, "test:dev").returncode == 0
    with Consumer(gw) as app:
        assert_accepted(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/4711", auth=None))
        assert app.next()["device_id"] == "4711"
        # Path segments are URL-decoded.
        assert_accepted(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/test%3Adev", auth=None))
        assert app.next()["device_id"] == "test:dev"
        assert_error(device(gw, "PUT", "/telemetry/NO_TENANT/4711", auth=None), 404)
        assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/nope", auth=None), 404)
        # An escape cut short or not hex is refused, not read as something else.
        for bad in ("test%3", "test%+3Adev", "%C3"):
            assert_error(device(gw, "PUT", "/telemetry/DEFAULT_TENANT/" + bad, auth=None), 400,
                         "malformed URI")
        # The seed's unauthenticated event and QoS 1 telemetry, settled by the consumer.
        for path, headers in (("/event/DEFAULT_TENANT/4711", JSON),
                              ("/telemetry/DEFAULT_TENANT/4711", dict(JSON, **{"QoS-Level": "1"}))):
            pending = later(device, gw, "PUT", path, auth=None, headers=headers, content=b'{"alarm": true}')
            msg = app.next()
            assert msg["qos"] == 1 and msg["orig_address"] == path
            assert app.settle(msg, "accepted").status_code == 204
            assert_accepted(pending.result())
        # POST still needs credentials; a gateway still may publish.
        assert device(gw, "POST", "/telemetry", auth=None).status_code == 401
        assert_accepted(device(gw, "PUT", "/telemetry//4712", auth=GATEWAY))


def test_cors_preflight(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    for path, extra in (("/telemetry", "QoS-Level, hono-ttd"), ("/event/DEFAULT_TENANT/4711", "hono-ttd"),
                        ("/command/res/0123", "hono-cmd-status")):
        r = gw.request("OPTIONS", path, token=False, headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Access-Control-Allow-Headers"] == "authorization, content-type, " + extra
        assert "PUT" in r.headers["Access-Control-Allow-Methods"]
    r = device(gw, "POST", "/telemetry", headers=dict(JSON, Origin="https://app.example"))
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "hono-command" in r.headers["Access-Control-Expose-Headers"]
    # The Home Assistant API keeps its own CORS rules (no origin configured: none).
    r = gw.request("OPTIONS", "/api/states", token=False, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in r.headers
