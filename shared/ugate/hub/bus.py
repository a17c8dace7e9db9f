"""The event bus: every change in the gateway is an Event fired here, and the
faces (SSE, WebSocket, later Hono consumers and forwarders) listen.

Listeners are plain callables run inline, so they must not block. Network
consumers use a Subscription: a bounded queue that marks itself overflowed
instead of growing, so one slow client cannot eat the memory of a board.
"""
import asyncio

from ugate.base import compat, log

_log = log.get("bus")

MATCH_ALL = "*"


class Context:
    def __init__(self, user_id=None, parent_id=None, id=None):
        self.id = id or compat.ulid()
        self.parent_id = parent_id
        self.user_id = user_id

    def as_dict(self):
        return compat.OrderedDict([("id", self.id), ("parent_id", self.parent_id),
                                    ("user_id", self.user_id)])


class Event:
    def __init__(self, event_type, data, origin, context, time_fired):
        self.event_type = event_type
        self.data = data
        self.origin = origin
        self.context = context
        self.time_fired = time_fired

    def as_dict(self):
        return compat.OrderedDict([
            ("event_type", self.event_type), ("data", self.data), ("origin", self.origin),
            ("time_fired", compat.iso(self.time_fired)), ("context", self.context.as_dict())])


class Bus:
    def __init__(self):
        self._listeners = {}

    def listen(self, event_type, callback):
        """Call `callback(event)` for each event of that type (MATCH_ALL for
        every type); returns a function that removes the listener."""
        self._listeners.setdefault(event_type, []).append(callback)

        def remove():
            callbacks = self._listeners.get(event_type, [])
            if callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._listeners[event_type]
        return remove

    def listener_counts(self):
        return {k: len(v) for k, v in self._listeners.items()}

    def fire(self, event_type, data=None, origin="LOCAL", context=None, time_fired=None):
        event = Event(event_type, data if data is not None else {}, origin,
                      context or Context(), time_fired or compat.now_us())
        for key in (event_type, MATCH_ALL):
            for callback in tuple(self._listeners.get(key, ())):
                try:
                    callback(event)
                except Exception as exc:  # one bad listener must not stop the others
                    _log.error("listener for {} failed: {!r}".format(event_type, exc))
        return event


class Subscription:
    """A bounded queue of items for one network consumer."""

    #: Items kept for a consumer that does not read; past this it is dropped.
    max_items = 256

    def __init__(self, max_items=None):
        self.items = []
        self.limit = max_items or self.max_items
        self.overflowed = False
        self.closed = False
        self._ready = asyncio.Event()

    def put(self, item):
        if self.closed:
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.close()
            return
        self.items.append(item)
        self._ready.set()

    def close(self):
        self.closed = True
        self._ready.set()

    async def get(self, timeout=None):
        """Wait for items and return them all; [] on timeout or when closed."""
        if not self.items and not self.closed:
            self._ready.clear()
            try:
                if timeout is None:
                    await self._ready.wait()
                else:
                    await asyncio.wait_for(self._ready.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        items, self.items = self.items, []
        return items
