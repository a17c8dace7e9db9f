"""The serial and radio sensor bridge: one task per configured port reads
lines, feeds them to the port's protocol parser (`ugate.sources.sensors`), writes
the parser's replies back and publishes readings into the hub: entity states,
and per device the telemetry the message channel hands to consumers.

Ports come and go (a USB stick unplugged, a ser2net host rebooting, a
simulator started after the gateway): a port that cannot be opened, ends or
falls silent is retried with exponential backoff while the gateway keeps
serving, and its state is reported by `GET /api/ugate/ports`.

Commands go the other way: the bridge is the hub's command target for its
devices (`<protocol>/<device>` in the gateway's tenant), so the
`ugate.send_command` service, Hono's application API and later forwarders
reach a port through the one router. A port that is down makes a command
DeviceUnavailable, not a bad request.
"""
import asyncio
import json

from ugate.base import compat, dates, jsoninput, log, store
from ugate.base.backoff import Backoff
from ugate.base.validation import MISSING, Invalid
from ugate.hub.commands import Command, CommandResponse, DeviceUnavailable
from ugate.hub.states import slugify
from ugate.sources import sensors

_log = log.get("bridge")

CONNECTING = "connecting"
CONNECTED = "connected"
RETRYING = "retrying"


class Port:
    """One `serial` config entry: its stream, its parser and its counters."""
    #: Seconds before the first reopen; doubled after each failed attempt up
    #: to `retry_max`.
    retry_initial = 1
    retry_max = 60
    #: Seconds an open (a TCP connect to a host that does not answer) may take.
    open_timeout = 10
    #: Bytes asked of the stream at a time.
    read_size = 256
    #: Seconds a write may wait for the port before it counts as stuck.
    write_timeout = 5
    #: Seconds between two log lines about rejected lines on one port.
    reject_log_interval = 10

    def __init__(self, bridge, conf, protocol):
        self.bridge = bridge
        self.conf = conf
        self.name = conf["port"]
        self.protocol = protocol
        self.state = CONNECTING
        self.last_error = None
        self.last_rejected = None
        self.lines_read = 0
        self.lines_rejected = 0
        self.last_line_at = None
        self._writer = None
        self._write_lock = asyncio.Lock()
        self._logged_at = None
        self._unlogged = 0

    def status(self):
        s = compat.OrderedDict()
        s["port"] = self.name
        s["protocol"] = self.conf["protocol"]
        s["state"] = self.state
        s["last_error"] = self.last_error
        s["lines_read"] = self.lines_read
        s["lines_rejected"] = self.lines_rejected
        s["last_rejected"] = self.last_rejected
        s["last_line_at"] = dates.iso(self.last_line_at) if self.last_line_at else None
        return s

    async def run(self):
        """Open, read until the port fails, wait, reopen: forever."""
        backoff = Backoff(self.retry_initial, self.retry_max)
        while True:
            try:
                reader, writer = await asyncio.wait_for(self._open(), self.open_timeout)
            except Exception as exc:  # whatever the platform raises, the port is just down
                self._down("cannot open: " + _reason(exc))
            else:
                self.state = CONNECTED
                self.last_error = None
                _log.info("{}: connected ({})".format(self.name, self.conf["protocol"]))
                self._writer = writer
                lines_before = self.lines_read
                try:
                    await self._read(reader)
                    self._down("disconnected")
                except asyncio.TimeoutError:
                    self._down("silent for {} s".format(self.conf["silence_timeout"]))
                except Exception as exc:
                    self._down(_reason(exc))
                finally:
                    self._writer = None
                    await _close(writer)
                if self.lines_read > lines_before:
                    backoff.reset()  # it delivered lines: retry soon
            await backoff.wait()

    async def _open(self):
        name = self.name
        if name.startswith("tcp://"):
            colon = name.rfind(":")
            host = name[6:colon].strip("[]")
            return await asyncio.open_connection(host, int(name[colon + 1:]))
        return await self.bridge.hub.platform.open_serial(self.conf)

    def _down(self, reason):
        self.state = RETRYING
        self.last_error = reason
        _log.warning("{}: {}; retrying".format(self.name, reason))

    async def _read(self, reader):
        """Split the stream into lines, holding at most one line's worth of
        bytes: an over-long line is dropped up to its newline."""
        timeout = self.conf["silence_timeout"]
        # max_line counts characters; a UTF-8 character is up to 4 bytes.
        max_bytes = 4 * self.protocol.max_line
        buf = b""
        skipping = False  # inside an over-long line, until its newline
        while True:
            if timeout:
                chunk = await asyncio.wait_for(reader.read(self.read_size), timeout)
            else:
                chunk = await reader.read(self.read_size)
            if not chunk:
                return
            buf += chunk
            end = buf.find(b"\n")
            while end >= 0:
                line, buf = buf[:end], buf[end + 1:]
                if skipping:
                    skipping = False
                else:
                    await self._line(line)
                end = buf.find(b"\n")
            if len(buf) > max_bytes:
                if not skipping:
                    self._count()
                    self._reject("longer than {} characters".format(self.protocol.max_line), buf)
                skipping = True
                buf = b""

    def _count(self):
        self.lines_read += 1
        self.last_line_at = compat.now_us()

    async def _line(self, raw):
        self._count()
        try:
            await self._handle(raw)
        except MemoryError:
            # No room for this line's readings: it is lost, the port reads
            # on (its buffers exist already) and the state machine refuses
            # new entities while the heap stays this full.
            self._reject("out of memory", raw)

    async def _handle(self, raw):
        try:
            readings, replies = self.protocol.feed(compat.decode(raw))
        except UnicodeError:
            return self._reject("not UTF-8 text", raw)
        except sensors.Alert as exc:  # the owner must hear of this one
            self.bridge.hub.notify("serial " + self.name, "Serial port " + self.name, str(exc))
            return self._reject(str(exc), raw)
        except ValueError as exc:
            return self._reject(str(exc), raw)
        except MemoryError:
            raise
        except Exception as exc:  # a parser bug costs one line, not the port
            _log.error("{}: parser failed: {!r}".format(self.name, exc))
            return self._reject("parser error", raw)
        for reply in replies:
            await self.write(reply)
        if not self._publish(readings):
            self._reject("the state machine refused a reading", raw)

    def _publish(self, readings):
        """Readings of one line -> entity states, then one telemetry event
        per device. False when the state machine refused a reading."""
        protocol = self.conf["protocol"]
        hub = self.bridge.hub
        devices = {}
        ok = True
        for r in readings:
            device_id = protocol + "/" + r.device
            attributes = dict(r.attributes)
            attributes["friendly_name"] = r.friendly_name
            if r.unit:
                attributes["unit_of_measurement"] = r.unit
            if r.device_class:
                attributes["device_class"] = r.device_class
            attributes["device_id"] = device_id
            attributes["port"] = self.name  # how a command finds its way back
            try:
                hub.states.set(r.entity_id, r.value, attributes)
            except ValueError:  # an invalid id or value, or too many entities
                ok = False
                continue
            devices.setdefault(device_id, []).append(r)
        for device_id in devices:
            self.bridge.devices.add(device_id)
            hub.publish_telemetry(device_id, self.protocol.telemetry(devices[device_id]))
        return ok

    def _reject(self, reason, raw):
        self.lines_rejected += 1
        self.last_rejected = reason
        now = compat.ticks_ms()
        if self._logged_at is not None and \
                compat.ticks_diff(now, self._logged_at) < self.reject_log_interval * 1000:
            self._unlogged += 1
            return
        more = " ({} more since the last report)".format(self._unlogged) if self._unlogged else ""
        _log.warning("{}: rejected a line: {}: {!r}{}".format(self.name, reason, raw[:40], more))
        self._logged_at = now
        self._unlogged = 0

    async def write(self, line):
        """Send one line (newline added); DeviceUnavailable when the port is
        down or does not take it (the reading side then reopens the port)."""
        writer = self._writer
        if writer is None:
            raise DeviceUnavailable("port {} is not connected".format(self.name))
        async with self._write_lock:
            try:
                writer.write((line + "\n").encode())
                await asyncio.wait_for(writer.drain(), self.write_timeout)
            except asyncio.TimeoutError:
                raise DeviceUnavailable("port {} took no data for {} s".format(self.name, self.write_timeout))
            except OSError as exc:
                raise DeviceUnavailable("port {}: {}".format(self.name, _reason(exc)))


class Bridge:
    """The ports, and the hub's command target for the devices behind them."""

    def __init__(self, hub):
        self.hub = hub
        self.protocols = set()
        #: Device ids heard from since the start (bounded by the entities).
        self.devices = set()

    def port(self, name):
        for port in self.hub.ports:
            if port.name == name:
                return port
        return None

    def owns(self, tenant, device):
        return tenant == self.hub.tenant and device.split("/", 1)[0] in self.protocols

    async def execute(self, tenant, device, command, response_timeout):
        """A command to a bridged device: its name is a reading's key (the end
        of its entity id, like `switch_1`) or the whole entity id, its
        payload the value (JSON with `application/json`, else text)."""
        state = self._reading(device, command.name)
        port = self.port(state.attributes.get("port"))
        if port is None:
            raise DeviceUnavailable("{} is on no configured port".format(state.entity_id))
        await port.write(port.protocol.command(state.attributes, _value(command)))
        return CommandResponse(200, None, b"") if response_timeout else None

    def accepts(self, tenant, device, name):
        """Whether the reading `name` of `device` takes commands."""
        try:
            state = self._reading(device, name)
        except (ValueError, DeviceUnavailable):
            return False
        port = self.port(state.attributes.get("port"))
        return port is not None and port.protocol.commandable(state.attributes)

    def _reading(self, device, name):
        """The state of the reading `name` of `device`."""
        if "." in name:
            candidates = (name,)
        else:
            object_id = slugify(device.split("/", 1)[-1] + "_" + name)
            candidates = ("binary_sensor." + object_id, "sensor." + object_id)
        for entity_id in candidates:
            state = self.hub.states.get(entity_id)
            if state is not None and state.attributes.get("device_id") == device:
                return state
        if device in self.devices:
            raise ValueError("device {} has no reading {}".format(device, name))
        raise DeviceUnavailable("device is not waiting for a command")

    async def service_send_command(self, data, context):
        entity_ids = data.get("entity_id")
        if isinstance(entity_ids, str):
            entity_ids = [entity_ids]
        if not entity_ids or not isinstance(entity_ids, list) or \
                not all(isinstance(e, str) for e in entity_ids):
            raise Invalid("entity_id", "expected an entity id or a list of them", entity_ids)
        if "value" not in data:
            raise Invalid("value", MISSING)
        payload = json.dumps(data["value"]).encode()
        for entity_id in entity_ids:
            state = self.hub.states.get(entity_id)
            if state is None:
                raise ValueError("unknown entity {}".format(entity_id))
            if "port" not in state.attributes:
                raise ValueError("{} is not a bridged sensor".format(entity_id))
            await self.hub.commands.send(self.hub.tenant, state.attributes["device_id"],
                                         Command(state.entity_id, "application/json", payload))


def setup(app, hub):
    """Create the bridge, a task per configured port, its command target and
    the command service."""
    bridge = Bridge(hub)
    for conf in hub.config["serial"]:
        # Each port's parser keeps its files (MySensors node ids) apart: two
        # gateways are two networks.
        state_dir = store.join(hub.config_dir, "serial", slugify(conf["port"]))
        port = Port(bridge, conf, sensors.create(conf["protocol"], conf["options"], state_dir))
        bridge.protocols.add(conf["protocol"])
        hub.ports.append(port)
        hub.background.append(lambda hub, port=port: port.run())
    if hub.ports:
        hub.commands.targets.append(bridge)
        hub.services.register(
            "ugate", "send_command", bridge.service_send_command,
            "Send a command to a bridged serial or radio device (RFLink switch on/off, MySensors set).",
            {"entity_id": {"name": "Entity", "description": "Entity of the bridged device to command.",
                           "required": True, "example": "binary_sensor.rflink_newkaku_00c142_switch_1",
                           "selector": {"entity": {}}},
             "value": {"name": "Value", "description": "The value to send: on, off or a number.",
                       "required": True, "example": "on", "selector": {"text": {}}}})
    return bridge


def _value(command):
    """A command payload as the protocol's value: JSON when it is JSON (true,
    21.5, "on"), else the text."""
    try:
        text = compat.decode(command.payload).strip()
    except UnicodeError:
        raise ValueError("the command payload is not text")
    if command.content_type and command.content_type.split(";")[0].strip() == "application/json":
        try:
            return jsoninput.loads(text)
        except ValueError as exc:
            raise ValueError("the command payload: {}".format(exc))
    return text


def _reason(exc):
    return str(exc) or exc.__class__.__name__


async def _close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except Exception:  # the port is already gone; nothing left to release
        pass
