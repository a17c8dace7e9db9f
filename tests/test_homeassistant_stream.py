"""Server-sent events on `/api/stream` (ha-api.md 1.3) on both runtimes:
the first ping, events in Home Assistant's shape, `restrict`, a client that
does not read is dropped while the others keep being served, and a client
that leaves takes its bus listener with it."""
import socket
import threading

import httpx

from conftest import wait_for
from sse_client import EventStream, listener_count


def test_stream_starts_with_a_ping_then_sends_events(gateway):
    with EventStream(gateway) as sse:
        assert sse.response.status_code == 200
        assert sse.response.headers["Content-Type"].startswith("text/event-stream")
        assert sse.frame() == "ping"
        gateway.post("/api/events/doorbell", json={"button": 1})
        event = sse.event()
        assert list(event) == ["event_type", "data", "origin", "time_fired", "context"]
        assert event["event_type"] == "doorbell"
        assert event["data"] == {"button": 1}
        assert event["origin"] == "REMOTE"
        assert event["time_fired"].endswith("+00:00")
        assert event["context"]["user_id"]

        gateway.post("/api/states/sensor.hall", json={"state": "3"})
        changed = sse.event()
        assert changed["event_type"] == "state_changed"
        assert changed["origin"] == "LOCAL"
        assert list(changed["data"]) == ["entity_id", "old_state", "new_state"]
        assert changed["data"]["entity_id"] == "sensor.hall"
        assert changed["data"]["old_state"] is None
        assert changed["data"]["new_state"]["state"] == "3"


def test_stream_needs_a_token(gateway):
    assert gateway.get("/api/stream", token=False).status_code == 401
    assert listener_count(gateway) == 0


def test_restrict_filters_by_event_type(gateway):
    with EventStream(gateway, "/api/stream?restrict=alpha,gamma") as sse:
        assert sse.frame() == "ping"
        for event_type in ("beta", "alpha", "delta", "gamma"):
            gateway.post("/api/events/" + event_type)
        assert sse.event()["event_type"] == "alpha"
        assert sse.event()["event_type"] == "gamma"


def test_listener_is_removed_when_the_client_leaves(gateway):
    assert listener_count(gateway) == 0
    first = EventStream(gateway)
    second = EventStream(gateway)
    assert first.frame() == "ping" and second.frame() == "ping"
    assert listener_count(gateway) == 2
    first.close()
    assert wait_for(lambda: listener_count(gateway) == 1)
    gateway.post("/api/events/still_here")
    assert second.event()["event_type"] == "still_here"
    second.close()
    assert wait_for(lambda: listener_count(gateway) == 0)


def test_one_big_event_does_not_drop_a_reading_client(start_gateway):
    gateway = start_gateway({"limits": {"max_body_bytes": 300000}})
    with EventStream(gateway) as sse:
        assert sse.frame() == "ping"
        big = {"blob": "y" * 100000}
        assert gateway.post("/api/events/big", json=big).status_code == 200
        assert sse.event()["data"] == big
        assert listener_count(gateway) == 1


def test_head_does_not_subscribe(gateway):
    r = gateway.request("HEAD", "/api/stream")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert listener_count(gateway) == 0


def slow_client(gateway):
    """A client that asks for the stream and then never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", gateway.port))
    s.sendall("GET /api/stream HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n"
              .format(gateway.token).encode())
    return s


def flood_until_dropped(gateway, client, listeners):
    """Fire big events until the bus has one listener fewer; returns how many."""
    blob = {"blob": "x" * 4000}
    sent = 0
    while listener_count(gateway) == listeners and sent < 5000:
        for _ in range(20):
            assert client.post(gateway.url("/api/events/bulk"), json=blob).status_code == 200
            sent += 1
    assert listener_count(gateway) == listeners - 1, "the client that does not read stays"
    return sent


def test_client_that_does_not_read_is_dropped_and_others_are_served(start_gateway):
    # Four connections: the reader, the stalled client, the poster and the
    # listener count. A connection slot kept by a dropped client would make
    # the second round fail with 503.
    gateway = start_gateway({"limits": {"max_connections": 4}})
    reader = EventStream(gateway, timeout=60)
    assert reader.frame() == "ping"
    received = []

    def read():
        try:
            while True:
                event = reader.event()
                received.append(event["event_type"])
                if event["event_type"] == "marker":
                    return
        except Exception as exc:  # shown by the assertions below
            received.append(repr(exc))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    sent = 0
    try:
        with httpx.Client(timeout=10, headers=gateway.headers()) as client:
            for _ in range(2):
                stalled = slow_client(gateway)
                try:
                    assert wait_for(lambda: listener_count(gateway) == 2)
                    # Its socket buffers fill, then its frames pile up past
                    # the limit and the gateway drops it.
                    sent += flood_until_dropped(gateway, client, 2)
                    # ... and closes its connection.
                    stalled.settimeout(10)
                    while stalled.recv(65536):
                        pass
                finally:
                    stalled.close()
        gateway.post("/api/events/marker")
        thread.join(30)
        assert received[-1] == "marker", received[-3:]
        assert received.count("bulk") == sent
    finally:
        reader.close()
    assert "event stream client 127.0.0.1 does not read: dropped" in gateway.logs()
