"""Server-sent events: `GET /api/stream[?restrict=type1,type2]` (ha-api.md
1.3), the bus as `text/event-stream`.

Each client gets a bounded `Subscription` of frames, serialised when the
event fires. A client that stops reading leaves its socket full, its frames
pile up past `EventStream.max_pending_bytes` (or the queue's item limit), and
it is dropped: listener removed, connection aborted. Nothing grows without
bound. A client that closes its connection is noticed at once (its end of
input), not at the next write.

Microdot's own SSE helper keeps an unbounded list, and MicroPython has no
async generators, so the body is a small async iterator class.
"""
import asyncio
import json

from microdot import Response

from ugate.base import log
from ugate.http.auth import requires_auth
from ugate.http.server import abort, remote
from ugate.hub.bus import MATCH_ALL, Subscription

_log = log.get("api.stream")

PING = b"data: ping\n\n"


def frame(event):
    return b"data: " + json.dumps(event.as_dict()).encode() + b"\n\n"


class FrameStream:
    """A `text/event-stream` body for one client: an async iterator of the
    frames handed to `push`, bounded as above. Subclasses say where frames
    come from in `subscribe`."""

    #: Seconds without events before a ping (Home Assistant's STREAM_PING_INTERVAL).
    ping_interval = 50
    #: Bytes of frames waiting for one client before it is dropped (one
    #: frame alone is always sent, however big).
    max_pending_bytes = 64 * 1024

    def __init__(self, sock, client):
        self.client = client
        self.reader, self.writer = sock
        self.queue = None
        self.pending_bytes = 0
        self._unlisten = None
        self._watcher = None
        self._task = None  # the connection's task, which writes the frames

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.queue is None:
            # Subscribe on the first read, so a HEAD request never does.
            self.queue = Subscription()
            self._task = asyncio.current_task()
            self._unlisten = self.subscribe()
            self._watcher = asyncio.create_task(self._watch_client())
            return PING
        try:
            frames = await self.queue.get(self.ping_interval)
        except asyncio.CancelledError:  # the gateway stops: end the stream as HA does
            self.queue.close()
        if self.queue.closed:
            self._detach()
            raise StopAsyncIteration
        if not frames:
            return PING
        chunk = b"".join(frames)
        self.pending_bytes -= len(chunk)
        return chunk

    async def aclose(self):
        self._detach()

    def subscribe(self):
        """Start calling `push(frame)`; return a function that stops it."""
        raise NotImplementedError

    def push(self, data):
        self.pending_bytes += len(data)
        self.queue.put(data)
        piled_up = self.pending_bytes > self.max_pending_bytes and len(self.queue.items) > 1
        if self.queue.overflowed or piled_up:
            _log.warning("event stream client {} does not read: dropped".format(self.client))
            self._detach()
            abort(self.writer, self._task)

    async def _watch_client(self):
        # The client sends nothing after its request: end of input means it has gone.
        try:
            while await self.reader.read(64):
                pass
        except OSError:
            pass
        self._watcher = None  # finished: nothing to cancel
        self._detach()

    def _detach(self):
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.queue is not None:
            self.queue.close()


class EventStream(FrameStream):
    """The body of one `/api/stream` response: the bus, one frame per event."""

    def __init__(self, bus, sock, client, restrict=None):
        super().__init__(sock, client)
        self.bus = bus
        self.restrict = restrict

    def subscribe(self):
        return self.bus.listen(MATCH_ALL, self._forward)

    def _forward(self, event):
        if not self.restrict or event.event_type in self.restrict:
            self.push(frame(event))


def setup(app, hub):
    @app.get("/api/stream")
    @requires_auth(hub.tokens)
    async def api_stream(request):
        restrict = request.args.get("restrict")
        stream = EventStream(hub.bus, request.sock, remote(request),
                             restrict.split(",") if restrict else None)
        return Response(stream, headers={"Content-Type": "text/event-stream",
                                         "Cache-Control": "no-cache"})
