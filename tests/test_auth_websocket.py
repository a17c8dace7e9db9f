"""The WebSocket commands of Home Assistant's profile page on both runtimes:
auth/current_user, auth/long_lived_access_token, auth/refresh_tokens and
auth/delete_refresh_token; and the unmodified client libraries (hass-client,
homeassistant-api) with an OAuth2 access token."""
import asyncio

from homeassistant_api import Client

from auth_client import ANDROID, create_user, sign_in, token_request
from conftest import run_ugate
from ws_client import closed_by_server, command, connect, ws_url


def result(ws, msg):
    answer = command(ws, msg)
    assert answer["id"] == msg["id"] and answer["type"] == "result", answer
    return answer


def test_current_user(start_gateway):
    gw = start_gateway()
    # Nobody has a password yet: a long-lived token is the owner's.
    me = result(connect(gw), {"id": 1, "type": "auth/current_user"})["result"]
    assert me["name"] == "Owner" and me["is_owner"] is True and me["is_admin"] is True
    assert me["credentials"] == [] and me["mfa_modules"] == []
    owner_id = me["id"]

    create_user(gw, "ada", "pw", "--name", "Ada Lovelace")
    create_user(gw, "bob", "pw2")
    for token in (gw.token, sign_in(gw, "ada", "pw")["access_token"]):
        me = result(connect(gw, token), {"id": 1, "type": "auth/current_user"})["result"]
        assert me == {"id": owner_id, "name": "Ada Lovelace", "is_owner": True, "is_admin": True,
                      "credentials": [{"auth_provider_type": "homeassistant", "auth_provider_id": None}],
                      "mfa_modules": []}
    me = result(connect(gw, sign_in(gw, "bob", "pw2")["access_token"]),
                {"id": 1, "type": "auth/current_user"})["result"]
    assert me["name"] == "bob" and me["is_owner"] is False and me["id"] != owner_id


def test_profile_token_management(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    tokens = sign_in(gw, "ada", "pw")
    ws = connect(gw, tokens["access_token"])

    made = result(ws, {"id": 1, "type": "auth/long_lived_access_token", "client_name": "laptop",
                       "lifespan": 365})
    assert made["success"] is True and len(made["result"]) == 64
    long_lived = made["result"]
    assert gw.get("/api/", token=long_lived).status_code == 200
    again = result(ws, {"id": 2, "type": "auth/long_lived_access_token", "client_name": "laptop",
                        "lifespan": 365})
    assert again["success"] is False and again["error"]["code"] == "unknown_error"
    assert "laptop" in again["error"]["message"]
    bad = result(ws, {"id": 3, "type": "auth/long_lived_access_token", "client_name": "x"})
    assert bad["error"] == {"code": "invalid_format",
                            "message": "required key not provided @ data['lifespan']"}
    listed = run_ugate("token", "list", "--config-dir", gw.config_dir).stdout
    assert "laptop" in listed and long_lived not in listed

    listing = result(ws, {"id": 4, "type": "auth/refresh_tokens"})["result"]
    text = str(listing)
    assert long_lived not in text and tokens["refresh_token"] not in text and tokens["access_token"] not in text
    by_type = {t["type"]: t for t in listing if t["client_name"] == "laptop" or t["type"] == "normal"}
    normal = by_type["normal"]
    assert normal["client_id"] == ANDROID and normal["is_current"] is True
    assert normal["last_used_ip"] == "127.0.0.1" and normal["expire_at"]
    llat = by_type["long_lived_access_token"]
    assert llat["client_name"] == "laptop" and llat["is_current"] is False and llat["expire_at"]
    assert set(normal) == {"id", "client_id", "client_name", "client_icon", "type", "created_at",
                           "is_current", "last_used_at", "last_used_ip", "expire_at"}

    missing = result(ws, {"id": 5, "type": "auth/delete_refresh_token", "refresh_token_id": "nope"})
    assert missing["error"] == {"code": "invalid_token_id", "message": "Received invalid token"}
    gone = result(ws, {"id": 6, "type": "auth/delete_refresh_token", "refresh_token_id": llat["id"]})
    assert gone["success"] is True and gone["result"] == {}
    assert gw.get("/api/", token=long_lived).status_code == 401
    assert "laptop" not in run_ugate("token", "list", "--config-dir", gw.config_dir).stdout

    # Deleting the connection's own refresh token answers, then closes it.
    own = result(ws, {"id": 7, "type": "auth/delete_refresh_token", "refresh_token_id": normal["id"]})
    assert own["success"] is True
    assert closed_by_server(ws, timeout=5)
    assert gw.get("/api/", token=tokens["access_token"]).status_code == 401
    r = token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=tokens["refresh_token"])
    assert r.json() == {"error": "invalid_grant"}


def test_a_user_sees_and_deletes_only_their_own_tokens(start_gateway):
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    create_user(gw, "bob", "pw2")
    ada = connect(gw, sign_in(gw, "ada", "pw")["access_token"])
    bob = connect(gw, sign_in(gw, "bob", "pw2")["access_token"])
    adas = result(ada, {"id": 1, "type": "auth/refresh_tokens"})["result"]
    # The owner's tokens include the long-lived ones made with `ugate token create`.
    assert {t["type"] for t in adas} == {"normal", "long_lived_access_token"}
    bobs = result(bob, {"id": 1, "type": "auth/refresh_tokens"})["result"]
    assert [t["type"] for t in bobs] == ["normal"]
    for token in adas:
        r = result(bob, {"id": 2 + adas.index(token), "type": "auth/delete_refresh_token",
                         "refresh_token_id": token["id"]})
        assert r["error"]["code"] == "invalid_token_id"
    assert gw.get("/api/").status_code == 200


def test_unmodified_client_libraries_work_with_oauth2_tokens(start_gateway):
    from hass_client import HomeAssistantClient
    gw = start_gateway()
    create_user(gw, "ada", "pw")
    access = sign_in(gw, "ada", "pw")["access_token"]

    with Client(gw.url("/api/"), access) as ha:
        assert ha.check_api_running()
        assert ha.get_config()["state"] == "RUNNING"

    async def websocket_client():
        async with HomeAssistantClient(ws_url(gw), access) as client:
            return await client.send_command("auth/current_user")

    me = asyncio.run(websocket_client())
    assert me["name"] == "ada" and me["is_owner"] is True
