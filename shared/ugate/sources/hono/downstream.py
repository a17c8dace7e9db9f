"""Messages on their way north: to the applications consuming a tenant's
telemetry and events (`GET /api/hono/<tenant>/messages`, see `north.py`).

Hono hands messages to AMQP or Kafka consumers; a gateway has neither, so
its consumers are server-sent event streams and settle a message over HTTP.
The semantics are Hono's:

- no consumer connected for the tenant: the device gets 503;
- QoS 0 telemetry: sent to the consumers, answered at once;
- QoS 1 telemetry and events: the device is answered when a consumer
  settles the message (accepted 202, rejected 400, released 503) or when
  `settle_timeout` passes (503);
- events are durable: written to `EventStore` before they go out and kept
  there until a consumer settles them, so a consumer that connects later (or
  after a restart) still gets them.
"""
import asyncio
import json

from ugate.base import compat, log, store
from ugate.http.sse import EventStreamBody, frame

_log = log.get("hono.downstream")

TELEMETRY = "telemetry"
EVENT = "event"
ACCEPTED = "accepted"
REJECTED = "rejected"
RELEASED = "released"
OUTCOMES = (ACCEPTED, REJECTED, RELEASED)
EMPTY_NOTIFICATION = "application/vnd.eclipse-hono-empty-notification"


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

    def expired(self, now):
        return self.ttl is not None and now > self.created + self.ttl * 1000000

    def as_dict(self):
        d = compat.OrderedDict()
        d["id"] = self.id
        d["type"] = self.kind
        d["tenant_id"] = self.tenant
        d["device_id"] = self.device
        d["content-type"] = self.content_type
        d["qos"] = self.qos
        if self.ttd:
            d["ttd"] = self.ttd
        if self.ttl is not None:
            d["ttl"] = self.ttl * 1000
        d["creation-time"] = compat.iso(self.created)
        d["orig_adapter"] = self.orig_adapter
        d["orig_address"] = self.orig_address
        d["application-properties"] = self.properties
        try:
            d["payload"] = self.payload.decode()
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


class EventStore:
    """Accepted events not yet settled by a consumer, in an append-only file
    (`hono_events.jsonl`: one line per event added or settled), replayed at
    start and rewritten with only the pending events when it grows."""

    FILE = "hono_events.jsonl"
    #: Events kept at most; more are refused (503) rather than dropping old ones.
    max_events = 100

    def __init__(self, config_dir, max_events=None):
        self.path = store.join(config_dir, self.FILE)
        if max_events:
            self.max_events = max_events
        self.pending = compat.OrderedDict()  # id -> Message
        self.lines = 0
        self._load()

    def _load(self):
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            return
        damaged = data and not data.endswith(b"\n")
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            self.lines += 1
            try:
                entry = json.loads(line.decode())  # UnicodeError is a ValueError
                if "add" in entry:
                    msg = Message.from_record(entry["add"])
                    self.pending[msg.id] = msg
                else:
                    self.pending.pop(entry["done"], None)
            except (ValueError, KeyError, TypeError):  # a line cut or garbled by a power loss
                _log.warning("{}: skipped a damaged line".format(self.path))
                damaged = True
        if damaged:
            # Rewritten without the damage: the next line appended to a cut
            # one would be lost with it at the next start.
            self._compact()
        self._drop_expired()
        if self.pending:
            _log.info("{} stored events wait for a consumer".format(len(self.pending)))

    def _drop_expired(self):
        now = compat.now_us()
        for msg_id in [i for i, m in self.pending.items() if m.expired(now)]:
            self.remove(msg_id)

    def add(self, msg):
        self._drop_expired()
        if len(self.pending) >= self.max_events:
            raise StoreFull()
        self._write({"add": msg.record()})
        self.pending[msg.id] = msg

    def remove(self, msg_id):
        if self.pending.pop(msg_id, None) is not None:
            self._write({"done": msg_id})

    def for_tenant(self, tenant):
        self._drop_expired()
        return [m for m in self.pending.values() if m.tenant == tenant]

    def _write(self, entry):
        if self.lines >= 2 * self.max_events + 16:
            self._compact()
        store.append(self.path, json.dumps(entry) + "\n")
        self.lines += 1

    def _compact(self):
        text = "".join(json.dumps({"add": m.record()}) + "\n" for m in self.pending.values())
        store.write_atomic(self.path, text)
        self.lines = len(self.pending)


class Consumer(EventStreamBody):
    """One application's stream of a tenant's messages."""
    #: Stored events are replayed at connection, so a consumer may get up to
    #: `EventStore.max_events` messages at once.
    max_pending_bytes = 512 * 1024

    def __init__(self, downstream, tenant, sock, client):
        super().__init__(sock, client)
        self.downstream = downstream
        self.tenant = tenant

    def subscribe(self):
        return self.downstream.attach(self)

    def send(self, msg):
        self.push(frame(msg.as_dict()))


class Settlement:
    def __init__(self, tenant):
        self.tenant = tenant
        self.outcome = None
        self.done = asyncio.Event()


class Downstream:
    #: Seconds a QoS 1 message waits for a consumer to settle it.
    settle_timeout = 5

    def __init__(self, config_dir, settle_timeout=None, max_events=None):
        self.consumers = {}  # tenant -> [Consumer]
        self.events = EventStore(config_dir, max_events)
        self.waiting = {}  # message id -> Settlement
        if settle_timeout:
            self.settle_timeout = settle_timeout

    def attach(self, consumer):
        """Register a consumer (its stream calls this when it starts) and
        hand it the tenant's stored events; returns its removal."""
        self.consumers.setdefault(consumer.tenant, []).append(consumer)
        _log.info("consumer {} connected for tenant {}".format(consumer.client, consumer.tenant))

        def remove():
            consumers = self.consumers.get(consumer.tenant, [])
            if consumer in consumers:
                consumers.remove(consumer)
                _log.info("consumer {} left tenant {}".format(consumer.client, consumer.tenant))

        for msg in self.events.for_tenant(consumer.tenant):
            consumer.send(msg)
        if consumer.queue.closed:  # dropped while taking the stored events
            remove()
        return remove

    def has_consumer(self, tenant):
        return bool(self.consumers.get(tenant))

    def publish(self, msg):
        """Hand `msg` to every consumer of its tenant, without waiting
        (QoS 0); NoConsumer when there is none."""
        consumers = self.consumers.get(msg.tenant)
        if not consumers:
            raise NoConsumer()
        for consumer in tuple(consumers):
            consumer.send(msg)

    async def send(self, msg):
        """Deliver `msg` with its QoS; returns the outcome (None when no
        consumer settled it in time). NoConsumer, StoreFull."""
        if not self.has_consumer(msg.tenant):
            raise NoConsumer()
        if msg.kind == EVENT:
            self.events.add(msg)
        if msg.qos == 0:
            self.publish(msg)
            return ACCEPTED
        settlement = Settlement(msg.tenant)
        self.waiting[msg.id] = settlement
        try:
            self.publish(msg)
            await asyncio.wait_for(settlement.done.wait(), self.settle_timeout)
        except asyncio.TimeoutError:
            pass  # an unsettled event stays stored for the next consumer
        finally:
            self.waiting.pop(msg.id, None)
        return settlement.outcome

    def settle(self, tenant, msg_id, outcome):
        """A consumer's outcome for a message; False when the tenant has no
        such message waiting or stored."""
        settlement = self.waiting.get(msg_id)
        stored = self.events.pending.get(msg_id)
        if settlement is not None and settlement.tenant == tenant:
            settlement.outcome = outcome
            settlement.done.set()
        elif stored is None or stored.tenant != tenant:
            return False
        # Settled either way: the device is told, and it resends what was
        # released; nothing is delivered twice from the store.
        self.events.remove(msg_id)
        return True
