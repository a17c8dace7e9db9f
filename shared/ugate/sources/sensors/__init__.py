"""Serial and radio sensor protocols: pure line parsers that turn one line from
a gateway (MySensors, RFLink, rtl_433 JSON, JSON lines) into readings, and a
command into the line that carries it. No I/O here: the bridge reads and writes
the ports; a parser only keeps the state its protocol needs (MySensors node
ids, RFLink repeats), so the same code runs on a board and on the desktop.

A protocol module is imported only when a port uses it, so a small board
carries only the parsers it needs.
"""
from ugate.base import compat
from ugate.base.compat import digits  # noqa: F401 - the parsers import it from here
from ugate.hub.states import slugify

#: Protocol name in the config -> module in this package.
PROTOCOLS = {
    "mysensors": "mysensors",
    "rflink": "rflink",
    "rtl_433": "rtl433",
    "jsonl": "jsonl",
}


def title(key):
    """'wind_avg' -> 'Wind Avg' (MicroPython's str has no title(), and its
    upper() leaves non-ASCII letters alone, so only ASCII ones are raised)."""
    return " ".join((w[0].upper() if "a" <= w[0] <= "z" else w[0]) + w[1:] for w in key.split("_") if w)


class Reading:
    """One value from one device, as one Home Assistant entity shows it."""

    def __init__(self, device, device_name, key, value, kind="sensor", unit=None,
                 device_class=None, attributes=None):
        self.device = device
        self.device_name = device_name
        self.key = key
        self.value = value
        self.kind = kind
        self.unit = unit
        self.device_class = device_class
        self.attributes = attributes if attributes is not None else {}

    @property
    def entity_id(self):
        return self.kind + "." + slugify(self.device + "_" + self.key)

    @property
    def friendly_name(self):
        return self.device_name + " " + title(self.key)

    def as_dict(self):
        return {"entity_id": self.entity_id, "device": self.device, "device_name": self.device_name,
                "key": self.key, "value": self.value, "kind": self.kind, "unit": self.unit,
                "device_class": self.device_class, "attributes": self.attributes,
                "friendly_name": self.friendly_name}

    def __repr__(self):
        return "<Reading {}={!r}>".format(self.entity_id, self.value)


def on_off(flag):
    return "on" if flag else "off"


def finite(value):
    """`value` unless it is nan or infinite, which are not readings."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def number(text):
    """A decimal payload ("21.5", "-4", "1.2e3") as int when it is whole,
    else float. The form is checked here: MicroPython's float() also takes
    "e5" or "." (as 0)."""
    body = text[1:] if text[:1] in ("-", "+") else text
    mantissa, e, exponent = body.replace("E", "e").partition("e")
    whole, dot, fraction = mantissa.partition(".")
    if exponent[:1] in ("-", "+"):
        exponent = exponent[1:]
    if not digits(whole) or dot and not digits(fraction) or e and not digits(exponent):
        raise ValueError("bad number")
    if not dot and not e:
        return int(text)
    return finite(float(text))


class Repeats:
    """Remembers recent frames so that the copies a radio remote sends for one
    press count once: a frame seen again within `window_ms` of its last copy
    is a repeat."""
    #: Distinct frames remembered at once.
    max_frames = 16

    def __init__(self, window_ms):
        self.window_ms = window_ms
        self.seen = {}

    def repeated(self, frame, now_ms):
        if self.window_ms <= 0:
            return False
        for old in list(self.seen):
            if compat.ticks_diff(now_ms, self.seen[old]) > self.window_ms:
                del self.seen[old]
        repeat = frame in self.seen
        if not repeat and len(self.seen) >= self.max_frames:
            self.seen.clear()
        self.seen[frame] = now_ms
        return repeat


class Alert(ValueError):
    """A line refused for a reason its owner must hear of, not noise (a
    full id pool): the bridge rejects it and raises a notification."""


class Protocol:
    """One gateway protocol. `feed` parses one line (without its newline) and
    returns `(readings, replies)`; it raises ValueError with a short reason for
    a line it rejects, before touching its own state."""
    name = None
    #: Longest line accepted, in characters.
    max_line = 256
    #: The options a port of this protocol may set (other keys are refused).
    option_names = ()

    def __init__(self, options=None, state_dir=None):
        self.options = options or {}
        self.state_dir = state_dir

    def option_int(self, name, default, low=0, high=None):
        value = self.options.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (
                high is not None and value > high):
            raise ValueError("option {} must be an integer >= {}".format(name, low))
        return value

    # Clocks, replaceable on an instance (tests, boards without wall time).
    def ticks_ms(self):
        return compat.ticks_ms()

    def unix_time(self):
        return compat.now_us() // 1000000

    def feed(self, line):
        if not isinstance(line, str):
            raise ValueError("not text")
        line = line.rstrip("\r\n")
        if len(line) > self.max_line:
            raise ValueError("line too long ({} > {})".format(len(line), self.max_line))
        if "\ufffd" in line or any(b < 32 and b != 9 or b == 127 for b in line.encode()):
            raise ValueError("binary garbage")  # bytes, not characters: compat.only says why
        if not line.strip():
            return [], []
        return self.parse(line)

    def parse(self, line):
        raise NotImplementedError

    def commandable(self, attributes):
        """Whether the entity with these attributes takes commands."""
        return False

    def command(self, attributes, value):
        """The line that sends `value` to the entity's device; ValueError
        for an entity or a value the protocol cannot command."""
        raise ValueError("{} devices cannot be commanded".format(self.name))

    def telemetry(self, readings):
        """The readings of one line as one telemetry payload."""
        payload = compat.OrderedDict()
        for r in readings:
            payload[r.key] = r.value
        return payload


def protocol_class(name):
    if name not in PROTOCOLS:
        raise ValueError("unknown protocol {!r} (one of {})".format(name, ", ".join(sorted(PROTOCOLS))))
    module = __import__("ugate.sources.sensors." + PROTOCOLS[name], None, None, ["PROTOCOL"])
    return module.PROTOCOL


def create(name, options=None, state_dir=None):
    """A parser for protocol `name` with the port's options; ValueError for an
    unknown protocol or a bad option."""
    return protocol_class(name)(options, state_dir)
