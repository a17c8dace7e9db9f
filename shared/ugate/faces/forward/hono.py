"""Forwarding into Eclipse Hono: the gateway as a Hono protocol gateway, as
Hono's HTTP adapter has gateways publish on behalf of the devices behind
them. Messages of the gateway's tenant (bridged sensors' telemetry, local
Hono devices' telemetry and events) and the states of mapped entities go to
`PUT /telemetry|event/<tenant>/<device>` with the gateway's Basic
credentials; `devices` maps local device ids and entity ids to the
upstream's device ids (empty: every device under its own id).

While the upstream answers, the forwarder is a consumer of the hub's message
channel (for Hono's rule, a device gets 503 when no consumer of its tenant
is connected): events are stored for it until the upstream took them, and a
local device's QoS 1 message is settled with the upstream's answer. 503 (no
consumer upstream) or no connection: events stay stored and are retried
with backoff; telemetry (QoS 0) waits in a bounded queue, its oldest dropped
with a notification when it is full. 401: the forwarder stops and notifies;
403/404 (the device is not behind this gateway upstream): that message is
refused and the owner notified.

With `ttd`, each mapped upstream device is polled for commands (an empty
notification with `hono-ttd`); a command goes through the hub's command
router to the local device, and a request-response command's outcome back
with `/command/res/<tenant>/<device>/<req-id>?hono-cmd-status=`.
"""
import asyncio
import json

from ugate.base import compat
from ugate.base.backoff import Backoff
from ugate.faces.forward import Forwarder, _notify
from ugate.http.client import Client, ClientError
from ugate.http.url import quote
from ugate.hub.commands import Command, DeviceUnavailable
from ugate.hub.messages import ACCEPTED, EVENT, REJECTED, TELEMETRY, Message, Receiver

EMPTY = "application/vnd.eclipse-hono-empty-notification"


class HonoGateway(Forwarder):
    #: Telemetry waiting while the upstream cannot take it; past this the
    #: oldest is dropped (stored events are never dropped: they wait in the
    #: hub's store, and its bound refuses new ones with 503).
    max_queued = 100

    def __init__(self, hub, conf):
        super().__init__(hub, conf)
        self.ssl = None
        if conf["url"].startswith("https://"):
            self.ssl = hub.platform.client_ssl_context(conf["verify_ssl"], conf["ca_file"])
        self.client = Client(conf["url"], self.ssl)
        credentials = "{}@{}:{}".format(conf["auth_id"], conf["tenant"], conf["password"])
        self.authorization = "Basic " + compat.b64encode(credentials.encode()).decode()
        self.tenant = conf["tenant"]
        self.devices = conf["devices"]
        self.local = dict((upstream, local) for local, upstream in self.devices.items())
        self.messages = hub.open_messages()
        self.consumer = "forward." + self.name
        self.receiver = Receiver(self.consumer, hub.tenant, self._offered, self.consumer,
                                 lambda msg: self.upstream(msg.device) is not None)
        self.detach = None
        self.queue = []  # Messages, or the ids of stored events
        self.ready = asyncio.Event()
        self.dropped = 0
        hub.bus.listen("state_changed", self._state_changed)

    def queued(self):
        return len(self.queue)

    def upstream(self, device):
        """The upstream id of a local device or entity; None: not forwarded."""
        if not self.devices:
            return device
        return self.devices.get(device)

    # What comes in.

    def _offered(self, msg):
        self._put(msg.id if msg.kind == EVENT else msg)

    def _state_changed(self, event):
        entity_id = event.data["entity_id"]
        state = event.data["new_state"]
        if state is None or entity_id not in self.devices:
            return
        payload = json.dumps({"entity_id": entity_id, "state": state["state"],
                              "attributes": state["attributes"]})
        self._put(Message(TELEMETRY, self.hub.tenant, entity_id, "application/json",
                          payload.encode(), orig_adapter="ugate-states"))

    def _put(self, item):
        held = [i for i, queued in enumerate(self.queue) if not isinstance(queued, str)]
        if not isinstance(item, str) and len(held) >= self.max_queued:
            del self.queue[held[0]]
            self.dropped += 1
            if self.dropped == 1:
                _notify(self.hub, "forward_" + self.name + "_dropped",
                        "Forwarder {} drops telemetry".format(self.name),
                        "{} cannot deliver and keeps at most {} messages; the oldest are dropped "
                        "until it can.".format(self.conf["url"], self.max_queued))
        self.queue.append(item)
        self.ready.set()

    # What goes out.

    async def run(self, hub):
        if self.conf["ttd"]:
            for device in (self.devices.values() if self.devices else ()):
                asyncio.create_task(self._poll_commands(device))
        while not self.stopped:
            if self.detach is None and not await self._probe():
                continue
            while not self.queue:
                self.ready.clear()
                await self.ready.wait()
            item = self.queue[0]
            msg = self.messages.read(item) if isinstance(item, str) else item
            if msg is None:  # settled or expired meanwhile
                self.queue.pop(0)
                continue
            await self._deliver(msg)

    async def _probe(self):
        """An empty notification for the gateway itself: does the upstream
        answer? Then be a consumer, with the stored events to deliver first."""
        try:
            answer = await self._request("POST", "/telemetry", EMPTY, b"", 0)
        except ClientError as exc:
            await self.unreachable(str(exc))
            return False
        if self._refused(answer.status):
            return False
        if answer.status >= 500 and answer.status != 503:
            await self.unreachable("{} answered {}".format(self.conf["url"], answer.status))
            return False
        self.reached()
        self.detach, backlog = self.messages.attach(self.receiver)
        self.queue = backlog + [i for i in self.queue if i not in backlog]
        return True

    async def _deliver(self, msg):
        path = "/{}/{}/{}".format("event" if msg.kind == EVENT else "telemetry", quote(self.tenant),
                                  quote(self.upstream(msg.device)))
        qos = 1 if msg.kind == EVENT else max(msg.qos, self.conf["qos"])
        try:
            answer = await self._request("PUT", path, msg.content_type, msg.payload, qos, msg.ttl)
        except ClientError as exc:
            self._lost(str(exc))
            await self.unreachable(str(exc))
            return
        if self._refused(answer.status):
            return
        if answer.status == 503 or answer.status >= 500:
            reason = "{} answered {} for {}".format(self.conf["url"], answer.status, msg.device)
            if msg.kind == EVENT:
                await self.unreachable(reason)  # stays first in the queue: retried
                return
            self.log.warning(reason + "; telemetry dropped")
            outcome = None
        elif answer.status < 300:
            self.reached()
            self.sent += 1
            outcome = ACCEPTED
        else:
            self.log.warning("{} refused {} from {} ({}): {}".format(
                self.conf["url"], msg.kind, msg.device, answer.status, answer.body[:200]))
            if answer.status in (403, 404):
                _notify(self.hub, "forward_" + self.name + "_device",
                        "Forwarder {}: a device is not behind this gateway".format(self.name),
                        "{} answered {} for device {} (upstream {}): register it upstream with "
                        "this gateway in its via list.".format(
                            self.conf["url"], answer.status, msg.device, self.upstream(msg.device)))
            outcome = REJECTED
        if outcome != ACCEPTED:
            self.failed += 1
        self.queue.pop(0)
        if outcome is not None and (msg.kind == EVENT or msg.qos):
            self.messages.ack(self.consumer, msg.tenant, msg.id, outcome)

    def _refused(self, status):
        if status != 401:
            return False
        self.refused("{} answered 401: the gateway's credentials are not accepted".format(
            self.conf["url"]))
        self._lost("stopped")
        return True

    def _lost(self, reason):
        """No longer a consumer: devices hear 503 unless another consumer is
        there; what is stored for this forwarder waits for its return."""
        if self.detach is not None:
            self.detach()
            self.detach = None
            self.queue = [i for i in self.queue if not isinstance(i, str)]

    def _request(self, method, path, content_type, payload, qos, ttl=None, extra=None):
        headers = {"Authorization": self.authorization, "Content-Type": content_type,
                   "QoS-Level": str(qos)}
        if ttl is not None:
            headers["hono-ttl"] = str(ttl)
        if extra:
            headers.update(extra)
        return self.client.request(method, path, headers, payload)

    # Commands from upstream.

    async def _poll_commands(self, device):
        """Wait in the upstream for `device`'s commands, one ttd after the other."""
        path = "/telemetry/{}/{}".format(quote(self.tenant), quote(device))
        poll = Client(self.conf["url"], self.ssl)
        poll.timeout = self.conf["ttd"] + self.client.timeout
        backoff = Backoff(self.retry_initial, self.retry_max)
        while not self.stopped:
            try:
                answer = await poll.request("PUT", path, {
                    "Authorization": self.authorization, "Content-Type": EMPTY,
                    "hono-ttd": str(self.conf["ttd"])})
            except ClientError as exc:
                answer, problem = None, str(exc)
            if answer is not None and answer.status < 300:
                backoff.reset()
                if "hono-command" in answer.headers:
                    await self._command(device, answer)
                continue
            if answer is not None:
                problem = "{} answered {}".format(self.conf["url"], answer.status)
            self.log.debug("command poll for {}: {}".format(device, problem))
            await backoff.wait()

    async def _command(self, device, answer):
        name = answer.headers["hono-command"]
        req_id = answer.headers.get("hono-cmd-req-id")
        local = self.local[device]
        target, name = local, name
        if "." in local:  # an entity: its device, the entity as the command's name
            state = self.hub.states.get(local)
            target = state.attributes.get("device_id", local) if state else local
            name = local
        cmd = Command(name, answer.headers.get("content-type"), answer.body)
        try:
            response = await self.hub.commands.send(self.hub.tenant, target, cmd,
                                                    self.client.timeout if req_id else None)
            status, body = (response.status, response.payload) if response else (200, b"")
        except DeviceUnavailable as exc:
            status, body = 503, str(exc).encode()
        except ValueError as exc:
            status, body = 400, str(exc).encode()
        self.log.info("command {} for {}: {}".format(name, device, status))
        if req_id:
            path = "/command/res/{}/{}/{}?hono-cmd-status={}".format(
                quote(self.tenant), quote(device), req_id, status)
            try:
                await self.client.request("PUT", path, {"Authorization": self.authorization,
                                                        "Content-Type": "text/plain"}, body)
            except ClientError as exc:
                self.log.warning("cannot answer command {}: {}".format(req_id, exc))


def create(hub, conf):
    return HonoGateway(hub, conf)
