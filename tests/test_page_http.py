"""The web page's files and the APIs it uses that are ugate's own, over
HTTP on both runtimes: the page at `/` (gzip, ETag, 304, left out by
`disabled_faces`), `/api/history/period`, `/api/ugate/owner/gateway`,
`/api/ugate/owner/config` (checked as at start, saved, the gateway restarted),
`/api/ugate/owner/bans`, owner-only answers, and the WebSocket password change.
The browser tests (test_page_browser.py) drive the same through the page."""
import os
import time

import httpx
import pytest

import page_gzip  # tools/page_gzip.py, on the path by conftest
from auth_client import create_user, sign_in
from conftest import run_ugate, wait_for
from hono_helpers import TENANT, Consumer, demo_gateway, device
from ws_client import closed_by_server, command, connect, recv

PAGE = page_gzip.PAGE


@pytest.fixture(scope="module", autouse=True)
def gzipped():
    """The .gz files as `make` writes them (up to date with the sources)."""
    return page_gzip.write()


def test_page_is_served_gzipped_with_an_etag(gateway, gzipped):
    r = gateway.get("/", token=False)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) == gzipped["index.html"][1]
    assert "default-src 'self'" in r.headers["content-security-policy"]
    with open(os.path.join(PAGE, "index.html"), "rb") as f:
        assert r.content == f.read()  # httpx undid the gzip
    assert r.headers["cache-control"] == "no-cache"
    again = gateway.get("/", token=False, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for name, kind in (("page.js", "application/javascript"), ("page.css", "text/css")):
        r = gateway.get("/page/" + name, token=False)
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
        assert r.headers["content-encoding"] == "gzip"
    assert gateway.get("/page/index.html.gz", token=False).status_code == 404
    assert gateway.get("/page/../config.json", token=False).status_code == 404
    # A client that takes no gzip is told so (a board keeps only the .gz).
    r = gateway.get("/", token=False, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 406


def test_a_stale_gz_is_not_served(gateway, tmp_path, gzipped):
    """An edited page is served as it is, not its older .gz."""
    gz = os.path.join(PAGE, "page.css.gz")
    old = os.path.getmtime(os.path.join(PAGE, "page.css")) - 10
    os.utime(gz, (old, old))
    try:
        r = gateway.get("/page/page.css", token=False)
        assert r.status_code == 200 and "content-encoding" not in r.headers
        with open(os.path.join(PAGE, "page.css"), "rb") as f:
            assert r.content == f.read()
    finally:
        page_gzip.write()


def test_the_page_can_be_left_out(start_gateway):
    gw = start_gateway({"disabled_faces": ["page", "history"]})
    assert gw.get("/", token=False).status_code == 404
    assert gw.get("/page/page.js", token=False).status_code == 404
    assert gw.get("/api/history/period?filter_entity_id=sensor.a").status_code == 404
    assert gw.get("/api/ugate/owner/gateway").status_code == 404  # the page's owner API goes with it
    assert gw.get("/api/ugate/ports").status_code == 200
    # Without the WebSocket API (the page reads everything live through it)
    # the page is left out too, and the history.
    gw = start_gateway({"disabled_faces": ["websocket"]})
    assert gw.get("/", token=False).status_code == 404
    assert gw.get("/api/history/period?filter_entity_id=sensor.a").status_code == 404


def test_history_keeps_recent_numeric_values(gateway):
    for value in ("20.5", "21", "unavailable", "22.25"):
        assert gateway.post("/api/states/sensor.t", json={"state": value}).status_code in (200, 201)
    gateway.post("/api/states/switch.s", json={"state": "on"})
    r = gateway.get("/api/history/period?filter_entity_id=sensor.t,switch.s,sensor.none&minimal_response")
    assert r.status_code == 200
    [series] = r.json()
    assert [p["state"] for p in series] == ["20.5", "21", "22.25"]
    assert series[0]["entity_id"] == "sensor.t" and "entity_id" not in series[1]
    assert series[0]["last_changed"].endswith("+00:00")
    # A start after every point: nothing.
    assert gateway.get("/api/history/period/2999-01-01T00:00:00+00:00?filter_entity_id=sensor.t").json() == []
    assert gateway.get("/api/history/period").status_code == 400
    assert gateway.get("/api/history/period/yesterday?filter_entity_id=sensor.t").status_code == 400
    assert gateway.get("/api/history/period?filter_entity_id=sensor.t", token=False).status_code == 401
    # A removed entity's points go with it, and its room holds a new one's.
    gateway.delete("/api/states/sensor.t")
    assert gateway.get("/api/history/period?filter_entity_id=sensor.t").json() == []
    gateway.post("/api/states/sensor.u", json={"state": "7"})
    [series] = gateway.get("/api/history/period?filter_entity_id=sensor.u").json()
    assert [p["state"] for p in series] == ["7"]


def test_history_is_bounded(start_gateway, runtime):
    gw = start_gateway()
    limit = gw.get("/api/ugate/owner/gateway").json()["history_points"]
    assert limit == (60 if runtime == "cpython" else 16)
    for i in range(limit + 5):
        gw.post("/api/states/sensor.n", json={"state": str(i)})
    [series] = gw.get("/api/history/period?filter_entity_id=sensor.n").json()
    assert [p["state"] for p in series] == [str(i) for i in range(5, limit + 5)]


def test_gateway_info(gateway, runtime):
    gateway.post("/api/states/sensor.a", json={"state": "1"})
    info = gateway.get("/api/ugate/owner/gateway").json()
    assert info["runtime"] == runtime if runtime == "cpython" else info["runtime"].startswith("micropython-")
    assert info["entities"] == 1
    assert info["max_entities"] == (10000 if runtime == "cpython" else 256)
    assert info["uptime"] >= 0
    if runtime == "cpython":
        assert info["memory"]["rss_bytes"] > 1000000
    else:
        assert info["memory"]["heap_free_bytes"] > 0 and info["memory"]["heap_used_bytes"] > 0
    assert gateway.get("/api/ugate/owner/gateway", token=False).status_code == 401


def cli_error(config_dir, text):
    """What `ugate run` prints for config.json `text`."""
    with open(os.path.join(config_dir, "config.json"), "w") as f:
        f.write(text)
    r = run_ugate("run", "--config-dir", config_dir)
    assert r.returncode == 2
    return r.stderr.strip()


def test_config_is_checked_saved_and_the_gateway_restarts(start_gateway, tmp_path):
    gw = start_gateway({"location_name": "before"})
    r = gw.get("/api/ugate/owner/config")
    assert r.json()["text"] == '{"location_name": "before"}'
    # Refused with the words the CLI prints, and the file left alone.
    for text in ('{"limits": {"max_entities": "80"}}', '{"location_name": ', '{"nope": 1}'):
        r = gw.post("/api/ugate/owner/config", json={"text": text})
        assert r.status_code == 400
        expected = cli_error(tmp_path, text).replace(str(tmp_path), gw.config_dir)
        if "JSON" in expected:  # the parser's own words differ between the runtimes
            expected = expected.split(" (")[0]
            assert r.json()["message"].startswith(expected + " (")
        else:
            assert r.json()["message"] == expected
    assert gw.post("/api/ugate/owner/config", json={"txt": "{}"}).status_code == 400
    assert gw.get("/api/config").json()["location_name"] == "before"
    # A valid one is saved, and the gateway starts again with it, same port;
    # a WebSocket client of the gateway before is closed (to reconnect).
    pid = gw.proc.pid
    started = gw.get("/api/ugate/owner/gateway").json()["started_us"]
    ws = connect(gw)
    r = gw.post("/api/ugate/owner/config", json={"text": '{"location_name": "after"}\n'})
    assert r.status_code == 200, r.text

    def renamed():
        try:
            return gw.get("/api/config").json()["location_name"] == "after"
        except httpx.TransportError:
            return False
    assert closed_by_server(ws)
    wait_for(renamed, what="the gateway back with the new config")
    assert gw.proc.pid == pid and gw.proc.poll() is None
    # Another start, as the page tells it from the one that took the restart.
    assert gw.get("/api/ugate/owner/gateway").json()["started_us"] > started
    with open(os.path.join(gw.config_dir, "config.json")) as f:
        assert f.read() == '{"location_name": "after"}\n'
    assert "restarting" in gw.logs()


def test_ban_list_and_unban(start_gateway, tmp_path):
    config_dir = tmp_path / "banned"
    config_dir.mkdir()
    bans = str(config_dir / "ip_bans.yaml")
    with open(bans, "w") as f:
        f.write("\n203.0.113.7:\n  banned_at: '2026-01-01T00:00:00+00:00'\n"
                "\n127.0.0.2:\n  banned_at: '2026-01-02T00:00:00+00:00'\n")
    gw = start_gateway(config_dir=config_dir)
    assert gw.get("/api/ugate/owner/bans").json() == ["127.0.0.2", "203.0.113.7"]
    r = gw.delete("/api/ugate/owner/bans/203.0.113.7")
    assert r.status_code == 200, r.text
    assert gw.get("/api/ugate/owner/bans").json() == ["127.0.0.2"]
    assert gw.delete("/api/ugate/owner/bans/203.0.113.7").status_code == 404
    with open(bans) as f:
        text = f.read()
    assert "203.0.113.7" not in text and "127.0.0.2:\n  banned_at: '2026-01-02T00:00:00+00:00'" in text
    gw.restart()
    assert gw.get("/api/ugate/owner/bans").json() == ["127.0.0.2"]


def test_owner_only_apis_refuse_other_users(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "owner pass")
    create_user(gw, "bob", "user pass")
    bob = sign_in(gw, "bob", "user pass")["access_token"]
    for method, path in (("GET", "/api/ugate/owner/gateway"), ("GET", "/api/ugate/owner/config"),
                         ("POST", "/api/ugate/owner/config"), ("POST", "/api/ugate/owner/restart"),
                         ("GET", "/api/ugate/owner/bans"), ("DELETE", "/api/ugate/owner/bans/10.0.0.1")):
        r = gw.request(method, path, token=bob, json={"text": "{}"} if method == "POST" else None)
        assert r.status_code == 403, (path, r.text)
        assert r.json() == {"message": "Only the owner may do this."}
    assert gw.get("/api/ugate/ports", token=bob).status_code == 200  # status is for every user


def test_change_password_over_websocket(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "old pass")
    tokens = sign_in(gw, "ada", "old pass")
    ws = connect(gw, tokens["access_token"])
    try:
        kind = "config/auth_provider/homeassistant/change_password"
        r = command(ws, {"id": 1, "type": kind, "current_password": "wrong", "new_password": "x"})
        assert r["error"] == {"code": "invalid_current_password", "message": "Invalid current password"}
        r = command(ws, {"id": 2, "type": kind, "current_password": "old pass", "new_password": "new pass"})
        assert r["success"] is True, r
        r = command(ws, {"id": 3, "type": kind, "current_password": "new pass"})
        assert r["success"] is False and r["error"]["code"] == "invalid_format"
    finally:
        ws.close()
    sign_in(gw, "ada", "new pass")
    # A long-lived token of a gateway without users has no password to change.
    gw2 = start_gateway()
    ws = connect(gw2)
    try:
        r = command(ws, {"id": 1, "type": kind, "current_password": "a", "new_password": "b"})
        assert r["error"]["code"] == "credentials_not_found"
    finally:
        ws.close()


def test_hono_consumers_status(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    assert gw.get("/api/ugate/consumers").json() == []
    with Consumer(gw) as app:
        assert device(gw, "POST", "/telemetry").status_code == 202
        app.next()
        [status] = wait_for(lambda: gw.get("/api/ugate/consumers").json())
        assert status["tenant"] == TENANT and status["consumer"] == "hono"
        assert status["name"] == "127.0.0.1" and status["messages"] == 1
        assert status["events_waiting"] == 0 and status["since"].endswith("+00:00")
    wait_for(lambda: gw.get("/api/ugate/consumers").json() == [], what="the consumer gone")
    assert gw.get("/api/ugate/consumers", token=False).status_code == 401


def test_no_consumers_api_without_hono(gateway):
    assert gateway.get("/api/ugate/consumers").status_code == 404


def test_log_lines_as_events(gateway):
    """Each logged line is also a system_log_event (the page's live log),
    with or without a log file."""
    ws = connect(gateway)
    try:
        r = command(ws, {"id": 1, "type": "subscribe_events", "event_type": "system_log_event"})
        assert r["success"] is True
        assert gateway.get("/api/", token="wrong").status_code == 401
        event = recv(ws)["event"]
        data = event["data"]
        assert event["event_type"] == "system_log_event"
        assert data["level"] == "WARNING" and data["name"] == "ugate.http.ban"
        assert data["message"][0].startswith("Login attempt or request with invalid authentication from 127.0.0.1")
        assert abs(data["timestamp"] - time.time()) < 60 and data["count"] == 1
    finally:
        ws.close()
