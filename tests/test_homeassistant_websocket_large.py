"""Large WebSocket answers on both runtimes: `get_states` and the first
`subscribe_entities` message with hundreds of entities. A board's fragmented
heap cannot hold them as one string, so they go out as a fragmented message
(a text frame, then continuation frames) written a state at a time; HA's
clients (aiohttp, websocket-client) put the fragments back together."""
import asyncio
import json

import aiohttp
import pytest
from websocket import ABNF

from conftest import Gateway
from ws_client import command, connect, recv, send

COUNT = 300
ATTRS = {"friendly_name": "Sensor with a longer friendly name", "unit_of_measurement": "°C",
         "device_class": "temperature", "source": "x" * 100}


@pytest.fixture
def gateway(start_gateway):
    """A gateway whose entity limit (256 by default on MicroPython) fits COUNT."""
    return start_gateway({"limits": {"max_entities": 1000}})


def many_states(gateway):
    for i in range(COUNT):
        r = gateway.post("/api/states/sensor.many_{}".format(i), json={"state": str(i), "attributes": ATTRS})
        assert r.status_code == 201, r.text
    return sorted("sensor.many_{}".format(i) for i in range(COUNT))


def test_get_states_with_many_entities(gateway):
    expected = many_states(gateway)
    ws = connect(gateway)
    try:
        send(ws, {"id": 1, "type": "get_states"})
        # Frame by frame: a large answer is one message in several frames.
        first = ws.recv_frame()
        assert first.opcode == ABNF.OPCODE_TEXT and not first.fin
        frames = [first]
        while not frames[-1].fin:
            frames.append(ws.recv_frame())
            assert frames[-1].opcode == ABNF.OPCODE_CONT
        answer = json.loads(b"".join(f.data for f in frames).decode())
        assert list(answer)[:3] == ["id", "type", "success"] and answer["success"] is True
        assert sorted(s["entity_id"] for s in answer["result"]) == expected
        assert all(s["attributes"] == ATTRS for s in answer["result"])
        # The connection goes on; small answers are still one frame.
        send(ws, {"id": 2, "type": "ping"})
        frame = ws.recv_frame()
        assert frame.fin and json.loads(frame.data) == {"id": 2, "type": "pong"}
    finally:
        ws.close()


def test_subscribe_entities_snapshot_with_many_entities(gateway):
    expected = many_states(gateway)
    ws = connect(gateway)
    try:
        assert command(ws, {"id": 1, "type": "subscribe_entities"})["success"] is True
        added = recv(ws)["event"]["a"]
        assert sorted(added) == expected
        assert added["sensor.many_7"]["s"] == "7" and added["sensor.many_7"]["a"] == ATTRS
        # Changes after the snapshot still arrive.
        gateway.post("/api/states/sensor.many_7", json={"state": "changed", "attributes": ATTRS})
        assert recv(ws)["event"]["c"]["sensor.many_7"]["+"]["s"] == "changed"
    finally:
        ws.close()


def test_coalesced_batch_with_many_entities_over_aiohttp(gateway):
    """aiohttp (the client library of Home Assistant itself) with
    coalesce_messages on: the batch holding the large answer arrives whole."""
    expected = many_states(gateway)

    async def talk():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(gateway.url("/api/websocket")) as ws:
                assert (await ws.receive_json())["type"] == "auth_required"
                await ws.send_json({"type": "auth", "access_token": gateway.token})
                assert (await ws.receive_json())["type"] == "auth_ok"
                await ws.send_json({"id": 1, "type": "supported_features",
                                    "features": {"coalesce_messages": 1}})
                assert (await ws.receive_json())["success"] is True
                await ws.send_json([{"id": 2, "type": "get_states"}, {"id": 3, "type": "ping"}])
                messages = []
                while len(messages) < 2:
                    data = await ws.receive_json(timeout=30)
                    messages.extend(data if isinstance(data, list) else [data])
                return messages

    states, pong = asyncio.run(talk())
    assert states["id"] == 2 and sorted(s["entity_id"] for s in states["result"]) == expected
    assert pong == {"id": 3, "type": "pong"}


class HeapGateway(Gateway):
    run_args = ["--heapsize", "512K"]


def test_a_message_the_heap_has_no_room_for_closes_with_1009(tmp_path):
    """Under the size limit (raised here) but past what a 512 KB MicroPython
    heap can read: the reader's MemoryError went unhandled ("Task exception
    was never retrieved"); now it closes that connection with 1009, "message
    too big", as a bad frame would, and everyone else is served."""
    gw = HeapGateway("micropython", tmp_path / "c", {"limits": {"max_body_bytes": 300000}}).start()
    try:
        observer = connect(gw)
        ws = connect(gw)
        send(ws, {"id": 1, "type": "fire_event", "event_type": "big", "event_data": {"x": "y" * 250000}})
        frame = ws.recv_frame()
        assert frame.opcode == ABNF.OPCODE_CLOSE and frame.data[:2] == (1009).to_bytes(2, "big")
        assert command(observer, {"id": 1, "type": "ping"}) == {"id": 1, "type": "pong"}
        assert "did not fit in memory; closing" in gw.logs()
        assert "Traceback" not in gw.logs() and "Task exception" not in gw.logs()
    finally:
        gw.stop()
