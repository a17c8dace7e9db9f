"""Small answers leave at once (TCP_NODELAY on accepted sockets): without
it a WebSocket answer, written as frame header and payload, waited for the
client's delayed ACK, ~44 ms a round trip on MicroPython. Asserted as a
bound on loopback, far above what either runtime needs, far below a
delayed ACK."""
import statistics
import time

from ws_client import command, connect


def test_a_websocket_ping_pong_round_trip_takes_under_5_ms(gateway):
    ws = connect(gateway)
    try:
        times = []
        for i in range(1, 41):
            start = time.perf_counter()
            assert command(ws, {"id": i, "type": "ping"}) == {"id": i, "type": "pong"}
            times.append(time.perf_counter() - start)
    finally:
        ws.close()
    assert statistics.median(times) < 0.005, times
