"""Forwarders: the gateway as a client of the systems people already run.
Each entry of `forward` in config.json is one forwarder (`home_assistant`,
`hono`, `mqtt`), reading the hub and delivering into its target, with its
own queue, retries with backoff, and a status (`GET /api/ugate/forwarders`).

What this module holds is what they all share: the status and the retry
rhythm (`Forwarder`), the queue of entity states still to deliver
(`StateQueue`), and the entity filters. A type's module is imported only
when a forwarder of that type is configured.
"""
import asyncio

from ugate.base import compat, dates, log
from ugate.base.backoff import Backoff

TYPES = {"home_assistant": "home_assistant", "hono": "hono", "mqtt": "mqtt"}


def matches(pattern, text):
    """Shell-style pattern with * and ?, as Home Assistant's entity globs."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return any(matches(pattern[1:], text[i:]) for i in range(len(text) + 1))
    return bool(text) and (pattern[0] == "?" or pattern[0] == text[0]) and matches(pattern[1:], text[1:])


class EntityFilter:
    """`include` (empty: every entity) minus `exclude`."""

    def __init__(self, include, exclude):
        self.include = include
        self.exclude = exclude

    def __call__(self, entity_id):
        if self.include and not any(matches(p, entity_id) for p in self.include):
            return False
        return not any(matches(p, entity_id) for p in self.exclude)


class StateQueue:
    """The entities whose newest state is still to be delivered, oldest change
    first: one entry per entity however often it changes (what counts is its
    state now), so the queue is bounded by the entities. An entity that
    changes while its state is on the way is delivered again."""

    def __init__(self, wanted):
        self.wanted = wanted
        self.pending = compat.OrderedDict()  # entity id -> change count
        self._ready = asyncio.Event()

    def add(self, entity_id):
        if self.wanted(entity_id):
            self.pending[entity_id] = self.pending.get(entity_id, 0) + 1
            self._ready.set()

    def changed(self, event):
        """A bus listener for `state_changed`."""
        self.add(event.data["entity_id"])

    async def next(self):
        """(entity id, its change count) of the oldest pending entity, left
        in the queue until `done`."""
        while not self.pending:
            self._ready.clear()
            await self._ready.wait()
        for entity_id in self.pending:
            return entity_id, self.pending[entity_id]

    def done(self, entity_id, count):
        """Its state at `count` is delivered (or dropped for good)."""
        if self.pending.get(entity_id) == count:
            del self.pending[entity_id]


class Forwarder:
    """One configured forwarder: its status, and the pause after a failure."""
    #: Seconds before the first retry after a failure; doubled after each
    #: one up to `retry_max`.
    retry_initial = 1
    retry_max = 60

    def __init__(self, hub, conf):
        self.hub = hub
        self.conf = conf
        self.name = conf["name"]
        self.log = log.get("forward." + self.name)
        self.connected = False
        self.sent = 0
        self.failed = 0
        self.last_error = None
        self.last_success = None
        #: Why the target refused the gateway for good (wrong credentials):
        #: the forwarder then stops until the config is fixed.
        self.stopped = None
        self.backoff = Backoff(self.retry_initial, self.retry_max)

    def queued(self):
        return 0

    def status(self):
        return compat.OrderedDict([
            ("name", self.name), ("type", self.conf["type"]), ("connected", self.connected),
            ("queued", self.queued()), ("sent", self.sent), ("failed", self.failed),
            ("last_error", self.last_error),
            ("last_success", dates.iso(self.last_success) if self.last_success else None)])

    def reached(self):
        """The target answered as it should: connected, retries start over."""
        if not self.connected:
            self.log.info("connected")
        self.connected = True
        self.last_success = compat.now_us()
        self.backoff.reset()

    async def unreachable(self, reason):
        """The target could not be reached (or failed): wait, then retry."""
        if self.connected or self.last_error != reason:
            self.log.warning("{}; retrying in {} s".format(reason, self.backoff.delay))
        self.connected = False
        self.last_error = reason
        await self.backoff.wait()

    def refused(self, reason):
        """Wrong credentials or no right to deliver: stop, and tell the owner."""
        self.connected = False
        self.last_error = self.stopped = reason
        self.log.error("{}; stopped until the gateway restarts with a fixed config".format(reason))
        _notify(self.hub, "forward_" + self.name, "Forwarder {} stopped".format(self.name),
                "{}: {}. Fix its settings in config.json and restart the gateway.".format(
                    self.name, reason))

    async def run(self, hub):
        raise NotImplementedError


def _notify(hub, notification_id, title, message):
    try:
        hub.notify(notification_id, title, message)
    except ValueError as exc:  # a state machine full of entities
        log.get("forward").error("cannot raise the {} notification: {}".format(notification_id, exc))


def setup(app, hub):
    for conf in hub.config["forward"]:
        module = __import__("ugate.faces.forward." + TYPES[conf["type"]], None, None, ["create"])
        forwarder = module.create(hub, conf)
        hub.forwarders.append(forwarder)
        hub.background.append(forwarder.run)
