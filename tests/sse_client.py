"""A small server-sent events reader over httpx streaming, for the tests of
`/api/stream`."""
import json

import httpx


class EventStream:
    def __init__(self, gateway, path="/api/stream", timeout=10):
        self.client = httpx.Client(timeout=timeout)
        self._stream = self.client.stream("GET", gateway.url(path), headers=gateway.headers())
        self.response = self._stream.__enter__()
        self._lines = self.response.iter_lines()

    def frame(self):
        """The data of the next frame, e.g. 'ping' or an event's JSON text."""
        data = []
        for line in self._lines:
            if line:
                assert line.startswith("data: "), line
                data.append(line[6:])
            elif data:
                return "\n".join(data)
        raise EOFError("the stream ended")

    def event(self):
        """The next event as a dict, skipping pings."""
        while True:
            data = self.frame()
            if data != "ping":
                return json.loads(data)

    def close(self):
        self._stream.__exit__(None, None, None)
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def listener_count(gateway, event_type="*"):
    for entry in gateway.get("/api/events").json():
        if entry["event"] == event_type:
            return entry["listener_count"]
    return 0
