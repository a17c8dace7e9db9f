"""Server-sent events: a `text/event-stream` response body for one client
(Home Assistant's /api/stream, Hono's consumer API).

Each client gets a bounded queue of frames. A client that stops reading
leaves its socket full, its frames pile up past `max_pending_bytes` (or the
queue's item limit), and it is dropped: listener removed, connection
aborted. Nothing grows without bound. A stream opened with a credential
that is revoked later is dropped the same way (`watch`). A client that closes its connection is
noticed at once (its end of input), not at the next write.

Microdot's own SSE helper keeps an unbounded list, and MicroPython has no
async generators, so the body is a small async iterator class.
"""
import asyncio
import json

from ugate.base import log
from ugate.base.bounded_queue import BoundedQueue
from ugate.http.server import abort

_log = log.get("http.sse")

PING = b"data: ping\n\n"


class EventStreamBody:
    """A `text/event-stream` body for one client: an async iterator of the
    frames handed to `push`, bounded as above. Subclasses say where frames
    come from in `subscribe`."""

    #: Seconds without events before a ping (Home Assistant's STREAM_PING_INTERVAL).
    ping_interval = 50
    #: Bytes of frames waiting for one client before it is dropped (one
    #: frame alone is always sent, however big).
    max_pending_bytes = 64 * 1024
    #: Frames are joined into writes of up to this many bytes.
    write_size = 2048

    def __init__(self, sock, client, watch=None):
        """`watch(end)`, when given, calls `end()` once the credential the
        stream was opened with is revoked and returns the function that
        stops watching (`ugate.http.auth.watch_revocation`)."""
        self.client = client
        self._watch = watch
        self._unwatch = None
        self.reader, self.writer = sock
        self.queue = None
        self.frames = []  # taken from the queue, not yet written
        self.pending_bytes = 0
        self._unlisten = None
        self._watcher = None
        self._task = None  # the connection's task, which writes the frames

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.queue is None:
            # Subscribe on the first read, so a HEAD request never does.
            self.queue = BoundedQueue()
            self._task = asyncio.current_task()
            self._unlisten = self.subscribe()
            self._watcher = asyncio.create_task(self._watch_client())
            if self._watch is not None:
                self._unwatch = self._watch(self._revoked)
            return PING
        if not self.frames:
            try:
                self.frames = await self.queue.get(self.ping_interval)
            except asyncio.CancelledError:  # the gateway stops: end the stream as HA does
                self.queue.close()
            if self.queue.closed:
                self._detach()
                raise StopAsyncIteration
            if not self.frames:
                return PING
        # Small frames go out together (a write each would cost a system
        # call each), large ones alone (a block of many may not fit a
        # board's fragmented heap).
        chunk = self.frames.pop(0)
        while self.frames and len(chunk) + len(self.frames[0]) <= self.write_size:
            chunk += self.frames.pop(0)
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
            self._drop()

    def _revoked(self):
        _log.info("event stream client {}: its token was revoked: closed".format(self.client))
        self._unwatch = None  # the watcher let go already
        self._drop()

    def _drop(self):
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
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.queue is not None:
            self.queue.close()


def frame(data):
    """One `data:` frame of JSON."""
    return frame_text(json.dumps(data))


def frame_text(text):
    """One `data:` frame of JSON text."""
    return "data: {}\n\n".format(text).encode()
