"""MySensors serial gateway, protocol 2.x:
`node-id;child-sensor-id;command;ack;type;payload`.

The parser is also the controller: it hands out node ids (kept in
`<state_dir>/mysensors.json`, with what each node presented, so entities keep
their kind and name across a restart), answers time, config and value
requests. What it keeps is bounded (254 node ids, `max_children`,
`max_values`): ids handed out that no node ever used are free again after
`claim_timeout`, ids of nodes silent for `recycle_after_days` when no other
is free; a full pool is an Alert. Like Home Assistant's mysensors integration, a node's battery level
is a `battery_level` attribute on every entity of that node and also a
battery sensor `sensor.mysensors_<node>_battery`; the sketch name is the
device name.
"""
from ugate.base import jsonstream, log, store
from ugate.sources.sensors import Alert, Protocol, Reading, digits, number, on_off

_log = log.get("sensors.mysensors")

PRESENTATION, SET, REQ, INTERNAL, STREAM = 0, 1, 2, 3, 4
GATEWAY_NODE, UNASSIGNED_NODE, NODE_CHILD = 0, 255, 255

SENSOR_TYPES = (
    "DOOR", "MOTION", "SMOKE", "BINARY", "DIMMER", "COVER", "TEMP", "HUM", "BARO", "WIND",
    "RAIN", "UV", "WEIGHT", "POWER", "HEATER", "DISTANCE", "LIGHT_LEVEL", "ARDUINO_NODE",
    "ARDUINO_REPEATER_NODE", "LOCK", "IR", "WATER", "AIR_QUALITY", "CUSTOM", "DUST",
    "SCENE_CONTROLLER", "RGB_LIGHT", "RGBW_LIGHT", "COLOR_SENSOR", "HVAC", "MULTIMETER",
    "SPRINKLER", "WATER_LEAK", "SOUND", "VIBRATION", "MOISTURE", "INFO", "GAS", "GPS",
    "WATER_QUALITY")

VALUE_TYPES = (
    "TEMP", "HUM", "STATUS", "PERCENTAGE", "PRESSURE", "FORECAST", "RAIN", "RAINRATE", "WIND",
    "GUST", "DIRECTION", "UV", "WEIGHT", "DISTANCE", "IMPEDANCE", "ARMED", "TRIPPED", "WATT",
    "KWH", "SCENE_ON", "SCENE_OFF", "HVAC_FLOW_STATE", "HVAC_SPEED", "LIGHT_LEVEL", "VAR1",
    "VAR2", "VAR3", "VAR4", "VAR5", "UP", "DOWN", "STOP", "IR_SEND", "IR_RECEIVE", "FLOW",
    "VOLUME", "LOCK_STATUS", "LEVEL", "VOLTAGE", "CURRENT", "RGB", "RGBW", "ID", "UNIT_PREFIX",
    "HVAC_SETPOINT_COOL", "HVAC_SETPOINT_HEAT", "HVAC_FLOW_MODE", "TEXT", "CUSTOM", "POSITION",
    "IR_RECORD", "PH", "ORP", "EC", "VAR", "VA", "POWER_FACTOR")

# Internal message types the controller acts on; every other number up to
# the last one a 2.x gateway sends (I_POST_SLEEP_NOTIFICATION) is accepted
# and ignored (logs, heartbeats, signing, discovery).
I_BATTERY_LEVEL, I_TIME, I_ID_REQUEST, I_ID_RESPONSE, I_CONFIG = 0, 1, 3, 4, 6
I_SKETCH_NAME, I_SKETCH_VERSION = 11, 12
I_LAST = 33

#: Value types whose payload is on/off ("1"/"0"): binary sensors.
BINARY_VALUES = ("STATUS", "TRIPPED", "ARMED", "LOCK_STATUS")
#: Value types whose payload is text, not a number.
TEXT_VALUES = ("FORECAST", "SCENE_ON", "SCENE_OFF", "HVAC_FLOW_STATE", "HVAC_SPEED", "VAR1", "VAR2",
               "VAR3", "VAR4", "VAR5", "UP", "DOWN", "STOP", "IR_SEND", "IR_RECEIVE", "RGB", "RGBW",
               "ID", "UNIT_PREFIX", "HVAC_FLOW_MODE", "TEXT", "CUSTOM", "POSITION", "IR_RECORD")
#: Value types a controller may set on a node (`command`).
SETTABLE = ("STATUS", "PERCENTAGE", "ARMED", "LOCK_STATUS", "HVAC_SETPOINT_COOL",
            "HVAC_SETPOINT_HEAT", "HVAC_FLOW_STATE", "HVAC_FLOW_MODE", "HVAC_SPEED", "VAR1", "VAR2",
            "VAR3", "VAR4", "VAR5", "UP", "DOWN", "STOP", "IR_SEND", "RGB", "RGBW", "TEXT", "CUSTOM")

#: Binary sensor device class by presented sensor type (as Home Assistant).
BINARY_CLASSES = {
    "DOOR": "door", "MOTION": "motion", "SMOKE": "smoke", "SPRINKLER": "safety",
    "WATER_LEAK": "safety", "SOUND": "sound", "VIBRATION": "vibration", "MOISTURE": "moisture",
}
#: Value type -> (metric unit, US customary unit, device class).
SENSOR_UNITS = {
    "TEMP": ("°C", "°F", "temperature"),
    "HUM": ("%", "%", "humidity"),
    "PERCENTAGE": ("%", "%", None),
    "PRESSURE": ("hPa", "hPa", "pressure"),
    "RAIN": ("mm", "in", "precipitation"),
    "RAINRATE": ("mm/h", "in/h", "precipitation_intensity"),
    "WIND": ("m/s", "mph", "wind_speed"),
    "GUST": ("m/s", "mph", "wind_speed"),
    "DIRECTION": ("°", "°", None),
    "WEIGHT": ("kg", "lb", "weight"),
    "DISTANCE": ("m", "ft", "distance"),
    "IMPEDANCE": ("Ω", "Ω", None),
    "WATT": ("W", "W", "power"),
    "KWH": ("kWh", "kWh", "energy"),
    "LIGHT_LEVEL": ("%", "%", None),
    "FLOW": ("m", "ft", None),
    "VOLUME": ("m³", "ft³", "volume"),
    "VOLTAGE": ("V", "V", "voltage"),
    "CURRENT": ("A", "A", "current"),
    "PH": ("pH", "pH", None),
    "ORP": ("mV", "mV", None),
    "EC": ("μS/cm", "μS/cm", None),
    "VAR": ("var", "var", None),
    "VA": ("VA", "VA", "apparent_power"),
    "POWER_FACTOR": (None, None, "power_factor"),
}
#: V_LEVEL's unit and class depend on the sensor that presented it.
LEVEL_UNITS = {
    "SOUND": ("dB", "sound_pressure"),
    "VIBRATION": ("Hz", None),
    "LIGHT_LEVEL": ("lx", "illuminance"),
    "AIR_QUALITY": ("ppm", None),
    "DUST": ("µg/m³", None),
    "MOISTURE": ("%", "moisture"),
}


def _int(text, low, high, what):
    if not digits(text):
        raise ValueError("bad " + what)
    value = int(text)
    if not low <= value <= high:
        raise ValueError("bad " + what)
    return value


class Node:
    """What the controller knows about one node."""

    def __init__(self, data=None):
        data = data or {}
        self.sketch_name = data.get("sketch_name")
        self.sketch_version = data.get("sketch_version")
        self.library = data.get("library")
        # child id (as text, JSON keys) -> [sensor type name, description]
        self.children = data.get("children", {})
        #: Unix time of the last message from the node (kept in the file to
        #: the day), None while its id is only handed out.
        self.seen = data.get("seen")
        #: Unix time its id was handed out, until the node is heard from.
        self.claimed = data.get("claimed")
        self.battery_level = None
        # (child, value type) -> last payload, for requests and re-emission
        self.values = {}

    def as_json(self):
        return {"sketch_name": self.sketch_name, "sketch_version": self.sketch_version,
                "library": self.library, "children": self.children, "seen": self.seen,
                "claimed": self.claimed}


class MySensors(Protocol):
    name = "mysensors"
    option_names = ("unit_system",)
    #: Longest payload a 2.x message carries.
    max_payload = 25
    state_file = "mysensors.json"
    #: Seconds after which an id handed out that no node has used is free
    #: again: a real node presents itself with its new id at once, while
    #: noise (or a node that failed) may ask for ids by the hundred.
    claim_timeout = 600
    #: Days after which a node not heard from gives up its id, when no other
    #: is free.
    recycle_after_days = 30
    #: Children presented, over all nodes, and values remembered (for `req`
    #: and re-emission): past these, new ones are refused (children, an
    #: Alert) or not remembered (values).
    max_children = 256
    max_values = 512

    def __init__(self, options=None, state_dir=None):
        Protocol.__init__(self, options, state_dir)
        unit_system = self.options.get("unit_system", "metric")
        if unit_system not in ("metric", "us_customary"):  # Home Assistant's names
            raise ValueError("option unit_system must be metric or us_customary")
        self.metric = unit_system == "metric"
        self.nodes = {}
        try:
            for node_id, node in self._load().get("nodes", {}).items():
                self.nodes[int(node_id)] = Node(node)
        except (AttributeError, TypeError, ValueError):  # a damaged file: start over
            _log.warning("ignoring damaged {}".format(self._path()))
            self.nodes = {}
        self.values = 0  # remembered values, over all nodes
        self._dated = False  # nodes from an older file get a date at the first line

    # -- persistence ---------------------------------------------------------
    def _path(self):
        return store.join(self.state_dir, self.state_file) if self.state_dir else None

    def _load(self):
        path = self._path()
        if not path:
            return {}
        data = store.read_json(path, {})
        return data if isinstance(data, dict) else {}

    def _save(self):
        """Write what the controller knows, a node at a time (the whole
        table as one string is a block a board may not have). A failure is
        logged: the controller goes on from memory, and the next change
        writes everything again."""
        path = self._path()
        if not path:
            return
        try:
            store.makedirs(self.state_dir)
            store.write_atomic(path, self._document())
        except (OSError, MemoryError) as exc:  # a full disk, a full heap: keep serving
            _log.warning("cannot save {}: {!r}".format(path, exc))

    def _document(self):
        yield '{"nodes": '
        yield from jsonstream.members((str(k), n.as_json()) for k, n in self.nodes.items())
        yield "}"

    # -- parsing -------------------------------------------------------------
    def parse(self, line):
        if not self._dated:
            self._dated = True
            for node in self.nodes.values():
                if node.seen is None and node.claimed is None:
                    node.seen = self.unix_time()
        fields = line.split(";", 5)
        if len(fields) < 5:
            raise ValueError("too few fields")
        node_id = _int(fields[0], 0, 255, "node id")
        child = _int(fields[1], 0, 255, "child id")
        cmd = _int(fields[2], 0, 4, "command")
        _int(fields[3], 0, 1, "ack")
        sub = _int(fields[4], 0, 255, "type")
        payload = fields[5] if len(fields) > 5 else ""
        # The gateway's own log lines are longer than any radio message.
        if len(payload) > self.max_payload and not (cmd == INTERNAL and node_id == GATEWAY_NODE):
            raise ValueError("payload too long")
        if cmd == PRESENTATION:
            if sub >= len(SENSOR_TYPES):
                raise ValueError("unknown sensor type {}".format(sub))
            return self._presentation(node_id, child, SENSOR_TYPES[sub], payload)
        if cmd == INTERNAL:
            if sub > I_LAST:
                raise ValueError("unknown internal type {}".format(sub))
            return self._internal(node_id, child, sub, payload)
        if cmd == STREAM:  # firmware updates are not served
            return [], []
        if sub >= len(VALUE_TYPES):
            raise ValueError("unknown value type {}".format(sub))
        vtype = VALUE_TYPES[sub]
        if node_id == UNASSIGNED_NODE:
            raise ValueError("node has no id")
        if cmd == REQ:
            self._heard(node_id)
            node = self.nodes.get(node_id)
            value = node and node.values.get((child, vtype))
            if value is None:
                return [], []
            return [], ["{};{};{};0;{};{}".format(node_id, child, SET, sub, value)]
        if vtype == "UNIT_PREFIX":  # the unit of the child's other values, not a value itself
            self._remember(node_id, child, vtype, payload)
            return [], []
        reading = self._reading(node_id, child, vtype, payload)  # validates before storing
        self._remember(node_id, child, vtype, payload)
        return [reading], []

    def _remember(self, node_id, child, vtype, payload):
        values = self._node(node_id).values
        if (child, vtype) not in values:
            if self.values >= self.max_values:
                return  # a reading all the same, but a request for it goes unanswered
            self.values += 1
        values[(child, vtype)] = payload

    def _node(self, node_id):
        """The node `node_id`, which was just heard from (made when new)."""
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = Node()
        self._heard(node_id)
        return node

    def _heard(self, node_id):
        """A message came from `node_id`: it is in use. Saved when that is
        news to the file (a day's resolution spares the flash)."""
        node = self.nodes.get(node_id)
        if node is None:
            return
        now = self.unix_time()
        if node.seen is None or now - node.seen >= 86400:
            node.seen = now
            node.claimed = None
            self._save()

    def _forget(self, node_id):
        node = self.nodes.pop(node_id)
        self.values -= len(node.values)

    def _free_id(self):
        """The lowest id no node has; else one handed out but never used for
        `claim_timeout`; else the id of the node silent longest, if for
        `recycle_after_days`; else None. Walks the ids without building a
        list (a full pool's would be one 2 KB block, which a board's heap
        may not have)."""
        now = self.unix_time()
        silent = None  # the id of the node heard from longest ago
        for node_id in range(1, UNASSIGNED_NODE):
            node = self.nodes.get(node_id)
            if node is None:
                return node_id
            if node.seen is None:
                if now - (node.claimed or 0) >= self.claim_timeout:
                    self._forget(node_id)
                    return node_id
            elif silent is None or node.seen < self.nodes[silent].seen:
                silent = node_id
        if silent is not None and now - self.nodes[silent].seen >= self.recycle_after_days * 86400:
            self._forget(silent)
            return silent
        return None

    def _presentation(self, node_id, child, stype, payload):
        if node_id == UNASSIGNED_NODE:
            raise ValueError("node has no id")
        node = self._node(node_id)
        if child == NODE_CHILD:
            if node.library != payload:
                node.library = payload
                self._save()
            return [], []
        entry = [stype, payload]
        if node.children.get(str(child)) != entry:
            if str(child) not in node.children and \
                    sum(len(n.children) for n in self.nodes.values()) >= self.max_children:
                raise Alert("child {} of node {} not kept: {} children are presented already "
                            "(MySensors.max_children)".format(child, node_id, self.max_children))
            node.children[str(child)] = entry
            self._save()
        return [], []

    def _internal(self, node_id, child, sub, payload):
        prefix = "{};{};{};0;".format(node_id, child, INTERNAL)
        if sub == I_ID_REQUEST:
            node_id = self._free_id()
            if node_id is None:
                raise Alert("no free node id: all {} are used by nodes heard from within {} days "
                            "(MySensors.recycle_after_days)".format(UNASSIGNED_NODE - 1,
                                                                    self.recycle_after_days))
            node = self.nodes[node_id] = Node()
            node.claimed = self.unix_time()
            self._save()
            return [], ["{};{};{};0;{};{}".format(UNASSIGNED_NODE, NODE_CHILD, INTERNAL, I_ID_RESPONSE, node_id)]
        if node_id != UNASSIGNED_NODE:
            self._heard(node_id)
        if sub == I_TIME:
            return [], [prefix + "{};{}".format(I_TIME, self.unix_time())]
        if sub == I_CONFIG:
            return [], [prefix + "{};{}".format(I_CONFIG, "M" if self.metric else "I")]
        if node_id == UNASSIGNED_NODE or node_id == GATEWAY_NODE and sub not in (
                I_BATTERY_LEVEL, I_SKETCH_NAME, I_SKETCH_VERSION):
            return [], []  # gateway startup, version, logs
        if sub == I_BATTERY_LEVEL:
            level = number(payload)
            if not isinstance(level, int) or not 0 <= level <= 100:
                raise ValueError("bad battery level")
            node = self._node(node_id)
            node.battery_level = level
            battery = Reading("mysensors_{}".format(node_id), self._device_name(node_id, node), "battery",
                              level, "sensor", "%", "battery", self._attributes(node_id, NODE_CHILD, node))
            return [battery] + self._current(node_id), []
        if sub in (I_SKETCH_NAME, I_SKETCH_VERSION):
            node = self._node(node_id)
            attr = "sketch_name" if sub == I_SKETCH_NAME else "sketch_version"
            if getattr(node, attr) != payload:
                setattr(node, attr, payload)
                self._save()
            return self._current(node_id), []
        return [], []

    # -- readings ------------------------------------------------------------
    def _device_name(self, node_id, node):
        return node.sketch_name or "MySensors {}".format(node_id)

    def _attributes(self, node_id, child, node):
        attrs = {"protocol": "mysensors", "node_id": node_id}
        if child != NODE_CHILD:
            attrs["child_id"] = child
        if node.battery_level is not None:
            attrs["battery_level"] = node.battery_level
        for name in ("sketch_name", "sketch_version"):
            if getattr(node, name):
                attrs[name] = getattr(node, name)
        return attrs

    def _reading(self, node_id, child, vtype, payload):
        node = self.nodes.get(node_id) or Node()
        stype, description = node.children.get(str(child), (None, ""))
        attrs = self._attributes(node_id, child, node)
        attrs["value_type"] = "V_" + vtype
        if stype:
            attrs["sensor_type"] = "S_" + stype
        if description:
            attrs["description"] = description
        key = "{}_{}".format(child, vtype.lower())
        device = "mysensors_{}".format(node_id)
        name = self._device_name(node_id, node)
        if vtype in BINARY_VALUES:
            if payload not in ("0", "1"):
                raise ValueError("bad binary value")
            return Reading(device, name, key, on_off(payload == "1"), "binary_sensor", None,
                           BINARY_CLASSES.get(stype), attrs)
        if vtype in TEXT_VALUES:
            return Reading(device, name, key, payload, "sensor", None, None, attrs)
        value = number(payload)
        if vtype == "LEVEL":
            unit, device_class = LEVEL_UNITS.get(stype, (None, None))
        else:
            metric, customary, device_class = SENSOR_UNITS.get(vtype, (None, None, None))
            unit = metric if self.metric else customary
        prefix = node.values.get((child, "UNIT_PREFIX"))
        if prefix:  # the node names its own unit
            unit = prefix
        return Reading(device, name, key, value, "sensor", unit, device_class, attrs)

    def _current(self, node_id):
        """The node's known values again, for new node attributes."""
        return [self._reading(node_id, child, vtype, payload)
                for (child, vtype), payload in sorted(self.nodes[node_id].values.items())
                if vtype != "UNIT_PREFIX"]

    def commandable(self, attributes):
        return attributes.get("protocol") == "mysensors" and "child_id" in attributes and \
            attributes.get("value_type", "")[2:] in SETTABLE

    def command(self, attributes, value):
        """A set message: `node;child;1;0;type;value` (on/off -> 1/0)."""
        vtype = attributes.get("value_type", "")[2:]
        if attributes.get("protocol") != "mysensors" or "child_id" not in attributes:
            raise ValueError("not a MySensors child")
        if not self.commandable(attributes):
            raise ValueError("V_{} cannot be set".format(vtype))
        if value in ("on", "off") or isinstance(value, bool):
            value = "1" if value in ("on", True) else "0"
        value = str(value)
        if len(value) > self.max_payload or ";" in value or "\n" in value:
            raise ValueError("bad value")
        return "{};{};{};0;{};{}".format(attributes["node_id"], attributes["child_id"], SET,
                                         VALUE_TYPES.index(vtype), value)


PROTOCOL = MySensors
