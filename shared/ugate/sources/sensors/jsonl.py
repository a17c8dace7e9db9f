"""JSON lines: one object a line from a home-made sensor,
`{"id": "kitchen", "temperature": 21.5, "humidity": 40, "motion": true}`.

`id` (string or integer) names the device and `name` optionally gives it a
human name; every other key is one value. Known keys get a unit and device
class (QUANTITIES) or are binary sensors (BINARY); other numbers are plain
sensors, booleans binary sensors and strings text sensors.
"""
import json

from ugate.base import compat
from ugate.hub.states import slugify
from ugate.sources.sensors import Protocol, Reading, finite, on_off, strictjson

#: key -> (unit, device class) of a numeric sensor.
QUANTITIES = {
    "temperature": ("°C", "temperature"),
    "humidity": ("%", "humidity"),
    "pressure": ("hPa", "pressure"),
    "battery": ("%", "battery"),
    "illuminance": ("lx", "illuminance"),
    "co2": ("ppm", "carbon_dioxide"),
    "pm25": ("µg/m³", "pm25"),
    "pm10": ("µg/m³", "pm10"),
    "voltage": ("V", "voltage"),
    "current": ("A", "current"),
    "power": ("W", "power"),
    "energy": ("kWh", "energy"),
    "moisture": ("%", "moisture"),
}

#: key -> device class of a binary sensor (true/false or 1/0).
BINARY = {
    "motion": "motion",
    "occupancy": "occupancy",
    "presence": "presence",
    "door": "door",
    "window": "window",
    "opening": "opening",
    "smoke": "smoke",
    "leak": "moisture",
    "vibration": "vibration",
    "tamper": "tamper",
    "battery_low": "battery",
}

#: Keys that describe the device rather than measure something.
RESERVED = ("id", "name")


class JsonLines(Protocol):
    name = "jsonl"

    def parse(self, line):
        obj = strictjson.loads_object(line)
        ident = obj.get("id")
        if isinstance(ident, bool) or not isinstance(ident, (str, int)) or ident == "":
            raise ValueError("missing id")
        ident = str(ident)
        name = obj.get("name", ident)
        if not isinstance(name, str):
            raise ValueError("name must be a string")
        device = "jsonl_" + slugify(ident)
        readings = []
        for key in sorted(obj):
            if key in RESERVED:
                continue
            value = obj[key]
            attributes = {"protocol": "jsonl", "id": ident, "key": key}
            if isinstance(value, bool) or key in BINARY and value in (0, 1):
                readings.append(Reading(device, name, key, on_off(value), "binary_sensor", None,
                                        BINARY.get(key), attributes))
            elif isinstance(value, (int, float)):
                unit, device_class = QUANTITIES.get(key, (None, None))
                readings.append(Reading(device, name, key, finite(value), "sensor", unit, device_class,
                                        attributes))
            elif isinstance(value, str):
                readings.append(Reading(device, name, key, value, "sensor", None, None, attributes))
            else:
                raise ValueError("unsupported value for {}".format(key))
        return readings, []

    def commandable(self, attributes):
        return attributes.get("protocol") == "jsonl" and "id" in attributes and "key" in attributes

    def command(self, attributes, value):
        """`{"id": ..., "<key>": value}`: on/off become true/false."""
        if not self.commandable(attributes):
            raise ValueError("not a jsonl entity")
        if value in ("on", "off"):
            value = value == "on"
        elif not isinstance(value, (bool, int, float, str)):
            raise ValueError("unsupported command value")
        out = compat.OrderedDict()
        out["id"] = attributes["id"]
        out[attributes["key"]] = value
        return json.dumps(out)


PROTOCOL = JsonLines
