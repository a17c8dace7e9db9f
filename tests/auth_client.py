"""A companion-app-like client of ugate's sign-in (users, the login flow,
/auth/token), for the tests of the auth API."""
import httpx

from conftest import run_ugate

ANDROID = "https://home-assistant.io/android"
IOS = "https://home-assistant.io/iOS"
APP_CALLBACK = "homeassistant://auth-callback"


def create_user(gw, username, password, *extra):
    """`ugate user create` with the password on stdin."""
    r = run_ugate("user", "create", username, *extra, "--config-dir", gw.config_dir, input=password + "\n")
    assert r.returncode == 0, r.stderr
    return r


def start_flow(gw, client_id=ANDROID, redirect_uri=APP_CALLBACK, headers=None):
    r = gw.post("/auth/login_flow", token=False, headers=headers,
                json={"client_id": client_id, "handler": ["homeassistant", None],
                      "redirect_uri": redirect_uri, "type": "authorize"})
    assert r.status_code == 200, r.text
    return r.json()["flow_id"]


def step(gw, flow_id, username, password, client_id=ANDROID, headers=None):
    return gw.post("/auth/login_flow/" + flow_id, token=False, headers=headers,
                   json={"client_id": client_id, "username": username, "password": password})


def code_for(gw, username, password, client_id=ANDROID, redirect_uri=APP_CALLBACK):
    r = step(gw, start_flow(gw, client_id, redirect_uri), username, password, client_id)
    assert r.status_code == 200 and r.json()["type"] == "create_entry", r.text
    return r.json()["result"]


def token_request(gw, **form):
    with httpx.Client(timeout=10) as client:
        return client.post(gw.url("/auth/token"), data=form)


def sign_in(gw, username, password, client_id=ANDROID):
    """{"access_token", "refresh_token", ...} as /auth/token answers a code."""
    r = token_request(gw, grant_type="authorization_code", client_id=client_id,
                      code=code_for(gw, username, password, client_id))
    assert r.status_code == 200, r.text
    return r.json()
