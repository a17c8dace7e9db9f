"""CORS (ha-api.md 2.4) on both runtimes: exact-origin echo, preflight,
nothing without configured origins. (Paths open to any origin: Hono's
device API, tests/test_hono_adapter.py.)"""
ORIGIN = "https://www.home-assistant.io"
ALLOWED_HEADERS = "Origin, Accept, X-Requested-With, Content-Type, Authorization"


def preflight(gw, path, origin, method="POST"):
    return gw.request("OPTIONS", path, token=False, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_configured_origin_is_echoed_on_exact_match_only(start_gateway):
    gw = start_gateway({"cors_allowed_origins": [ORIGIN, "http://localhost:3000"]})
    r = gw.get("/api/", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert gw.get("/api/", headers={"Origin": "http://localhost:3000"}).headers[
        "Access-Control-Allow-Origin"] == "http://localhost:3000"
    for other in ("https://evil.example", ORIGIN + "/", ORIGIN.upper(), "https://home-assistant.io",
                  "http://www.home-assistant.io", ORIGIN + ".evil.example"):
        r = gw.get("/api/", headers={"Origin": other})
        assert r.status_code == 200
        assert "Access-Control-Allow-Origin" not in r.headers, other
    assert "Access-Control-Allow-Origin" not in gw.get("/api/").headers
    # Error answers carry it too, so the browser shows the page its status.
    r = gw.get("/api/", token=False, headers={"Origin": ORIGIN})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_preflight_is_answered_without_auth(start_gateway):
    gw = start_gateway({"cors_allowed_origins": [ORIGIN]})
    r = preflight(gw, "/api/states/sensor.x", ORIGIN)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert r.headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS
    methods = [m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")]
    assert {"GET", "POST", "DELETE"} <= set(methods)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # Not counted as a failed login.
    assert gw.get("/api/states/persistent_notification.http_login").status_code == 404


def test_preflight_from_another_origin_gets_no_cors_headers(start_gateway):
    gw = start_gateway({"cors_allowed_origins": [ORIGIN]})
    r = preflight(gw, "/api/states", "https://evil.example")
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_no_configured_origins_no_cors_headers(gateway):
    for r in (gateway.get("/api/", headers={"Origin": ORIGIN}),
              preflight(gateway, "/api/states", ORIGIN)):
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]
