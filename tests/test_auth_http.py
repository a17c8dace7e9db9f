"""Home Assistant's sign-in over plain HTTP on both runtimes: onboarding,
/auth/providers, the login flow, /auth/token and /auth/revoke, with Home
Assistant's status codes and bodies (ha-api.md 6.2, 6.5), and the tokens it
issues working wherever a long-lived token does."""
import base64
import hashlib
import json
import os
import stat
import time

import httpx

from conftest import run_ugate
from auth_client import (ANDROID, APP_CALLBACK, IOS, code_for, create_user, sign_in, start_flow,
                         step, token_request)
from sse_client import EventStream
from ws_client import command, connect


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_onboarding_creates_the_owner_once(start_gateway):
    gw = start_gateway()
    r = gw.get("/auth/providers", token=False)
    assert r.status_code == 400
    assert r.json() == {"message": "Onboarding not finished", "code": "onboarding_required"}
    assert gw.get("/api/onboarding", token=False).json() == [{"step": "user", "done": False}]

    r = gw.post("/api/onboarding/users", token=False,
                json={"name": "Ada", "username": "ada", "password": "pw", "client_id": ANDROID})
    assert r.status_code == 400
    assert r.json() == {"message": "Message format incorrect: required key not provided @ data['language']"}
    assert gw.post("/api/onboarding/users", token=False, content=b"{").json() == {"message": "Invalid JSON."}

    owner = {"name": "Ada", "username": "Ada", "password": "correct horse", "client_id": ANDROID,
             "language": "en"}
    r = gw.post("/api/onboarding/users", token=False, json=owner)
    assert r.status_code == 200, r.text
    code = r.json()["auth_code"]
    tokens = token_request(gw, grant_type="authorization_code", client_id=ANDROID, code=code).json()
    assert gw.get("/api/", token=tokens["access_token"]).json() == {"message": "API running."}

    r = gw.post("/api/onboarding/users", token=False, json=dict(owner, username="eve"))
    assert r.status_code == 403 and r.json() == {"message": "User step already done"}
    assert gw.get("/api/onboarding", token=False).json() == [{"step": "user", "done": True}]
    r = gw.get("/auth/providers", token=False)
    assert r.status_code == 200
    assert r.json() == {"providers": [{"name": "Home Assistant Local", "id": None, "type": "homeassistant"}],
                        "preselect_remember_me": True}  # a loopback client
    users = json.load(open(os.path.join(gw.config_dir, "users.json")))["users"]
    assert [(u["username"], u["is_owner"]) for u in users] == [("ada", True)]
    assert "correct horse" not in json.dumps(users)
    assert stat.S_IMODE(os.stat(os.path.join(gw.config_dir, "users.json")).st_mode) == 0o600


def test_metadata_and_page(gateway):
    r = gateway.get("/.well-known/oauth-authorization-server", token=False)
    assert r.json() == {"authorization_endpoint": "/auth/authorize", "token_endpoint": "/auth/token",
                        "revocation_endpoint": "/auth/revoke", "response_types_supported": ["code"],
                        "service_documentation": "https://developers.home-assistant.io/docs/auth_api"}
    r = gateway.get("/auth/authorize?response_type=code&client_id=x&redirect_uri=y", token=False)
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'sha256-" in csp
    assert r.headers["x-frame-options"] == "SAMEORIGIN" and r.headers["referrer-policy"] == "no-referrer"
    assert '<input id="username"' in r.text and 'type="password"' in r.text
    assert "://" not in r.text  # nothing loaded from elsewhere
    assert int(r.headers["content-length"]) == len(r.content)
    # The policy allows the page's own script and style, by their hashes.
    for tag in ("script", "style"):
        inline = r.content.split("<{}>".format(tag).encode())[1].split("</{}>".format(tag).encode())[0]
        digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
        assert "{}-src 'sha256-{}'".format(tag, digest) in csp, "the page changed: its {} hash is {}".format(
            tag, digest)


def test_login_flow_answers(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")

    def flow(body):
        return gw.post("/auth/login_flow", token=False, json=body)

    ok = {"client_id": ANDROID, "handler": ["homeassistant", None], "redirect_uri": APP_CALLBACK}
    r = flow(ok)
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "form" and body["step_id"] == "init" and body["errors"] == {}
    assert body["handler"] == ["homeassistant", None] and len(body["flow_id"]) == 32
    assert [f["name"] for f in body["data_schema"]] == ["username", "password"]
    r = gw.post("/auth/login_flow", token=False, content=b"not json")
    assert (r.status_code, r.json()) == (400, {"message": "Invalid JSON."})
    r = flow({"handler": ["homeassistant", None], "redirect_uri": APP_CALLBACK})
    assert (r.status_code, r.json()) == (
        400, {"message": "Message format incorrect: required key not provided @ data['client_id']"})
    r = flow(dict(ok, extra=1))
    assert r.json() == {"message": "Message format incorrect: extra keys not allowed @ data['extra']"}
    for bad in ("ftp://example.com/", "https://example.com/#x", "https://user:pw@example.com/",
                "https://example.com/a/../b", "https://8.8.8.8/", "https://example.com:99999/", "example"):
        r = flow(dict(ok, client_id=bad))
        assert (r.status_code, r.json()) == (400, {"message": "Invalid client id"}), bad
    for good in ("http://192.168.1.5:8123/", "https://example.com", "http://[::1]/", "http://10.0.0.1/x"):
        assert flow(dict(ok, client_id=good, redirect_uri=good)).status_code == 200, good
    r = flow(dict(ok, handler=["insecure_example", None]))
    assert (r.status_code, r.json()) == (404, {"message": "Invalid handler specified"})

    flow_id = start_flow(gw)
    assert gw.get("/auth/login_flow/" + flow_id, token=False).json() == {"message": "Invalid flow specified"}
    r = gw.post("/auth/login_flow/" + flow_id, token=False, json={"username": "ada", "password": "pw"})
    assert r.json() == {"message": "Message format incorrect: required key not provided @ data['client_id']"}
    r = step(gw, flow_id, "ada", "pw", client_id="https://8.8.8.8/")
    assert (r.status_code, r.json()) == (400, {"message": "Invalid client id"})
    r = gw.post("/auth/login_flow/" + flow_id, token=False, json={"client_id": ANDROID, "username": "ada"})
    assert (r.status_code, r.json()) == (400, {"message": "User input malformed"})
    r = step(gw, "0" * 32, "ada", "pw")
    assert (r.status_code, r.json()) == (404, {"message": "Invalid flow specified"})
    r = step(gw, flow_id, "ada", "wrong")
    assert r.status_code == 200 and r.json()["type"] == "form"
    assert r.json()["errors"] == {"base": "invalid_auth"} and r.json()["flow_id"] == flow_id
    r = step(gw, flow_id, "nobody", "pw")
    assert r.json()["errors"] == {"base": "invalid_auth"}
    r = step(gw, flow_id, " ADA ", "pw")  # the same flow, retried; usernames ignore case
    assert r.status_code == 200
    entry = r.json()
    assert entry["type"] == "create_entry" and entry["flow_id"] == flow_id and entry["title"] == "ada"
    assert len(entry["result"]) == 32
    assert step(gw, flow_id, "ada", "pw").status_code == 404  # a finished flow is gone

    flow_id = start_flow(gw)
    assert gw.delete("/auth/login_flow/" + flow_id, token=False).json() == {"message": "Flow aborted"}
    r = gw.delete("/auth/login_flow/" + flow_id, token=False)
    assert (r.status_code, r.json()) == (404, {"message": "Invalid flow specified"})
    r = gw.get("/auth/login_flow", token=False)
    assert r.status_code == 405


def test_redirect_uri_rules(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    allowed = [(ANDROID, APP_CALLBACK), (IOS, APP_CALLBACK),
               (ANDROID, "https://wear.googleapis.com/3p_auth/io.homeassistant.companion.android"),
               (ANDROID, "https://wear.googleapis-cn.com/3p_auth/io.homeassistant.companion.android"),
               ("https://example.com/app/", "https://EXAMPLE.com/callback?x=1"),
               ("http://192.168.1.5:8123/", "http://192.168.1.5:8123/?auth_callback=1")]
    for client_id, redirect_uri in allowed:
        assert code_for(gw, "ada", "pw", client_id, redirect_uri), (client_id, redirect_uri)
    refused = [(IOS, "https://wear.googleapis.com/3p_auth/io.homeassistant.companion.android"),
               (ANDROID, "homeassistant://other"),
               ("https://example.com/", "https://evil.example.net/callback"),
               ("https://example.com/", "http://example.com/callback"),
               ("http://192.168.1.5:8123/", "http://192.168.1.5:8124/")]
    for client_id, redirect_uri in refused:
        # Home Assistant lets the flow start and refuses at the credentials step.
        r = step(gw, start_flow(gw, client_id, redirect_uri), "ada", "pw", client_id)
        assert (r.status_code, r.json()) == (403, {"message": "Invalid redirect URI"}), redirect_uri


def test_a_flow_belongs_to_the_address_that_started_it(start_gateway):
    gw = start_gateway({"use_x_forwarded_for": True, "trusted_proxies": ["127.0.0.1"]})
    create_user(gw, "ada", "pw")
    flow_id = start_flow(gw, headers={"X-Forwarded-For": "10.0.0.1"})
    r = step(gw, flow_id, "ada", "pw", headers={"X-Forwarded-For": "10.0.0.2"})
    assert (r.status_code, r.json()) == (400, {"message": "IP address changed"})
    r = step(gw, flow_id, "ada", "pw", headers={"X-Forwarded-For": "10.0.0.1"})
    assert r.json()["type"] == "create_entry"
    # /auth/providers preselects "keep me signed in" for local clients only.
    r = gw.get("/auth/providers", token=False, headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.json()["preselect_remember_me"] is False


def test_wrong_passwords_and_bad_token_requests_count_toward_the_ban(start_gateway):
    gw = start_gateway({"login_attempts_threshold": 3})
    create_user(gw, "ada", "pw")
    flow_id = start_flow(gw)
    assert step(gw, flow_id, "ada", "wrong").json()["errors"] == {"base": "invalid_auth"}
    assert token_request(gw, grant_type="password").status_code == 400
    assert step(gw, flow_id, "ada", "wrong again").json()["errors"] == {"base": "invalid_auth"}
    # The third failure banned the address: everything is 403 now, even a right password.
    assert step(gw, flow_id, "ada", "pw").status_code == 403
    assert gw.get("/api/").status_code == 403
    assert "Login attempt or request with invalid authentication" in gw.logs()
    assert "wrong again" not in gw.logs()  # no password is logged


def test_a_successful_sign_in_resets_the_count(start_gateway):
    gw = start_gateway({"login_attempts_threshold": 2})
    create_user(gw, "ada", "pw")
    for _ in range(3):
        flow_id = start_flow(gw)
        assert step(gw, flow_id, "ada", "wrong").json()["errors"] == {"base": "invalid_auth"}
        assert step(gw, flow_id, "ada", "pw").json()["type"] == "create_entry"
    assert gw.get("/api/").status_code == 200


def test_token_endpoint_answers(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")

    def error(r):
        return r.status_code, r.json()

    assert error(token_request(gw, grant_type="password")) == (400, {"error": "unsupported_grant_type"})
    assert error(token_request(gw)) == (400, {"error": "unsupported_grant_type"})
    code = code_for(gw, "ada", "pw")
    assert error(token_request(gw, grant_type="authorization_code", code=code)) == (
        400, {"error": "invalid_request", "error_description": "Invalid client id"})
    assert error(token_request(gw, grant_type="authorization_code", client_id=ANDROID)) == (
        400, {"error": "invalid_request", "error_description": "Invalid code"})
    # A code is bound to its client_id; shown with another one it is refused and stays valid.
    assert error(token_request(gw, grant_type="authorization_code", client_id=IOS, code=code)) == (
        400, {"error": "invalid_request", "error_description": "Invalid code"})
    r = token_request(gw, grant_type="authorization_code", client_id=ANDROID, code=code)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    tokens = r.json()
    assert list(tokens) == ["access_token", "token_type", "refresh_token", "expires_in", "ha_auth_provider"]
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1800
    assert tokens["ha_auth_provider"] == "homeassistant"
    # Single use.
    assert error(token_request(gw, grant_type="authorization_code", client_id=ANDROID, code=code)) == (
        400, {"error": "invalid_request", "error_description": "Invalid code"})

    refresh = tokens["refresh_token"]
    assert error(token_request(gw, grant_type="refresh_token", client_id=ANDROID)) == (
        400, {"error": "invalid_request"})
    assert error(token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token="x" * 64)) \
        == (400, {"error": "invalid_grant"})
    assert error(token_request(gw, grant_type="refresh_token", client_id=IOS, refresh_token=refresh)) == (
        400, {"error": "invalid_request"})
    assert error(token_request(gw, grant_type="refresh_token", client_id="ftp://x/", refresh_token=refresh)) \
        == (400, {"error": "invalid_request", "error_description": "Invalid client id"})
    r = token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=refresh)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert list(r.json()) == ["access_token", "token_type", "expires_in"]
    fresh = r.json()["access_token"]
    for access in (tokens["access_token"], fresh):  # both valid until they expire
        assert gw.get("/api/", token=access).status_code == 200

    # Revocation: /auth/revoke always answers 200; the refresh token and its
    # access tokens end.
    with httpx.Client(timeout=10) as client:
        assert client.post(gw.url("/auth/revoke"), data={"token": "unknown"}).status_code == 200
        assert client.post(gw.url("/auth/revoke"), data={}).status_code == 200
        r = client.post(gw.url("/auth/revoke"), data={"token": refresh})
        assert r.status_code == 200 and r.content == b""
    for access in (tokens["access_token"], fresh):
        assert gw.get("/api/", token=access).status_code == 401
    assert error(token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=refresh)) \
        == (400, {"error": "invalid_grant"})

    # The iOS app still revokes with action=revoke at /auth/token.
    ios = sign_in(gw, "ada", "pw", IOS)
    r = token_request(gw, token=ios["refresh_token"], action="revoke")
    assert r.status_code == 200
    assert gw.get("/api/", token=ios["access_token"]).status_code == 401

    # A code of a user removed meanwhile: access_denied.
    create_user(gw, "bob", "pw2")
    code = code_for(gw, "bob", "pw2")
    assert run_ugate("user", "remove", "bob", "--config-dir", gw.config_dir).returncode == 0
    assert error(token_request(gw, grant_type="authorization_code", client_id=ANDROID, code=code)) == (
        403, {"error": "access_denied", "error_description": "User is not active"})


def test_tokens_are_stored_hashed_and_survive_a_restart(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    tokens = sign_in(gw, "ada", "pw")
    path = os.path.join(gw.config_dir, "refresh_tokens.json")
    text = open(path).read()
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    gw.restart()
    assert gw.get("/api/", token=tokens["access_token"]).status_code == 200
    r = token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=tokens["refresh_token"])
    assert r.status_code == 200


def test_access_tokens_expire(start_gateway):
    gw = start_gateway({"auth": {"access_token_lifetime": 2}})
    create_user(gw, "ada", "pw")
    tokens = sign_in(gw, "ada", "pw")
    assert tokens["expires_in"] == 2
    assert gw.get("/api/", token=tokens["access_token"]).status_code == 200
    time.sleep(2.5)
    assert gw.get("/api/", token=tokens["access_token"]).status_code == 401
    r = token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=tokens["refresh_token"])
    assert gw.get("/api/", token=r.json()["access_token"]).status_code == 200


def test_an_access_token_works_wherever_a_long_lived_one_does(start_gateway):
    gw = start_gateway({"hono": {}})
    create_user(gw, "ada", "pw")
    access = sign_in(gw, "ada", "pw")["access_token"]
    h = bearer(access)
    r = gw.post("/api/states/sensor.oauth", token=access, json={"state": "1"})
    assert r.status_code == 201
    user_id = r.json()["context"]["user_id"]
    owner = json.load(open(os.path.join(gw.config_dir, "users.json")))["users"][0]
    assert user_id == owner["id"]
    r = gw.post("/api/services/persistent_notification/create", token=access, json={"message": "hi"})
    assert r.status_code == 200
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", gw.url("/api/stream"), headers=h) as sse:
            assert sse.status_code == 200
        with client.stream("GET", gw.url("/api/hono/DEFAULT_TENANT/messages"), headers=h) as hono:
            assert hono.status_code == 200
    ws = connect(gw, access)
    assert command(ws, {"id": 1, "type": "ping"})["type"] == "pong"
    ws.close()
    with EventStream(gw) as sse:
        assert sse.frame() == "ping"
