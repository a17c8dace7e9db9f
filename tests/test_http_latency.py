"""Answers leave at once (TCP_NODELAY on accepted sockets): without it a
WebSocket answer written in two writes (a frame header, then a payload
over `MessageStream.joined_bytes`) waited for the client's delayed ACK,
~44 ms a round trip on MicroPython. Asserted on the lower quartile of 40
round trips on loopback: far above what either runtime needs even on a
busy machine, far below a delayed ACK, which every round trip would pay."""
import statistics
import time

from ws_client import command, connect


def round_trips(ws, message, n=40):
    """The lower quartile of n round trips, all their times, the last answer."""
    times = []
    for i in range(1, n + 1):
        start = time.perf_counter()
        answer = command(ws, dict(message, id=message["id"] + i))
        times.append(time.perf_counter() - start)
    return statistics.quantiles(times, n=4)[0], times, answer


def test_websocket_round_trips_take_under_5_ms(gateway):
    for i in range(6):  # get_states answers about 2 KB: header and payload are two writes
        gateway.post("/api/states/sensor.latency_{}".format(i), json={
            "state": str(i), "attributes": {"friendly_name": "Latency " + "x" * 200}})
    ws = connect(gateway)
    try:
        quartile, times, answer = round_trips(ws, {"id": 0, "type": "ping"})
        assert answer["type"] == "pong"
        assert quartile < 0.005, times
        quartile, times, answer = round_trips(ws, {"id": 100, "type": "get_states"})
        assert len(answer["result"]) >= 6
        assert quartile < 0.005, times
    finally:
        ws.close()
