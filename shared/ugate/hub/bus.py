"""The event bus: every change in the gateway is an Event fired here, and the
faces (SSE, WebSocket, later Hono consumers and forwarders) listen.

Listeners are plain callables run inline, so they must not block: network
consumers put what they hear in a `BoundedQueue` and send it from their own
task.
"""
import json

from ugate.base import compat, dates, log

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
    def __init__(self, event_type, data, origin, context, time_fired, data_json=None):
        self.event_type = event_type
        self.data = data
        self.origin = origin
        self.context = context
        self.time_fired = time_fired
        self._data_json = data_json
        self._json = None

    def as_dict(self):
        return compat.OrderedDict([
            ("event_type", self.event_type), ("data", self.data), ("origin", self.origin),
            ("time_fired", dates.iso(self.time_fired)), ("context", self.context.as_dict())])

    def json(self):
        """`as_dict()` as JSON text, built once for all who send it."""
        if self._json is None:
            data = self._data_json() if self._data_json else json.dumps(self.data)
            self._json = '{{"event_type": {}, "data": {}, "origin": {}, "time_fired": {}, "context": {}}}'.format(
                json.dumps(self.event_type), data, json.dumps(self.origin),
                json.dumps(dates.iso(self.time_fired)), json.dumps(self.context.as_dict()))
            self._data_json = None
        return self._json


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

    def listened(self, event_type):
        """Whether anyone listens to `event_type` by name (not only to all)."""
        return event_type in self._listeners

    def listener_counts(self):
        return {k: len(v) for k, v in self._listeners.items()}

    def fire(self, event_type, data=None, origin="LOCAL", context=None, time_fired=None,
             data_json=None):
        """`data_json`: a function that returns `data` as JSON text, when the
        caller has it cheaper than json.dumps."""
        event = Event(event_type, data if data is not None else {}, origin,
                      context or Context(), time_fired or compat.now_us(), data_json)
        for key in (event_type, MATCH_ALL):
            for callback in tuple(self._listeners.get(key, ())):
                try:
                    callback(event)
                except Exception as exc:  # one bad listener must not stop the others
                    _log.error("listener for {} failed: {!r}".format(event_type, exc))
        return event
