"""RFLink, a 433 MHz radio gateway:
`20;<counter>;<protocol name>;LABEL=value;...;`.

The protocol name and ID identify a device (`rflink_<name>_<id>`); each label
is one reading (LABELS). A remote sends every press several times, so a frame
seen again within `repeat_window_ms` (port option, default 1000, 0 keeps all)
is dropped. Switches (SWITCH + CMD) are binary sensors `switch_<switch>` that
`command` can turn on and off.
"""
from ugate.base import compat
from ugate.hub.states import slugify
from ugate.sources.sensors import Protocol, Reading, Repeats, number, on_off


def signed_tenths(text):
    """4 hex digits, bit 15 the sign, value in tenths: 00cf = 20.7, 800d = -1.3."""
    raw = hex_int(text)
    if len(text) != 4:
        raise ValueError("bad signed value")
    value = (raw & 0x7FFF) / 10
    return -value if raw & 0x8000 and value else value


def hex_int(text):
    if not text or not compat.only(text, compat.HEX):
        raise ValueError("bad hex value")
    return int(text, 16)


def hex_tenths(text):
    return hex_int(text) / 10


def wind_direction(text):
    value = number(text)
    if not 0 <= value <= 15 or not isinstance(value, int):
        raise ValueError("bad wind direction")
    return value * 22.5


def on_off_label(text):
    if text not in ("ON", "OFF"):
        raise ValueError("bad ON/OFF value")
    return on_off(text == "ON")


def battery_low(text):
    if text not in ("OK", "LOW"):
        raise ValueError("bad battery value")
    return on_off(text == "LOW")


#: label -> (key, decoder, kind, unit, device class)
LABELS = {
    "TEMP": ("temperature", signed_tenths, "sensor", "°C", "temperature"),
    "WINCHL": ("wind_chill", signed_tenths, "sensor", "°C", "temperature"),
    "WINTMP": ("wind_temperature", signed_tenths, "sensor", "°C", "temperature"),
    "HUM": ("humidity", number, "sensor", "%", "humidity"),
    "BARO": ("pressure", hex_int, "sensor", "hPa", "pressure"),
    "UV": ("uv", hex_int, "sensor", "UV index", None),
    "LUX": ("illuminance", hex_int, "sensor", "lx", "illuminance"),
    "WATT": ("power", hex_int, "sensor", "W", "power"),
    "KWATT": ("power_kw", hex_int, "sensor", "kW", "power"),
    "RAIN": ("rain", hex_tenths, "sensor", "mm", "precipitation"),
    "RAINRATE": ("rain_rate", hex_tenths, "sensor", "mm/h", "precipitation_intensity"),
    "WINSP": ("wind_speed", hex_tenths, "sensor", "km/h", "wind_speed"),
    "AWINSP": ("wind_average", hex_tenths, "sensor", "km/h", "wind_speed"),
    "WINGS": ("wind_gust", hex_tenths, "sensor", "km/h", "wind_speed"),
    "WINDIR": ("wind_direction", wind_direction, "sensor", "°", None),
    "BAT": ("battery", battery_low, "binary_sensor", None, "battery"),
    "PIR": ("motion", on_off_label, "binary_sensor", None, "motion"),
    "SMOKEALERT": ("smoke", on_off_label, "binary_sensor", None, "smoke"),
    "CO2": ("co2", number, "sensor", "ppm", "carbon_dioxide"),
    "SOUND": ("sound", number, "sensor", "dB", "sound_pressure"),
    "CURRENT": ("current", number, "sensor", "A", "current"),
    "DIST": ("distance", number, "sensor", None, None),
    "METER": ("meter", number, "sensor", None, None),
    "VOLT": ("voltage", number, "sensor", "V", "voltage"),
}
#: CMD values that switch a unit (or its group) on or off.
SWITCH_STATES = {"ON": "on", "OFF": "off", "ALLON": "on", "ALLOFF": "off"}
#: Other CMD values, shown as the switch's last command.
COMMANDS = ("UP", "DOWN", "STOP")


class RFLink(Protocol):
    name = "rflink"
    option_names = ("repeat_window_ms",)

    def __init__(self, options=None, state_dir=None):
        Protocol.__init__(self, options, state_dir)
        self.repeats = Repeats(self.option_int("repeat_window_ms", 1000))

    def parse(self, line):
        if not line.endswith(";"):
            raise ValueError("truncated line")
        fields = line[:-1].split(";")
        if fields[0] in ("10", "11"):  # our own commands echoed
            return [], []
        if fields[0] != "20" or len(fields) < 3 or len(fields[1]) != 2:
            raise ValueError("not an RFLink line")
        hex_int(fields[1])
        name = fields[2]
        values = {}
        for field in fields[3:]:
            label, sep, value = field.partition("=")
            if not sep or not label:
                raise ValueError("bad field {!r}".format(field[:16]))
            values[label] = value
        if "ID" not in values or "=" in name:
            return [], []  # banner, PONG, OK, VER=..., debug output
        readings = self._readings(name, values)
        if self.repeats.repeated(";".join(fields[2:]), self.ticks_ms()):
            return [], []
        return readings, []

    def _readings(self, name, values):
        ident = values["ID"].lower()
        hex_int(ident)
        device = "rflink_" + slugify(name) + "_" + ident
        device_name = name + " " + ident
        base = {"protocol": "rflink", "rflink_protocol": name, "id": ident}
        readings = []
        unknown = []
        for label in sorted(values):
            text = values[label]
            if label in ("ID", "SWITCH", "CMD"):
                continue
            if label not in LABELS:
                unknown.append(label)
                continue
            key, decode, kind, unit, device_class = LABELS[label]
            readings.append(Reading(device, device_name, key, decode(text), kind, unit, device_class,
                                    dict(base)))
        if "CMD" in values:
            readings.append(self._switch(device, device_name, base, values.get("SWITCH", ""), values["CMD"]))
        if not readings:
            raise ValueError("no known values ({})".format(",".join(unknown)))
        return readings

    def _switch(self, device, device_name, base, switch, cmd):
        attrs = dict(base)
        if switch:  # what `command` needs to address this unit
            attrs["switch"] = switch
        key = "switch_" + switch.lower() if switch else "switch"
        if cmd in SWITCH_STATES:
            return Reading(device, device_name, key, SWITCH_STATES[cmd], "binary_sensor", None, None, attrs)
        if cmd.startswith("SET_LEVEL="):
            level = number(cmd[10:])
            return Reading(device, device_name, key + "_level", level, "sensor", None, None, attrs)
        if cmd in COMMANDS:
            return Reading(device, device_name, key + "_command", cmd.lower(), "sensor", None, None, attrs)
        raise ValueError("unknown command {!r}".format(cmd[:16]))

    def commandable(self, attributes):
        return attributes.get("protocol") == "rflink" and "switch" in attributes

    def command(self, attributes, value):
        """`10;<protocol>;<id>;<switch>;ON|OFF;` for a switch."""
        if not self.commandable(attributes):
            raise ValueError("not an RFLink switch")
        if value in ("on", "off"):
            value = value.upper()
        elif isinstance(value, bool):
            value = "ON" if value else "OFF"
        elif value not in ("ON", "OFF", "ALLON", "ALLOFF", "UP", "DOWN", "STOP"):
            raise ValueError("unsupported command {!r}".format(value))
        return "10;{};{};{};{};".format(attributes["rflink_protocol"], attributes["id"],
                                        attributes["switch"], value)


PROTOCOL = RFLink
