"""Home Assistant's WebSocket API (ha-api.md section 3) over real sockets on
both runtimes, with an ordinary client (websocket-client) and an unmodified
Home Assistant client library from PyPI (hass-client)."""
import asyncio
import json
import socket
import ssl
import time
from datetime import datetime

import pytest
import trustme
import websocket
from websocket import ABNF

from conftest import wait_for
from ugate.hub.tokens import TokenStore
from ws_client import closed_by_server, command, connect, open_socket, recv, send, ws_url


def listener_counts(gateway):
    return {e["event"]: e["listener_count"] for e in gateway.get("/api/events").json()}


def epoch(iso):
    return datetime.fromisoformat(iso).timestamp()


# -- handshake ---------------------------------------------------------------

def test_handshake_reports_the_home_assistant_version(gateway):
    ws = open_socket(gateway)
    version = gateway.get("/api/config").json()["version"]
    hello = ws.recv()
    assert json.loads(hello) == {"type": "auth_required", "ha_version": version}
    assert list(json.loads(hello)) == ["type", "ha_version"]
    send(ws, {"type": "auth", "access_token": gateway.token})
    assert recv(ws) == {"type": "auth_ok", "ha_version": version}
    assert command(ws, {"id": 1, "type": "ping"}) == {"id": 1, "type": "pong"}
    ws.close()


def test_invalid_token_is_refused_closed_and_counted_for_the_ban(start_gateway):
    gw = start_gateway({"ip_ban_enabled": True, "login_attempts_threshold": 2})

    def login(token):
        ws = open_socket(gw)
        recv(ws)
        send(ws, {"type": "auth", "access_token": token})
        answer = recv(ws)
        if answer["type"] == "auth_invalid":
            assert closed_by_server(ws)
        ws.close()
        return answer

    assert login("not-a-token") == {"type": "auth_invalid",
                                    "message": "Invalid access token or password"}
    # A good login in between resets the count (ha-api.md 2.3).
    assert login(gw.token)["type"] == "auth_ok"
    assert login("not-a-token")["type"] == "auth_invalid"
    assert gw.get("/api/").status_code == 200
    # The second failure in a row bans the address.
    assert login("still-not-a-token")["type"] == "auth_invalid"
    assert gw.get("/api/").status_code == 403
    assert gw.token not in gw.logs()


@pytest.mark.parametrize("message, problem", [
    ({"type": "auth"}, None),
    ({"access_token": "x"}, "required key not provided @ data['type']"),
    ({"type": "login", "access_token": "x"}, "data['type']"),
    ({"type": "auth", "access_token": 42},
     "expected str for dictionary value @ data['access_token']"),
    ({"type": "auth", "access_token": "x", "extra": 1}, "extra keys not allowed @ data['extra']"),
    ([{"type": "auth"}], "expected a dictionary"),
])
def test_malformed_auth_message_is_refused_without_counting_as_a_login(start_gateway, message,
                                                                       problem):
    gw = start_gateway({"ip_ban_enabled": True, "login_attempts_threshold": 1})
    ws = open_socket(gw)
    recv(ws)
    send(ws, message)
    answer = recv(ws)
    assert answer["type"] == "auth_invalid"
    assert closed_by_server(ws)
    if problem is None:  # well formed, but no token at all: a failed login
        assert answer["message"] == "Invalid access token or password"
        assert gw.get("/api/").status_code == 403
    else:
        assert answer["message"].startswith("Auth message incorrectly formatted: ")
        assert problem in answer["message"]
        assert gw.get("/api/").status_code == 200


def test_invalid_json_a_binary_frame_or_a_huge_message_before_auth_closes(gateway):
    too_big = json.dumps({"type": "auth", "access_token": "x" * 5000})
    for frame, opcode in [("{not json", ABNF.OPCODE_TEXT), (b"\x00\x01", ABNF.OPCODE_BINARY),
                          (too_big, ABNF.OPCODE_TEXT)]:
        ws = open_socket(gateway)
        recv(ws)
        ws.send(frame, opcode)
        assert closed_by_server(ws)
    assert command(connect(gateway), {"id": 1, "type": "ping"})["type"] == "pong"


def test_client_that_does_not_authenticate_is_closed_after_10_seconds(gateway):
    ws = open_socket(gateway)
    started = time.time()
    recv(ws)
    assert closed_by_server(ws, timeout=20)
    assert time.time() - started >= 9
    assert gateway.get("/api/").status_code == 200


def test_plain_get_without_upgrade_is_a_bad_request(gateway):
    assert gateway.get("/api/websocket").status_code == 400


# -- message rules -----------------------------------------------------------

def test_ids_must_increase_and_messages_be_well_formed(gateway):
    ws = connect(gateway)
    assert command(ws, {"id": 5, "type": "ping"}) == {"id": 5, "type": "pong"}
    reuse = {"id": 5, "type": "result", "success": False,
             "error": {"code": "id_reuse", "message": "Identifier values have to increase."}}
    assert command(ws, {"id": 5, "type": "ping"}) == reuse
    assert command(ws, {"id": 3, "type": "ping"})["error"]["code"] == "id_reuse"

    def invalid(msg_id):
        return {"id": msg_id, "type": "result", "success": False,
                "error": {"code": "invalid_format", "message": "Message incorrectly formatted."}}

    assert command(ws, {"type": "ping"}) == invalid(None)
    assert command(ws, {"id": 0, "type": "ping"}) == invalid(0)
    assert command(ws, {"id": "6", "type": "ping"}) == invalid("6")
    assert command(ws, {"id": True, "type": "ping"}) == invalid(True)
    assert command(ws, {"id": 6}) == invalid(6)
    assert command(ws, {"id": 6, "type": 7}) == invalid(6)
    assert command(ws, 42) == invalid(0)
    # An unknown command does not use up its id (as in Home Assistant).
    unknown = command(ws, {"id": 6, "type": "no_such_command"})
    assert unknown == {"id": 6, "type": "result", "success": False,
                       "error": {"code": "unknown_command", "message": "Unknown command."}}
    assert command(ws, {"id": 6, "type": "ping"}) == {"id": 6, "type": "pong"}
    ws.close()


def test_a_frame_may_carry_an_array_of_messages(gateway):
    ws = connect(gateway)
    send(ws, [{"id": 1, "type": "ping"}, {"id": 2, "type": "get_states"},
              {"id": 2, "type": "ping"}, "junk", {"id": 3, "type": "ping"}])
    assert recv(ws) == {"id": 1, "type": "pong"}
    assert recv(ws)["id"] == 2
    assert recv(ws)["error"]["code"] == "id_reuse"
    assert recv(ws)["error"]["code"] == "invalid_format"
    assert recv(ws) == {"id": 3, "type": "pong"}
    ws.close()


def test_a_client_that_sends_many_commands_at_once_gets_every_answer(gateway):
    big = {"blob": "x" * 4000}
    for i in range(4):
        gateway.post("/api/states/sensor.big_{}".format(i), json={"state": "1", "attributes": big})
    ws = connect(gateway)
    # Many more answers than a client's queue holds (256): the gateway takes
    # the commands at the pace the client reads, it does not drop it.
    for start in range(1, 1001, 250):  # frames under a board's 16 KiB message limit
        send(ws, [{"id": i, "type": "get_states" if i % 2 else "ping"}
                  for i in range(start, start + 250)])
    answers = [recv(ws) for _ in range(1000)]
    assert [a["id"] for a in answers] == list(range(1, 1001))
    assert all(len(a["result"]) == 4 for a in answers[::2])
    ws.close()


def test_invalid_json_after_auth_closes_and_frames_are_read_robustly(gateway):
    ws = connect(gateway)
    # A text message in three fragments, with a ping in the middle.
    ws.send_frame(ABNF(0, 0, 0, 0, ABNF.OPCODE_TEXT, 1, b'{"id": 1,'))
    ws.send_frame(ABNF(1, 0, 0, 0, ABNF.OPCODE_PING, 1, b"hi"))
    ws.send_frame(ABNF(0, 0, 0, 0, ABNF.OPCODE_CONT, 1, b' "type": '))
    ws.send_frame(ABNF(1, 0, 0, 0, ABNF.OPCODE_CONT, 1, b'"ping"}'))
    pong = ws.recv_frame()
    assert pong.opcode == ABNF.OPCODE_PONG and pong.data == b"hi"
    assert recv(ws) == {"id": 1, "type": "pong"}
    # The frame header sent one byte at a time.
    frame = ABNF.create_frame(json.dumps({"id": 2, "type": "ping"}), ABNF.OPCODE_TEXT).format()
    for i in range(len(frame)):
        ws.sock.send(frame[i:i + 1])
        time.sleep(0.001)
    assert recv(ws) == {"id": 2, "type": "pong"}
    # Binary messages are not commands; they are ignored.
    ws.send_binary(b"\x01abc")
    assert command(ws, {"id": 3, "type": "ping"}) == {"id": 3, "type": "pong"}
    ws.send("{not json")
    assert closed_by_server(ws)


def test_a_message_over_the_size_limit_closes_the_connection(start_gateway):
    # A message may be as large as a request body.
    gateway = start_gateway({"limits": {"max_body_bytes": 65536}})
    ws = connect(gateway)
    answer = command(ws, {"id": 1, "type": "fire_event", "event_type": "big",
                          "event_data": {"x": "y" * 60000}})
    assert answer["success"] is True
    send(ws, {"id": 2, "type": "fire_event", "event_type": "big",
              "event_data": {"x": "y" * 70000}})
    assert closed_by_server(ws)
    # The limit holds for a message sent in fragments too.
    ws = connect(gateway)
    ws.send_frame(ABNF(0, 0, 0, 0, ABNF.OPCODE_TEXT, 1, b'{"id": 1, "x": "' + b"y" * 40000))
    ws.send_frame(ABNF(1, 0, 0, 0, ABNF.OPCODE_CONT, 1, b"y" * 40000 + b'"}'))
    assert closed_by_server(ws)
    assert command(connect(gateway), {"id": 1, "type": "ping"})["type"] == "pong"


def test_revoked_token_is_unauthorized_and_disconnected(gateway):
    # The gateway notices auth.json changes by its mtime, in whole seconds.
    tokens = TokenStore(gateway.config_dir)
    time.sleep(1.1)
    token = tokens.create("websocket-revoke")
    ws = connect(gateway, token)
    assert command(ws, {"id": 1, "type": "ping"})["type"] == "pong"
    time.sleep(1.1)
    tokens.revoke("websocket-revoke")
    # The gateway notices within Auth.recheck_interval (2 s) and closes the
    # connection; a command that comes first is refused.
    try:
        answer = command(ws, {"id": 2, "type": "ping"})
    except (ValueError, websocket.WebSocketConnectionClosedException, ConnectionError):
        answer = "closed"
    assert answer in ("closed", {"id": 2, "type": "result", "success": False,
                                 "error": {"code": "unauthorized", "message": "Unauthorized"}})
    assert closed_by_server(ws)


def test_revoked_token_closes_an_idle_connection(gateway):
    tokens = TokenStore(gateway.config_dir)
    token = tokens.create("websocket-idle")
    ws = connect(gateway, token)
    time.sleep(1.1)
    tokens.revoke("websocket-idle")
    assert closed_by_server(ws, timeout=8)


# -- commands ----------------------------------------------------------------

def test_get_states_config_and_services_match_the_rest_api(gateway):
    gateway.post("/api/states/sensor.kitchen", json={"state": "21.5",
                                                     "attributes": {"unit_of_measurement": "°C"}})
    ws = connect(gateway)
    states = command(ws, {"id": 1, "type": "get_states"})
    assert states["type"] == "result" and states["success"] is True
    assert list(states) == ["id", "type", "success", "result"]
    assert states["result"] == gateway.get("/api/states").json()
    assert "sensor.kitchen" in [s["entity_id"] for s in states["result"]]

    config = command(ws, {"id": 2, "type": "get_config"})["result"]
    assert config == gateway.get("/api/config").json()
    assert "websocket_api" in config["components"]
    assert "websocket_api" in gateway.get("/api/components").json()

    services = command(ws, {"id": 3, "type": "get_services"})["result"]
    rest = gateway.get("/api/services").json()
    assert services == {d["domain"]: d["services"] for d in rest}
    assert "message" in services["persistent_notification"]["create"]["fields"]
    ws.close()


def test_subscribe_events_delivers_rest_events_until_unsubscribed(gateway):
    ws = connect(gateway)
    assert command(ws, {"id": 1, "type": "subscribe_events", "event_type": "door_opened"}) == {
        "id": 1, "type": "result", "success": True, "result": None}
    gateway.post("/api/events/other_event", json={"x": 1})
    gateway.post("/api/events/door_opened", json={"door": "front"})
    message = recv(ws)
    assert list(message) == ["id", "type", "event"]
    assert message["id"] == 1 and message["type"] == "event"
    event = message["event"]
    assert list(event) == ["event_type", "data", "origin", "time_fired", "context"]
    assert event["event_type"] == "door_opened" and event["data"] == {"door": "front"}
    assert event["origin"] == "REMOTE" and len(event["context"]["id"]) == 26

    # Without event_type: every event, state changes included.
    assert command(ws, {"id": 2, "type": "subscribe_events"})["success"] is True
    gateway.post("/api/states/sensor.hall", json={"state": "on"})
    message = recv(ws)
    assert message["id"] == 2 and message["event"]["event_type"] == "state_changed"
    assert message["event"]["data"]["new_state"]["state"] == "on"

    assert command(ws, {"id": 3, "type": "unsubscribe_events", "subscription": 1}) == {
        "id": 3, "type": "result", "success": True, "result": None}
    assert command(ws, {"id": 4, "type": "unsubscribe_events", "subscription": 2})["success"]
    gateway.post("/api/events/door_opened", json={"door": "back"})
    assert command(ws, {"id": 5, "type": "ping"}) == {"id": 5, "type": "pong"}
    assert command(ws, {"id": 6, "type": "unsubscribe_events", "subscription": 1}) == {
        "id": 6, "type": "result", "success": False,
        "error": {"code": "not_found", "message": "Subscription not found."}}
    bad = command(ws, {"id": 7, "type": "unsubscribe_events"})
    assert bad["error"] == {"code": "invalid_format",
                            "message": "required key not provided @ data['subscription']"}
    bad = command(ws, {"id": 8, "type": "subscribe_events", "event_type": 3})
    assert bad["error"]["code"] == "invalid_format"
    ws.close()


def test_fire_event_reaches_subscribers_and_answers_the_context(gateway):
    listener = connect(gateway)
    assert command(listener, {"id": 1, "type": "subscribe_events",
                              "event_type": "doorbell"})["success"]
    ws = connect(gateway)
    answer = command(ws, {"id": 1, "type": "fire_event", "event_type": "doorbell",
                          "event_data": {"ring": 2}})
    assert answer["success"] is True
    context = answer["result"]["context"]
    assert list(context) == ["id", "parent_id", "user_id"] and len(context["id"]) == 26
    event = recv(listener)["event"]
    assert event["event_type"] == "doorbell" and event["data"] == {"ring": 2}
    assert event["origin"] == "LOCAL" and event["context"] == context
    assert command(ws, {"id": 2, "type": "fire_event", "event_type": "doorbell"})["success"]
    assert recv(listener)["event"]["data"] == {}
    bad = command(ws, {"id": 3, "type": "fire_event", "event_type": "doorbell", "event_data": [1]})
    assert bad["error"] == {"code": "invalid_format",
                            "message": "expected dict for dictionary value @ data['event_data']"}
    bad = command(ws, {"id": 4, "type": "fire_event"})
    assert bad["error"]["code"] == "invalid_format"
    listener.close()
    ws.close()


def test_call_service_with_home_assistant_errors(gateway):
    ws = connect(gateway)
    answer = command(ws, {"id": 1, "type": "call_service", "domain": "persistent_notification",
                          "service": "create", "service_data": {"message": "Check the garage"},
                          "target": {"notification_id": "garage"}})
    assert answer["success"] is True, answer
    assert list(answer["result"]) == ["context"]
    assert len(answer["result"]["context"]["id"]) == 26
    state = gateway.get("/api/states/persistent_notification.garage").json()
    assert state["attributes"]["message"] == "Check the garage"
    assert state["context"]["id"] == answer["result"]["context"]["id"]

    assert command(ws, {"id": 2, "type": "call_service", "domain": "light",
                        "service": "turn_on"})["error"] == {
        "code": "not_found", "message": "Service light.turn_on not found."}
    refused = command(ws, {"id": 3, "type": "call_service", "domain": "persistent_notification",
                           "service": "create", "service_data": {"title": "no message"}})
    assert refused["error"]["code"] == "service_validation_error"
    assert refused["error"]["message"].startswith("Validation error: ")
    assert "message" in refused["error"]["message"]
    no_response = command(ws, {"id": 4, "type": "call_service",
                               "domain": "persistent_notification", "service": "dismiss",
                               "service_data": {"notification_id": "garage"},
                               "return_response": True})
    assert no_response["error"]["code"] == "service_validation_error"
    assert "return_response" in no_response["error"]["message"]
    bad = command(ws, {"id": 5, "type": "call_service", "domain": "persistent_notification",
                       "service": "create", "service_data": ["x"]})
    assert bad["error"] == {"code": "invalid_format",
                            "message": "expected dict for dictionary value @ data['service_data']"}
    bad = command(ws, {"id": 6, "type": "call_service", "service": "create"})
    assert bad["error"] == {"code": "invalid_format",
                            "message": "required key not provided @ data['domain']"}
    assert command(ws, {"id": 7, "type": "call_service", "domain": "persistent_notification",
                        "service": "dismiss",
                        "service_data": {"notification_id": "garage"}})["success"] is True
    assert gateway.get("/api/states/persistent_notification.garage").status_code == 404
    ws.close()


def test_subscribe_entities_sends_compressed_adds_changes_and_removals(gateway):
    gateway.post("/api/states/sensor.outside", json={"state": "5", "attributes": {"unit": "°C"}})
    gateway.post("/api/states/sensor.ignored", json={"state": "x"})
    ws = connect(gateway)
    assert command(ws, {"id": 1, "type": "subscribe_entities"}) == {
        "id": 1, "type": "result", "success": True, "result": None}
    first = recv(ws)
    assert first["id"] == 1 and first["type"] == "event"
    outside = gateway.get("/api/states/sensor.outside").json()
    added = first["event"]["a"]["sensor.outside"]
    assert list(added) == ["s", "a", "c", "lc"]  # no "lu" while it equals "lc"
    assert added["s"] == "5" and added["a"] == {"unit": "°C"}
    # A context with a user is sent whole; an id alone would be a string.
    assert added["c"] == outside["context"]
    assert added["lc"] == pytest.approx(epoch(outside["last_changed"]), abs=1e-5)
    assert "sensor.ignored" in first["event"]["a"]

    # Attributes only: last_updated moves, the state and last_changed do not.
    gateway.post("/api/states/sensor.outside", json={"state": "5", "attributes": {"unit": "K"}})
    after = gateway.get("/api/states/sensor.outside").json()
    change = recv(ws)["event"]["c"]["sensor.outside"]
    assert set(change) == {"+"}
    assert change["+"]["a"] == {"unit": "K"} and "s" not in change["+"] and "lc" not in change["+"]
    assert change["+"]["lu"] == pytest.approx(epoch(after["last_updated"]), abs=1e-5)
    assert change["+"]["c"] == after["context"]["id"]

    # A new state and a removed attribute.
    gateway.post("/api/states/sensor.outside", json={"state": "6"})
    change = recv(ws)["event"]["c"]["sensor.outside"]
    assert change["+"]["s"] == "6" and "lc" in change["+"] and "lu" not in change["+"]
    assert change["-"] == {"a": ["unit"]}

    gateway.post("/api/states/sensor.new_one", json={"state": "1"})
    assert list(recv(ws)["event"]["a"]) == ["sensor.new_one"]
    gateway.delete("/api/states/sensor.new_one")
    assert recv(ws)["event"] == {"r": ["sensor.new_one"]}
    ws.close()


def test_subscribe_entities_filters_by_entity_ids(gateway):
    gateway.post("/api/states/sensor.wanted", json={"state": "1"})
    gateway.post("/api/states/sensor.other", json={"state": "1"})
    ws = connect(gateway)
    assert command(ws, {"id": 1, "type": "subscribe_entities",
                        "entity_ids": ["sensor.WANTED"]})["success"] is True
    assert list(recv(ws)["event"]["a"]) == ["sensor.wanted"]
    gateway.post("/api/states/sensor.other", json={"state": "2"})
    gateway.post("/api/states/sensor.wanted", json={"state": "2"})
    assert recv(ws)["event"]["c"]["sensor.wanted"]["+"]["s"] == "2"
    bad = command(ws, {"id": 2, "type": "subscribe_entities", "entity_ids": ["bad.entity.id"]})
    assert bad["error"]["code"] == "invalid_format"
    ws.close()


def test_coalesced_messages_arrive_as_json_arrays(gateway):
    ws = connect(gateway)
    for msg_id in (1, 2):
        assert command(ws, {"id": msg_id, "type": "subscribe_events",
                            "event_type": "tick"})["success"]
    # Not asked for: one message per frame, even when two are queued at once.
    gateway.post("/api/events/tick")
    assert [recv(ws)["id"], recv(ws)["id"]] == [1, 2]
    assert command(ws, {"id": 3, "type": "supported_features",
                        "features": {"coalesce_messages": 1}}) == {
        "id": 3, "type": "result", "success": True, "result": None}
    gateway.post("/api/events/tick")
    batch = recv(ws)
    assert isinstance(batch, list)
    assert [(m["id"], m["event"]["event_type"]) for m in batch] == [(1, "tick"), (2, "tick")]
    bad = command(ws, {"id": 4, "type": "supported_features"})
    assert bad["error"]["code"] == "invalid_format"
    ws.close()


# -- resources -----------------------------------------------------------------

def test_listeners_are_removed_when_a_connection_closes(gateway):
    before = listener_counts(gateway)
    for ending in ("close frame", "dropped socket"):
        ws = connect(gateway)
        command(ws, {"id": 1, "type": "subscribe_events", "event_type": "cleanup_test"})
        command(ws, {"id": 2, "type": "subscribe_events"})
        command(ws, {"id": 3, "type": "subscribe_entities"})
        recv(ws)
        counts = listener_counts(gateway)
        assert counts["cleanup_test"] == 1 and counts["*"] == before.get("*", 0) + 1
        assert counts["state_changed"] == before.get("state_changed", 0) + 1
        if ending == "close frame":
            ws.close()
        else:
            ws.sock.shutdown(socket.SHUT_RDWR)
            ws.sock.close()
        assert wait_for(lambda: listener_counts(gateway) == before), ending


def test_a_client_that_does_not_read_is_dropped_and_others_are_served(gateway):
    big = {"blob": "x" * 8000}
    for i in range(8):
        gateway.post("/api/states/sensor.big_{}".format(i), json={"state": "1", "attributes": big})
    reader = connect(gateway)
    assert command(reader, {"id": 1, "type": "subscribe_events", "event_type": "still_here"})
    slow = connect(gateway, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    command(slow, {"id": 1, "type": "subscribe_events", "event_type": "flood"})
    # Far more answers than the socket buffers hold (about 40 MB), never read:
    # the gateway stops taking its commands, but events keep coming.
    for start in range(2, 602, 200):
        send(slow, [{"id": i, "type": "get_states"} for i in range(start, start + 200)])
    msg_id = 1
    for _ in range(40):
        if "flood" not in listener_counts(gateway):
            break
        batch = [{"id": msg_id + i, "type": "fire_event", "event_type": "flood"}
                 for i in range(1, 51)]
        msg_id += 50
        send(reader, batch)
        assert [recv(reader)["success"] for _ in batch] == [True] * 50
    assert "flood" not in listener_counts(gateway)
    assert "did not keep up" in gateway.logs()
    # Everyone else is still served.
    assert command(reader, {"id": msg_id + 1, "type": "ping"})["type"] == "pong"
    gateway.post("/api/events/still_here", json={"ok": True})
    assert recv(reader)["event"]["data"] == {"ok": True}
    assert gateway.get("/api/").status_code == 200
    reader.close()
    assert closed_by_server(slow, timeout=30)


def test_websocket_over_tls(start_gateway, tmp_path):
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "root.pem"))
    gw = start_gateway({"ssl_certificate": str(tmp_path / "cert.pem"),
                        "ssl_key": str(tmp_path / "key.pem"),
                        "limits": {"max_body_bytes": 65536}}, scheme="https",
                       verify=ssl.create_default_context(cafile=str(tmp_path / "root.pem")))
    assert gw.post("/api/states/sensor.secure",
                   json={"state": "1", "attributes": {"x": "y" * 30000}}).status_code == 201
    ws = websocket.create_connection("wss://127.0.0.1:{}/api/websocket".format(gw.port),
                                     timeout=10, sslopt={"ca_certs": str(tmp_path / "root.pem")})
    assert recv(ws)["type"] == "auth_required"
    send(ws, {"type": "auth", "access_token": gw.token})
    assert recv(ws)["type"] == "auth_ok"
    states = command(ws, {"id": 1, "type": "get_states"})["result"]
    assert states[0]["attributes"]["x"] == "y" * 30000
    command(ws, {"id": 2, "type": "subscribe_events", "event_type": "over_tls"})
    send(ws, {"id": 3, "type": "fire_event", "event_type": "over_tls",
              "event_data": {"x": "z" * 30000}})
    answers = [recv(ws), recv(ws)]
    assert {a["type"] for a in answers} == {"event", "result"}
    assert [a for a in answers if a["type"] == "event"][0]["event"]["data"]["x"] == "z" * 30000
    ws.close()


# -- a Home Assistant client library --------------------------------------------

def test_hass_client_library_reads_states_and_receives_a_state_change(gateway):
    from hass_client import HomeAssistantClient

    gateway.post("/api/states/sensor.library", json={"state": "1"})

    async def main():
        async with HomeAssistantClient(ws_url(gateway), gateway.token) as client:
            assert client.version == gateway.get("/api/config").json()["version"]
            states = await client.get_states()
            assert "sensor.library" in [s["entity_id"] for s in states]
            events = asyncio.Queue()
            await client.subscribe_events(events.put_nowait, "state_changed")
            entities = asyncio.Queue()
            await client.subscribe_entities(entities.put_nowait, ["sensor.library"])
            first = await asyncio.wait_for(entities.get(), 10)
            assert first["a"]["sensor.library"]["s"] == "1"
            await asyncio.to_thread(gateway.post, "/api/states/sensor.library",
                                    json={"state": "2"})
            event = await asyncio.wait_for(events.get(), 10)
            assert event["event_type"] == "state_changed"
            assert event["data"]["new_state"]["state"] == "2"
            change = await asyncio.wait_for(entities.get(), 10)
            assert change["c"]["sensor.library"]["+"]["s"] == "2"
            result = await client.call_service("persistent_notification", "create",
                                               {"message": "from hass-client",
                                                "notification_id": "lib"})
            assert "context" in result

    asyncio.run(main())
    assert gateway.get("/api/states/persistent_notification.lib").status_code == 200


def test_subscriptions_per_client_are_bounded(gateway):
    # A board holds fewer (MicroPythonPlatform.class_limits).
    limit = {"cpython": 64, "micropython": 16}[gateway.runtime]
    ws = connect(gateway)
    for i in range(1, limit + 1):
        assert command(ws, {"id": i, "type": "subscribe_events", "event_type": "e{}".format(i)})["success"]
    refused = command(ws, {"id": 100, "type": "subscribe_entities"})
    assert refused["success"] is False
    assert refused["error"] == {"code": "home_assistant_error",
                                "message": "Too many subscriptions (at most {}).".format(limit)}
    assert command(ws, {"id": 101, "type": "unsubscribe_events", "subscription": 1})["success"]
    assert command(ws, {"id": 102, "type": "subscribe_events"})["success"]
    ws.close()
