"""A phone's sensors and location as hub states, with Home Assistant's
mobile_app rules: a sensor's unique id is `<webhook_id>_<unique_id>`, its
name `<device_name> <name>`, its entity id made from that name; a
disabled sensor keeps its registry entry but has no state; the location
is `device_tracker.<device>`, home or not_home by the home zone."""
import math

from ugate.base.validation import EXTRA, MISSING, Invalid
from ugate.hub.bus import Context
from ugate.hub.states import TooManyEntities, slugify
from ugate.faces.homeassistant.mobile_app.registrations import device_slug

SENSOR_TYPES = ("sensor", "binary_sensor")
STATE_CLASSES = ("measurement", "measurement_angle", "total", "total_increasing")
ENTITY_CATEGORIES = ("config", "diagnostic")
#: Metres around config.json's latitude and longitude that count as home.
HOME_RADIUS = 100


def context(reg):
    """Changes a phone makes are its user's."""
    return Context(user_id=reg["user_id"])


def _optional(data, key, kinds, choices=None):
    if key not in data or data[key] is None:
        return
    value = data[key]
    if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
        raise Invalid(key, "expected {}".format(kinds[0].__name__), value)
    if choices is not None and value not in choices:
        raise Invalid(key, "expected one of " + ", ".join(choices), value)


def _known(data, keys):
    for key in data:
        if key not in keys:
            raise Invalid(key, EXTRA)


_SENSOR_KEYS = ("attributes", "device_class", "name", "type", "unique_id", "unit_of_measurement",
                "state", "entity_category", "icon", "state_class", "disabled")
_STATE = (str, int, float, bool)


def _sensor_basics(data):
    if not isinstance(data, dict):
        raise Invalid(None, "expected a dictionary", data)
    for key in ("type", "unique_id"):
        if key not in data:
            raise Invalid(key, MISSING)
    if data["type"] not in SENSOR_TYPES:
        raise Invalid("type", "value must be one of " + ", ".join(SENSOR_TYPES), data["type"])
    if not isinstance(data["unique_id"], str):
        raise Invalid("unique_id", "expected str", data["unique_id"])


def _check_sensor(data):
    """register_sensor's schema (Home Assistant's, without its lists of
    device classes: any lowercase name is taken)."""
    _sensor_basics(data)
    _known(data, _SENSOR_KEYS)
    if not isinstance(data.get("name"), str):
        raise Invalid("name", MISSING if "name" not in data else "expected str")
    _optional(data, "attributes", (dict,))
    _optional(data, "device_class", (str,))
    _optional(data, "unit_of_measurement", (str,))
    _optional(data, "state", _STATE)
    _optional(data, "entity_category", (str,), ENTITY_CATEGORIES)
    _optional(data, "icon", (str,))
    if data.get("icon") is not None and ":" not in data["icon"]:
        raise Invalid("icon", "Icons should be specified in the form \"prefix:name\"", data["icon"])
    _optional(data, "state_class", (str,), STATE_CLASSES)
    if data.get("state_class") is not None and data["type"] != "sensor":
        raise Invalid(None, "state_class only allowed for sensors")
    _optional(data, "disabled", (bool,))


def _state_text(kind, value):
    if value is None:
        return "unknown"
    if kind == "binary_sensor":
        return "on" if value else "off"
    return str(value)


def _free_entity_id(hub, registrations, domain, name):
    """A new entity id from the name, `_2`, `_3`... when it is taken."""
    base = "{}.{}".format(domain, slugify(name))
    taken = set(e["entity_id"] for r in registrations.all() for e in r["sensors"].values())
    entity_id, n = base, 2
    while entity_id in taken or hub.states.get(entity_id) is not None:
        entity_id = "{}_{}".format(base, n)
        n += 1
    return entity_id


def _write(hub, reg, entry, state, attributes):
    """The sensor's state; a disabled sensor has none."""
    if entry["disabled"]:
        hub.states.remove(entry["entity_id"], context(reg))
        return
    attrs = dict(attributes or {})
    for key in ("state_class", "unit_of_measurement", "device_class", "icon"):
        if entry.get(key) is not None:
            attrs[key] = entry[key]
    attrs["friendly_name"] = entry["name"]
    hub.states.set(entry["entity_id"], _state_text(entry["type"], state), attrs, context=context(reg))


def register_sensor(hub, registrations, reg, data):
    """Register (or, registered again, update) a sensor; Invalid for a body
    that does not fit, TooManyEntities past the bounds."""
    _check_sensor(data)
    sensors = reg["sensors"]
    entry = sensors.get(data["unique_id"])
    if entry is None:
        if len(sensors) >= registrations.max_sensors:
            raise TooManyEntities("Too many sensors for one phone (at most {}).".format(
                registrations.max_sensors))
        name = "{} {}".format(reg["device_name"], data["name"])
        entry = {"type": data["type"], "name": name,
                 "entity_id": _free_entity_id(hub, registrations, data["type"], name), "disabled": False}
    before = dict(entry)
    entry["name"] = "{} {}".format(reg["device_name"], data["name"])
    if "disabled" in data:
        entry["disabled"] = data["disabled"]
    for key in ("device_class", "unit_of_measurement", "state_class", "entity_category", "icon"):
        if key in data:
            entry[key] = data[key].lower() if key == "device_class" and data[key] else data[key]
    entry.setdefault("icon", "mdi:cellphone")
    _write(hub, reg, entry, data.get("state"), data.get("attributes"))
    if sensors.get(data["unique_id"]) is not entry or entry != before:
        sensors[data["unique_id"]] = entry
        registrations.save(reg)  # only when the registry entry changed: flash is spared


def update_sensor_states(hub, reg, data):
    """Each sensor's answer by unique id: success, not_registered or
    invalid_format; one bad sensor does not spoil the others."""
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise Invalid(None, "expected a list", data)
    for sensor in data:
        _sensor_basics(sensor)
    answer = {}
    for sensor in data:
        unique_id = sensor["unique_id"]
        entry = reg["sensors"].get(unique_id)
        if entry is None or entry["type"] != sensor["type"]:
            answer[unique_id] = _failure("not_registered", "{} {} is not registered".format(
                sensor["type"], unique_id))
            continue
        try:
            _known(sensor, ("attributes", "icon", "state", "type", "unique_id"))
            if "state" not in sensor:
                raise Invalid("state", MISSING)
            _optional(sensor, "attributes", (dict,))
            _optional(sensor, "state", _STATE)
            _optional(sensor, "icon", (str,))
        except Invalid as exc:
            answer[unique_id] = _failure("invalid_format", str(exc))
            continue
        if sensor.get("icon"):
            entry["icon"] = sensor["icon"]
        _write(hub, reg, entry, sensor["state"], sensor.get("attributes"))
        answer[unique_id] = {"success": True}
        if entry["disabled"]:
            answer[unique_id]["is_disabled"] = True
    return answer


def _failure(code, message):
    return {"success": False, "error": {"code": code, "message": message}}


def tracker_id(reg):
    return "device_tracker." + device_slug(reg)


_LOCATION_INTS = ("battery", "speed", "course", "vertical_accuracy")


def _check_location(data):
    if not isinstance(data, dict):
        raise Invalid(None, "expected a dictionary", data)
    _known(data, ("location_name", "gps", "gps_accuracy", "altitude") + _LOCATION_INTS)
    _optional(data, "location_name", (str,))
    gps = data.get("gps")
    if gps is not None:
        if not (isinstance(gps, list) and len(gps) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in gps)
                and -90 <= gps[0] <= 90 and -180 <= gps[1] <= 180):
            raise Invalid("gps", "invalid GPS coordinates", gps)
        if "gps_accuracy" not in data:
            raise Invalid(None, "some but not all values in the same group of inclusion 'gps'")
    for key in ("gps_accuracy", "altitude") + _LOCATION_INTS:
        _optional(data, key, (float, int) if key in ("gps_accuracy", "altitude") else (int,))
        if key != "altitude" and data.get(key) is not None and data[key] < 0:
            raise Invalid(key, "expected a positive number", data[key])


def _distance(lat1, lon1, lat2, lon2):
    """Metres between two points (haversine, on a sphere as Home Assistant's zones)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * \
        math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


def update_location(hub, reg, data):
    _check_location(data)
    tracker = hub.states.get(tracker_id(reg))
    attrs = dict(tracker.attributes) if tracker is not None else {}
    attrs["source_type"] = "gps"
    names = {"battery": "battery_level", "gps_accuracy": "gps_accuracy"}
    if data.get("gps") is not None:
        attrs["latitude"], attrs["longitude"] = data["gps"]
    for key in ("battery", "gps_accuracy", "altitude", "course", "speed", "vertical_accuracy"):
        if data.get(key) is not None:
            attrs[names.get(key, key)] = data[key]
    attrs["friendly_name"] = reg["device_name"]
    if data.get("location_name"):
        state = data["location_name"]
    elif "latitude" in attrs:
        conf = hub.config
        away = _distance(attrs["latitude"], attrs["longitude"], conf["latitude"], conf["longitude"])
        state = "home" if away - HOME_RADIUS < attrs.get("gps_accuracy", 0) else "not_home"
    else:
        state = "unknown"
    hub.states.set(tracker_id(reg), state, attrs, context=context(reg))


def remove_entities(hub, reg):
    """A removed phone's states go with it."""
    for entry in reg["sensors"].values():
        hub.states.remove(entry["entity_id"])
    hub.states.remove(tracker_id(reg))
