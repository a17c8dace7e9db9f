"""JSON from clients and devices on both runtimes: nesting deeper than
`jsoninput.MAX_DEPTH` (20) is refused with 400 before anything is stored or
delivered, never 500; text that is not UTF-8 (or escapes a lone surrogate)
never becomes a state, so every answer and restore_state.json stay UTF-8;
an escaped surrogate pair is the character it encodes."""
import json

from hono_helpers import JSON, Consumer, demo_gateway, device, later
from test_homeassistant_websocket import closed_by_server
from test_restore_state import wait_until_saved
from ws_client import command, connect, open_socket, recv

MAX_DEPTH = 20


def nested(depth):
    """A JSON value `depth` levels deep: [[[...]]]."""
    return "[" * depth + "]" * depth


def state_body(attribute_depth):
    # The body is level 1, attributes level 2: the list inside adds the rest.
    return '{{"state": "1", "attributes": {{"deep": {}}}}}'.format(nested(attribute_depth - 2))


def all_states_are_utf8_json(gw):
    r = gw.get("/api/states")
    assert r.status_code == 200
    return json.loads(r.content.decode("utf-8"))  # strict: fails on anything not UTF-8


def test_deep_json_bodies_are_400_and_nothing_is_stored(start_gateway):
    gw = start_gateway(config={"restore_state": True})
    deep = nested(2000)  # about 4 KB: under a board's body limit
    r = gw.post("/api/states/sensor.deep", content=state_body(2000))
    assert r.status_code == 400 and r.json() == {"message": "Invalid JSON specified."}
    r = gw.post("/api/states/sensor.deep", content=state_body(MAX_DEPTH + 1))
    assert r.status_code == 400
    r = gw.post("/api/events/deep_event", content='{"x": ' + deep + "}")
    assert r.status_code == 400 and r.json() == {"message": "Event data should be valid JSON."}
    r = gw.post("/api/services/persistent_notification/create",
                content='{"message": ' + deep + "}")
    assert r.status_code == 400 and r.json() == {"message": "Data should be valid JSON."}
    assert gw.get("/api/states/sensor.deep").status_code == 404
    # As deep as allowed is fine, and every answer holding it still works.
    r = gw.post("/api/states/sensor.deep", content=state_body(MAX_DEPTH))
    assert r.status_code == 201, r.text
    assert [s["entity_id"] for s in all_states_are_utf8_json(gw)] == ["sensor.deep"]
    wait_until_saved(gw, "sensor.deep")
    gw.restart()
    assert gw.get("/api/states/sensor.deep").json()["attributes"]["deep"] == json.loads(nested(MAX_DEPTH - 2))
    assert "Traceback" not in gw.logs() and "failed" not in gw.logs()


def test_deep_json_over_the_websocket_closes_that_client_only(start_gateway):
    gw = start_gateway()
    observer = connect(gw)
    assert command(observer, {"id": 1, "type": "subscribe_events"})["success"] is True
    ws = connect(gw)
    ws.send('{"id": 1, "type": "fire_event", "event_type": "deep", "event_data": {"a": '
            + nested(2000) + "}}")
    assert closed_by_server(ws)
    # Before login too.
    ws = open_socket(gw)
    assert recv(ws)["type"] == "auth_required"
    ws.send('{"type": "auth", "access_token": ' + nested(2000) + "}")
    assert closed_by_server(ws)
    # The observer never saw the deep event and is served as before.
    assert command(observer, {"id": 2, "type": "ping"}) == {"id": 2, "type": "pong"}
    assert "Traceback" not in gw.logs()


def test_accepted_hono_message_with_deep_json_is_202_once(start_gateway, tmp_path):
    """The consumer accepted it: the device must hear 202, not 500 (it would
    send it again, and the consumer would get it twice)."""
    gw = demo_gateway(start_gateway, tmp_path, hono_config={"max_payload": 8192})
    body = ('{"temp": 5, "deep": ' + nested(2000) + "}").encode()
    with Consumer(gw) as app:
        pending = later(device, gw, "POST", "/telemetry", headers=dict(JSON, **{"QoS-Level": "1"}),
                        content=body)
        msg = app.next()
        assert msg["payload"] == body.decode()
        r = app.settle(msg, "accepted")
        assert r.status_code == 204
        assert pending.result().status_code == 202
        app.none_within(1)
        # Settling with a deep body is a bad request, not a failure.
        r = gw.post("/api/hono/DEFAULT_TENANT/messages/" + msg["id"], content=nested(2000))
        assert r.status_code == 400
    # The JSON was too deep to read: no entity from it.
    assert all_states_are_utf8_json(gw) == []
    assert "Traceback" not in gw.logs()


def test_escaped_surrogates(start_gateway):
    gw = start_gateway()
    # A pair, as encoders that escape non-ASCII write an emoji: one character.
    r = gw.post("/api/states/sensor.mood", content=b'{"state": "\\ud83d\\ude00", "attributes": {"a": "\\u00e9"}}')
    assert r.status_code == 201
    state = gw.get("/api/states/sensor.mood").json()
    assert state["state"] == "\U0001F600" and state["attributes"] == {"a": "\u00e9"}
    # A lone one is no text.
    for body in (b'{"state": "\\ud800"}', b'{"state": "x", "attributes": {"\\udc00": 1}}'):
        r = gw.post("/api/states/sensor.lone", content=body)
        assert r.status_code == 400
    assert [s["entity_id"] for s in all_states_are_utf8_json(gw)] == ["sensor.mood"]


def test_bodies_that_are_not_utf8_are_refused(start_gateway):
    gw = start_gateway()
    for bad in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):  # overlong, surrogate, past U+10FFFF
        body = b'{"state": "' + bad + b'"}'
        assert gw.post("/api/states/sensor.bad", content=body).status_code == 400
        assert gw.post("/api/events/bad", content=b'{"x": "' + bad + b'"}').status_code == 400
    assert all_states_are_utf8_json(gw) == []


def test_bodies_are_read_as_json_text_on_both_runtimes(start_gateway):
    """Bodies are parsed from their bytes (the text is not kept beside them
    on a board): UTF-8 reads as its characters, and a byte order mark is
    refused as JSON text refuses it (CPython's json would skip it in bytes)."""
    gw = start_gateway()
    r = gw.post("/api/states/sensor.cafe", content='{"state": "café ☕", "attributes": {"ü": "ß"}}'.encode())
    assert r.status_code == 201
    state = gw.get("/api/states/sensor.cafe").json()
    assert state["state"] == "café ☕" and state["attributes"] == {"ü": "ß"}
    r = gw.post("/api/states/sensor.bom", content=b'\xef\xbb\xbf{"state": "1"}')
    assert r.status_code == 400 and r.json() == {"message": "Invalid JSON specified."}
    assert [s["entity_id"] for s in all_states_are_utf8_json(gw)] == ["sensor.cafe"]
