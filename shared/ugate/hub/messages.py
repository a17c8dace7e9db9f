"""The message channel: telemetry and events from devices on their way to the
applications that consume them, with Hono's delivery rules.

Sources publish `Message`s here (a Hono device's upload, a bridged sensor's
reading); consumers read them. A consumer has a name (`hono` for Hono's
application API, `forward.<name>` for each Hono forwarder) and takes a
tenant's messages through the receivers it attaches while it is connected
(one per open stream; a forwarder's while its upstream answers).

- No receiver for the tenant: the sender is told (`NoConsumer`), and a Hono
  device gets 503.
- QoS 0: handed to the receivers connected now, never waited for.
- QoS 1 (telemetry with `QoS-Level: 1`, every event): the sender waits until
  a consumer acknowledges the message (`ack`, "settling" in AMQP's word:
  accepted, rejected or released) or `ack_timeout` passes.
- Events are durable: stored (`EventStore`) before they go out and kept until
  every consumer they were addressed to acknowledged them, so a consumer
  that connects later, or after a restart or a power cut, still gets them
  (at least once).
"""
import asyncio
import json
import os

from ugate.base import compat, dates, log, store
from ugate.hub import TELEMETRY_EVENT

_log = log.get("messages")

TELEMETRY = "telemetry"
EVENT = "event"
ACCEPTED = "accepted"
REJECTED = "rejected"
RELEASED = "released"
OUTCOMES = (ACCEPTED, REJECTED, RELEASED)


class NoConsumer(Exception):
    pass


class StoreFull(Exception):
    pass


class Message:
    """One telemetry or event message with Hono's downstream properties."""

    def __init__(self, kind, tenant, device, content_type, payload, qos=0, ttd=None, ttl=None,
                 orig_adapter="hono-http", orig_address=None, properties=None, id=None,
                 created=None):
        self.id = id or compat.ulid()
        self.kind = kind
        self.tenant = tenant
        self.device = device
        self.content_type = content_type
        self.payload = payload
        self.qos = qos
        self.ttd = ttd
        self.ttl = ttl  # seconds
        self.orig_adapter = orig_adapter
        self.orig_address = orig_address
        self.properties = properties or {}
        self.created = created or compat.now_us()

    def expires(self):
        """When the message is no longer worth delivering (µs), or None."""
        return None if self.ttl is None else self.created + self.ttl * 1000000

    def as_dict(self):
        """The message as Hono's consumers see it."""
        d = compat.OrderedDict([
            ("id", self.id), ("type", self.kind), ("tenant_id", self.tenant),
            ("device_id", self.device), ("content-type", self.content_type), ("qos", self.qos)])
        if self.ttd:
            d["ttd"] = self.ttd
        if self.ttl is not None:
            d["ttl"] = self.ttl * 1000
        d["creation-time"] = dates.iso(self.created)
        d["orig_adapter"] = self.orig_adapter
        d["orig_address"] = self.orig_address
        d["application-properties"] = self.properties
        try:
            d["payload"] = compat.decode(self.payload)
        except UnicodeError:
            d["payload_base64"] = compat.b64encode(self.payload).decode()
        return d

    def record(self):
        """The message as the event store keeps it (payload in base64)."""
        return {"id": self.id, "kind": self.kind, "tenant": self.tenant, "device": self.device,
                "content_type": self.content_type, "payload": compat.b64encode(self.payload).decode(),
                "ttd": self.ttd, "ttl": self.ttl, "orig_adapter": self.orig_adapter,
                "orig_address": self.orig_address, "properties": self.properties,
                "created": self.created}

    @classmethod
    def from_record(cls, r):
        return cls(r["kind"], r["tenant"], r["device"], r["content_type"],
                   compat.b64decode(r["payload"]), 1, r["ttd"], r["ttl"], r["orig_adapter"],
                   r["orig_address"], r["properties"], r["id"], r["created"])


class _Stored:
    """What the store keeps in memory of one event: where its line starts,
    and who still has to acknowledge it. The event itself stays on file."""

    def __init__(self, offset, tenant, expires, consumers):
        self.offset = offset
        self.tenant = tenant
        self.expires = expires
        self.consumers = consumers


class EventStore:
    """Events not yet acknowledged by every consumer they were sent to, in an
    append-only file (one line per event added, one per acknowledgement).
    Only an index is held in memory; events are read back one at a time, so
    the store may be larger than a board's heap. A line cut by a power loss
    costs that line only; the file is then rewritten without it, so the next
    event is not appended to the damage."""

    FILE = "hono_events.jsonl"
    #: Events kept per tenant (`hono.max_stored_events`): one tenant's stuck
    #: consumer cannot fill the store for the others; past this its devices'
    #: events get 503. Each costs an index entry of memory, not the event.
    max_per_tenant = 100

    def __init__(self, config_dir):
        self.path = store.join(config_dir, self.FILE)
        self.index = compat.OrderedDict()  # message id -> _Stored, oldest first
        self.size = 0  # bytes in the file: where the next line starts
        self.lines = 0
        self._load()

    def _load(self):
        damaged = False
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        with f:
            while True:
                line = f.readline()
                if not line:
                    break
                offset = self.size
                self.size += len(line)
                if not line.strip():
                    continue
                self.lines += 1
                # Rewritten below if the last line was cut short, even where
                # what is left of it parses.
                damaged = damaged or not line.endswith(b"\n")
                try:
                    self._replay(json.loads(line.decode()), offset)  # UnicodeError is a ValueError
                except (ValueError, KeyError, TypeError):  # a line cut or garbled by a power loss
                    _log.warning("{}: skipped a damaged line".format(self.path))
                    damaged = True
        if damaged:
            self._compact()
        self._drop_expired()
        if self.index:
            _log.info("{} stored events wait for a consumer".format(len(self.index)))

    def _replay(self, entry, offset):
        if "add" in entry:
            r = entry["add"]
            ttl = r["ttl"]
            expires = None if ttl is None else r["created"] + ttl * 1000000
            # Files written before consumers had names were for Hono's alone.
            self.index[r["id"]] = _Stored(offset, r["tenant"], expires, entry.get("to", ["hono"]))
        else:
            self._forget(entry["done"], entry.get("by"))

    def _forget(self, msg_id, consumer):
        """`consumer` acknowledged `msg_id` (None: all did); True when the
        store had it for them."""
        stored = self.index.get(msg_id)
        if stored is None or consumer is not None and consumer not in stored.consumers:
            return False
        if consumer is not None:
            stored.consumers.remove(consumer)
        if consumer is None or not stored.consumers:
            del self.index[msg_id]
        return True

    def _drop_expired(self):
        now = compat.now_us()
        for msg_id in [i for i, s in self.index.items() if s.expires is not None and now > s.expires]:
            del self.index[msg_id]
            self._write({"done": msg_id})

    def add(self, msg, consumers):
        """Keep `msg` until each of `consumers` acknowledged it; StoreFull
        when its tenant has its bound stored already."""
        self._drop_expired()
        if self.count(msg.tenant) >= self.max_per_tenant:
            raise StoreFull()
        offset = self._write({"add": msg.record(), "to": consumers})
        self.index[msg.id] = _Stored(offset, msg.tenant, msg.expires(), list(consumers))

    def done(self, msg_id, consumer):
        """`consumer` acknowledged `msg_id`; False when it was not kept for it."""
        if not self._forget(msg_id, consumer):
            return False
        self._write({"done": msg_id, "by": consumer})
        return True

    def count(self, tenant):
        return sum(1 for s in self.index.values() if s.tenant == tenant)

    def waiting(self, consumer, tenant):
        """The ids of the events `consumer` has yet to acknowledge for
        `tenant`, oldest first (ids only: read each with `read`)."""
        self._drop_expired()
        return [i for i, s in self.index.items() if s.tenant == tenant and consumer in s.consumers]

    def read(self, msg_id):
        """The stored event `msg_id`, read from the file; None when it is no
        longer kept."""
        stored = self.index.get(msg_id)
        if stored is None:
            return None
        with open(self.path, "rb") as f:
            f.seek(stored.offset)
            return Message.from_record(json.loads(f.readline().decode())["add"])

    def _write(self, entry):
        if self.lines >= 2 * len(self.index) + 16:
            self._compact()
        line = json.dumps(entry).encode()  # bytes: offsets count bytes
        offset = self.size
        with open(self.path, "ab") as f:
            f.write(line)
            f.write(b"\n")
        self.size += len(line) + 1
        self.lines += 1
        return offset

    def _compact(self):
        """Rewrite the file with only the events still kept, a line at a
        time, into a file renamed over the old one."""
        tmp = self.path + ".tmp"
        size = 0
        with open(self.path, "rb") as src:
            with open(tmp, "wb") as dst:
                for stored in self.index.values():
                    src.seek(stored.offset)
                    entry = json.loads(src.readline().decode())
                    entry["to"] = stored.consumers
                    line = json.dumps(entry).encode()
                    dst.write(line)
                    dst.write(b"\n")
                    stored.offset = size
                    size += len(line) + 1
        os.rename(tmp, self.path)
        self.size = size
        self.lines = len(self.index)


class Receiver:
    """Where a consumer takes a tenant's live messages while it is connected
    (one per open stream). `push(msg)` must not block; `wants(msg)`, when
    given, picks the messages it takes (a forwarder forwards some devices)."""

    def __init__(self, consumer, tenant, push, name, wants=None):
        self.consumer = consumer
        self.tenant = tenant
        self.push = push
        self.name = name  # for the log and the status: the client's address
        self.wants = wants
        self.since = compat.now_us()
        self.handed = 0  # messages handed to it, for its status

    def takes(self, msg):
        return self.tenant == msg.tenant and (self.wants is None or self.wants(msg))


class _Waiting:
    """A QoS 1 message waiting for its first acknowledgement."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.outcome = None
        self.done = asyncio.Event()


class Messages:
    def __init__(self, config_dir, bus, own_tenant):
        self.receivers = []
        self.events = EventStore(config_dir)
        self.waiting = {}  # message id -> _Waiting
        self.own_tenant = own_tenant
        #: Functions `known(tenant)` of the sources: a consumer may only
        #: attach to the gateway's own tenant or one a source knows.
        self.tenant_checks = []
        bus.listen(TELEMETRY_EVENT, self._readings)

    def _readings(self, event):
        """A source's readings (`Hub.publish_telemetry`) as QoS 0 telemetry."""
        data = event.data
        if self.has_consumer(data["tenant"]):
            self.offer(Message(TELEMETRY, data["tenant"], data["device_id"], "application/json",
                               json.dumps(data["payload"]).encode(), orig_adapter="ugate-bridge"))

    def knows(self, tenant):
        return tenant == self.own_tenant or any(known(tenant) for known in self.tenant_checks)

    def attach(self, receiver):
        """Start handing `receiver` its tenant's messages; returns (a
        function that stops it, the ids of the stored events its consumer has
        yet to acknowledge, to be read and sent one at a time)."""
        self.receivers.append(receiver)
        _log.info("consumer {} connected for tenant {}".format(receiver.name, receiver.tenant))

        def detach():
            if receiver in self.receivers:
                self.receivers.remove(receiver)
                _log.info("consumer {} left tenant {}".format(receiver.name, receiver.tenant))

        return detach, self.events.waiting(receiver.consumer, receiver.tenant)

    def has_consumer(self, tenant):
        return any(r.tenant == tenant for r in self.receivers)

    def _consumers(self, msg):
        names = []
        for r in self.receivers:
            if r.takes(msg) and r.consumer not in names:
                names.append(r.consumer)
        return names

    def offer(self, msg):
        """Hand `msg` to every receiver of its tenant without waiting (QoS 0);
        False when there is none (the message is dropped, as Hono drops QoS 0
        telemetry nobody consumes)."""
        receivers = [r for r in self.receivers if r.takes(msg)]
        for receiver in receivers:
            receiver.handed += 1
            receiver.push(msg)
        return bool(receivers)

    def status(self):
        """The connected receivers, for the owner's status page: who, for
        which tenant, since when, messages handed, stored events still to
        settle."""
        return [compat.OrderedDict([
            ("name", r.name), ("consumer", r.consumer), ("tenant", r.tenant),
            ("since", dates.iso(r.since)), ("messages", r.handed),
            ("events_waiting", len(self.events.waiting(r.consumer, r.tenant)))])
            for r in self.receivers]

    async def deliver(self, msg, ack_timeout):
        """Deliver `msg` with its QoS; returns the outcome (None when no
        consumer acknowledged it within `ack_timeout` seconds). NoConsumer,
        StoreFull."""
        consumers = self._consumers(msg)
        if not consumers:
            raise NoConsumer()
        if msg.kind == EVENT:
            self.events.add(msg, consumers)
        if msg.qos == 0:
            self.offer(msg)
            return ACCEPTED
        waiting = self.waiting[msg.id] = _Waiting(msg.tenant)
        try:
            self.offer(msg)
            await asyncio.wait_for(waiting.done.wait(), ack_timeout)
        except asyncio.TimeoutError:
            pass  # an event not acknowledged stays stored for the next consumer
        finally:
            self.waiting.pop(msg.id, None)
        return waiting.outcome

    def read(self, msg_id):
        return self.events.read(msg_id)

    def ack(self, consumer, tenant, msg_id, outcome):
        """`consumer`'s acknowledgement (settlement) of a message of
        `tenant`; False when no such message waits or is stored for it. The
        first one decides what the sender hears; every outcome takes the event
        off the store for that consumer (a released message is the sender's
        to send again)."""
        waiting = self.waiting.get(msg_id)
        found = waiting is not None and waiting.tenant == tenant
        if found and waiting.outcome is None:
            waiting.outcome = outcome
            waiting.done.set()
        stored = self.events.index.get(msg_id)
        if stored is not None and stored.tenant == tenant:
            found = self.events.done(msg_id, consumer) or found
        return found
