"""`GET /api/error_log`: the configured log file as text, behind a token;
404 without a log file."""


def test_error_log_serves_the_log_file(start_gateway, tmp_path):
    log_file = str(tmp_path / "ugate.log")
    gw = start_gateway({"log_file": log_file})
    gw.post("/api/services/light/turn_on", json={})  # logged: unknown service
    r = gw.get("/api/error_log")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "listening on" in r.text
    assert "unknown service light.turn_on" in r.text
    with open(log_file) as f:
        assert r.text == f.read()
    assert gw.token not in r.text
    r = gw.get("/api/error_log", token=False)
    assert (r.status_code, r.text) == (401, "401: Unauthorized")


def test_no_error_log_without_a_log_file(gateway):
    r = gateway.get("/api/error_log")
    assert (r.status_code, r.text) == (404, "404: Not Found")
