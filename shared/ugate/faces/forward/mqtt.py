"""Forwarding into an MQTT broker, with Home Assistant's MQTT discovery.

Topics, all retained but the commands (`<base>` is `base_topic`, by
default `ugate/<first 12 digits of the instance id>`; `<node>` is the
gateway's device, `ugate-<same 12 digits>`):

    <base>/status                               online; offline is the will
    <base>/<domain>/<object_id>/state           the state, as text
    <base>/<domain>/<object_id>/attributes      its attributes, JSON
    <base>/<domain>/<object_id>/set             a command to its device
    <discovery_prefix>/<component>/<node>/<object_id>/config    discovery
    <discovery_prefix>/status                   online: discovery again

A sensor or binary sensor is announced with a `device`: a bridged one's
own (its protocol and model, `via_device` the gateway), others the
gateway's. A binary sensor whose device takes commands and that has no
device class is a `switch`. A removed entity's retained topics are
emptied. At every (re)connect the gateway says `online`, announces itself
and sends every included entity's discovery and state again (a broker
restarted without persistence has everything back); while the broker is
away only the newest state of each entity waits.
"""
import asyncio
import binascii
import json

from ugate.base import compat
from ugate.base.mqtt import Refused
from ugate.faces.forward import EntityFilter, Forwarder, StateQueue
from ugate.hub.commands import Command, DeviceUnavailable
from ugate.hub.states import slugify

#: Entity domain -> discovery component; other domains get state topics only.
COMPONENTS = {"sensor": "sensor", "binary_sensor": "binary_sensor"}
#: Device classes of meters that only count up (Home Assistant refuses
#: `measurement` for them); every other sensor with a unit is a measurement.
METERS = ("energy", "gas", "water")
#: The gateway's own entity: its connection to the broker. Not a valid
#: object id, so no entity's topic can be the same.
GATEWAY_OBJECT = "gateway-status"


def _crc(data):
    """A small fingerprint of what was published, to send it again only
    when it changed (30 bits: a small int on a board, no heap)."""
    return binascii.crc32(data) & 0x3FFFFFFF


def _reason(exc):
    return str(exc) or exc.__class__.__name__


def split_name(friendly_name, device_name, key=None):
    """(device name, entity name) for Home Assistant, which shows an
    entity as "<device name> <entity name>". A bridged reading's friendly
    name is "<device name> <Key In Words>" (key `key`, as in its entity
    id); otherwise the device name is `device_name`, cut from the front of
    the friendly name when it is there."""
    words = friendly_name.split()
    if key:
        n = len(key.split("_"))
        if len(words) > n:
            return " ".join(words[:-n]), " ".join(words[-n:])
    if friendly_name.startswith(device_name + " "):
        return device_name, friendly_name[len(device_name) + 1:]
    return device_name, friendly_name


class Mqtt(Forwarder):
    def __init__(self, hub, conf):
        super().__init__(hub, conf)
        short = hub.instance_id[:12]
        self.node = "ugate-" + short
        self.base = conf["base_topic"] or "ugate/" + short
        self.prefix = conf["discovery_prefix"]
        self.status_topic = self.base + "/status"
        self.expire_after = conf["expire_after"]
        ssl = hub.platform.client_ssl_context(True, conf["ca_file"]) if conf["tls"] else None
        self.client = hub.platform.mqtt_client(
            conf["host"], conf["port"], conf["client_id"] or self.node, conf["username"],
            conf["password"], ssl, conf["keepalive"], (self.status_topic, b"offline"))
        self.queue = StateQueue(EntityFilter(conf["include"], conf["exclude"]))
        hub.bus.listen("state_changed", self.queue.changed)
        #: entity id -> [its discovery component or None, fingerprint of the
        #: attributes its discovery and attributes topic were last sent with
        #: (None: send them again)].
        self.published = {}
        self.origin = compat.OrderedDict([("name", "ugate"), ("sw_version", hub.version)])
        self.gateway = compat.OrderedDict([
            ("identifiers", [self.node]), ("name", hub.config["location_name"]),
            ("manufacturer", "ugate"), ("model", hub.platform.name), ("sw_version", hub.version)])

    def queued(self):
        return len(self.queue.pending)

    async def run(self, hub):
        while not self.stopped:
            try:
                await self.client.connect()
                try:
                    await self._session()
                finally:
                    await self.client.close()
            except Refused as exc:
                self.refused(_reason(exc))
            except OSError as exc:
                await self.unreachable(_reason(exc))

    async def _session(self):
        client = self.client
        await client.subscribe(self.prefix + "/status")
        await client.subscribe(self.base + "/+/+/set")
        await client.publish(self.status_topic, b"online", True)
        self.reached()
        await self._announce()
        receiving = asyncio.create_task(self._receive())
        sending = asyncio.create_task(self._send())
        try:
            await asyncio.gather(receiving, sending)  # until one fails
        finally:
            receiving.cancel()
            sending.cancel()

    async def _announce(self):
        """The gateway's own discovery now, every entity's discovery and
        state again after it."""
        config = compat.OrderedDict([
            ("name", "Status"), ("unique_id", self.node + "_status"),
            ("default_entity_id", "binary_sensor." + slugify(self.node) + "_status"),
            ("state_topic", self.status_topic), ("payload_on", "online"), ("payload_off", "offline"),
            ("device_class", "connectivity"), ("entity_category", "diagnostic"),
            ("device", self.gateway), ("origin", self.origin)])
        await self.client.publish("{}/binary_sensor/{}/{}/config".format(self.prefix, self.node, GATEWAY_OBJECT),
                                  json.dumps(config).encode(), True)
        for entry in self.published.values():
            entry[1] = None
        for state in self.hub.states.all():
            self.queue.add(state.entity_id)

    async def _send(self):
        while True:
            entity_id, count = await self.queue.next()
            await self._deliver(entity_id)
            self.queue.done(entity_id, count)
            self.sent += 1
            self.reached()

    async def _deliver(self, entity_id):
        """An entity's state; before it, when its attributes changed (or
        everything is announced again), its discovery and attributes."""
        publish = self.client.publish
        topic = self.base + "/" + entity_id.replace(".", "/")
        entry = self.published.get(entity_id)
        state = self.hub.states.get(entity_id)
        if state is None:  # removed: empty retained messages delete them
            if entry is not None and entry[0]:
                await publish(self._config_topic(entry[0], entity_id), b"", True)
            self.published.pop(entity_id, None)
            await publish(topic + "/state", b"", True)
            await publish(topic + "/attributes", b"", True)
            return
        if entry is None:
            entry = self.published[entity_id] = [None, None]
        attributes = json.dumps(state.attributes).encode()
        if entry[1] != _crc(attributes):
            component, config = self._discovery(state, topic)
            if entry[0] and entry[0] != component:  # announced as another component before
                await publish(self._config_topic(entry[0], entity_id), b"", True)
                entry[0] = None
            if config is not None:
                await publish(self._config_topic(component, entity_id), config, True)
                entry[0] = component
            await publish(topic + "/attributes", attributes, True)
            entry[1] = _crc(attributes)
        await publish(topic + "/state", state.state.encode(), True)

    def _config_topic(self, component, entity_id):
        return "{}/{}/{}/{}/config".format(self.prefix, component, self.node, entity_id.split(".", 1)[1])

    def _discovery(self, state, topic):
        """(component, config) announcing `state` to Home Assistant, or
        (None, None) for a domain discovery leaves out. It depends on the
        entity's attributes only."""
        domain, object_id = state.entity_id.split(".", 1)
        component = COMPONENTS.get(domain)
        if component is None:
            return None, None
        attrs = state.attributes
        device_id = attrs.get("device_id")
        tenant = attrs.get("tenant_id", self.hub.tenant)
        commandable = isinstance(device_id, str) and isinstance(tenant, str) and \
            self.hub.commands.accepts(tenant, device_id, state.entity_id)
        if commandable and component == "binary_sensor" and not attrs.get("device_class"):
            component = "switch"
        friendly = attrs.get("friendly_name")
        friendly = friendly if isinstance(friendly, str) and friendly else object_id
        if isinstance(device_id, str):
            name, device = self._device(attrs, device_id, tenant, friendly, object_id)
        else:
            name, device = friendly, self.gateway
        config = compat.OrderedDict([
            ("name", name), ("unique_id", self.node + "_" + state.entity_id),
            ("default_entity_id", component + "." + object_id), ("state_topic", topic + "/state"),
            ("json_attributes_topic", topic + "/attributes"),
            ("availability", [{"topic": self.status_topic}])])
        if component == "sensor":
            for key in ("unit_of_measurement", "device_class", "state_class"):
                if attrs.get(key):
                    config[key] = attrs[key]
            if "unit_of_measurement" in config and "state_class" not in config:
                meter = config.get("device_class") in METERS
                config["state_class"] = "total_increasing" if meter else "measurement"
        else:
            config["payload_on"] = "on"
            config["payload_off"] = "off"
            if attrs.get("device_class"):
                config["device_class"] = attrs["device_class"]
        if component == "switch":
            # Radio switches do not report back: Home Assistant shows what
            # it sent until the device says otherwise.
            config["command_topic"] = topic + "/set"
            config["optimistic"] = True
        elif self.expire_after and "port" in attrs:
            config["expire_after"] = self.expire_after  # a bridged sensor that went quiet
        config["device"] = device
        config["origin"] = self.origin
        return component, json.dumps(config).encode()

    def _device(self, attrs, device_id, tenant, friendly, object_id):
        """(entity name, device) of an entity that belongs to a device
        behind the gateway (a bridged sensor, a Hono device)."""
        local = device_id.split("/", 1)[-1]
        key = None
        if "port" in attrs and object_id.startswith(slugify(local) + "_"):
            key = object_id[len(slugify(local)) + 1:]
        device_name, name = split_name(friendly, local, key)
        ident = device_id if tenant == self.hub.tenant else tenant + "/" + device_id
        device = compat.OrderedDict([("identifiers", [self.node + "_" + ident]), ("name", device_name)])
        if isinstance(attrs.get("protocol"), str):
            device["manufacturer"] = attrs["protocol"]
        for key in ("model", "rflink_protocol", "sketch_name"):
            if isinstance(attrs.get(key), str):
                device["model"] = attrs[key]
                break
        if isinstance(attrs.get("sketch_version"), str):
            device["sw_version"] = attrs["sketch_version"]
        device["via_device"] = self.node
        return name, device

    async def _receive(self):
        birth = self.prefix + "/status"
        commands = self.base + "/"
        while True:
            topic, payload = await self.client.message()
            if topic == birth:
                if payload == b"online":
                    self.log.info("Home Assistant is online: sending discovery again")
                    await self._announce()
            elif topic.startswith(commands) and topic.endswith("/set"):
                await self._command(topic[len(commands):-4].replace("/", "."), payload)

    async def _command(self, entity_id, payload):
        """A message on an entity's `set` topic, to its device through the
        hub's command router (the payload is the value, as text)."""
        state = self.hub.states.get(entity_id)
        device_id = state.attributes.get("device_id") if state is not None else None
        if not isinstance(device_id, str):
            self.log.warning("a command for {}, which has no device to take it".format(entity_id))
            return
        tenant = state.attributes.get("tenant_id", self.hub.tenant)
        try:
            await self.hub.commands.send(tenant, device_id, Command(entity_id, "text/plain", payload))
        except (ValueError, DeviceUnavailable) as exc:
            self.log.warning("command {!r} for {} not sent: {}".format(payload[:40], entity_id, _reason(exc)))


def create(hub, conf):
    return Mqtt(hub, conf)
