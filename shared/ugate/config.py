"""Load and check `config.json`.

Keys mirror Home Assistant's `http` integration where one exists. Every
problem is reported as a ConfigError naming the file and the key; the caller
prints it and exits non-zero.
"""
import json

from ugate import HONO_REGISTRY
from ugate.base import compat, store


class ConfigError(Exception):
    pass


# Validators take (value, where) and return the normalised value or raise
# ConfigError. `where` is the key's path for the message, e.g. 'limits.idle_timeout'.

def _fail(where, expected, value):
    raise ConfigError("key '{}': expected {}, got {}".format(where, expected, json.dumps(value)))


def boolean(value, where):
    if value is True or value is False:
        return value
    _fail(where, "true or false", value)


def integer(lo=None, hi=None):
    def check(value, where):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and (lo is None or value >= lo) and (hi is None or value <= hi):
            return value
        if lo is not None and hi is not None:
            _fail(where, "an integer from {} to {}".format(lo, hi), value)
        _fail(where, "an integer >= {}".format(lo) if lo is not None else "an integer", value)
    return check


def number(value, where):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    _fail(where, "a number", value)


def string(value, where):
    if isinstance(value, str) and value:
        return value
    _fail(where, "a non-empty string", value)


def one_of(*choices):
    def check(value, where):
        if value in choices:
            return value
        _fail(where, "one of " + ", ".join(choices), value)
    return check


def optional(check):
    def wrapped(value, where):
        return None if value is None else check(value, where)
    return wrapped


def list_of(check):
    def wrapped(value, where):
        if not isinstance(value, list):
            _fail(where, "a list", value)
        return [check(item, "{}[{}]".format(where, i)) for i, item in enumerate(value)]
    return wrapped


def ip_network(value, where):
    from ugate.base import ipnet  # imported here: most configs have no networks
    try:
        ipnet.parse_network(value)
    except (ValueError, TypeError):
        _fail(where, "an IP address or network like 192.168.1.0/24", value)
    return value


def section(schema):
    """A nested object checked key by key against `schema`."""
    def check(value, where):
        if not isinstance(value, dict):
            _fail(where, "an object", value)
        return _check_keys(value, schema, where + ".")
    return check


#: Serial protocols and the baud rate their hardware speaks by default.
BAUDRATES = {"mysensors": 115200, "rflink": 57600, "rtl_433": 115200, "jsonl": 115200}


def port_address(value, where):
    """A device path ('/dev/ttyUSB0', a pty link), a board UART ('uart1') or
    a serial server 'tcp://host:port' (ser2net, RFLink32)."""
    string(value, where)
    if value.startswith("tcp://"):
        colon = value.rfind(":")
        port = value[colon + 1:]
        if colon < 7 or not compat.digits(port) or not 0 < int(port) < 65536:
            _fail(where, "tcp://host:port", value)
    elif value.startswith("uart") and not compat.digits(value[4:]):
        _fail(where, "uart followed by the UART number, like uart1", value)
    return value


# The keys every serial port has; the others are the protocol's options.
SERIAL_PORT = {
    "port": (port_address, None),
    "protocol": (one_of(*sorted(BAUDRATES)), None),
    "baudrate": (optional(integer(50)), None),
    # Seconds without a byte after which the port counts as dead and is reopened.
    "silence_timeout": (optional(integer(1)), None),
}


def serial_port(value, where):
    if not isinstance(value, dict):
        _fail(where, "an object like {\"port\": \"/dev/ttyUSB0\", \"protocol\": \"mysensors\"}", value)
    common = {}
    options = {}
    for key in value:
        (common if key in SERIAL_PORT else options)[key] = value[key]
    out = _check_keys(common, SERIAL_PORT, where + ".")
    if out["baudrate"] is None:
        out["baudrate"] = BAUDRATES[out["protocol"]]
    out["options"] = options
    from ugate.sources import sensors  # imported here: most configs have no serial ports
    try:
        sensors.create(out["protocol"], options)  # the parser checks its own options
    except ValueError as exc:
        raise ConfigError("key '{}': {}".format(where, exc))
    return out


def serial_ports(value, where):
    ports = list_of(serial_port)(value, where)
    seen = []
    for i, port in enumerate(ports):
        if port["port"] in seen:
            raise ConfigError("key '{}[{}].port': {} is listed twice".format(where, i, port["port"]))
        seen.append(port["port"])
    return ports


# key: (validator, default)
TELEMETRY = {
    # The Hono tenant bridged devices' telemetry belongs to.
    "tenant": (string, "DEFAULT_TENANT"),
}

# The Hono HTTP adapter.
HONO = {
    # False lets devices publish with PUT /telemetry|event/<tenant>/<device> without credentials.
    "authentication_required": (boolean, True),
    # Larger bodies get 413 (Hono's default).
    "max_payload": (integer(1), 2048),
    # Seconds a QoS 1 message or an event waits for a consumer to settle it.
    "settle_timeout": (integer(1), 5),
    # The longest an application may wait for a command's response, in seconds.
    "command_timeout": (integer(1), 60),
    # Events kept for consumers at most; None means the store's default.
    "max_stored_events": (optional(integer(1)), None),
    # JSON telemetry of numbers and booleans becomes entity states.
    "entities": (boolean, True),
}

LIMITS = {
    # None means the platform's default (lower on boards than on the host).
    "max_body_bytes": (optional(integer(256)), None),
    "max_header_line": (optional(integer(256)), None),
    "max_connections": (optional(integer(1)), None),
    "idle_timeout": (optional(integer(1)), None),
    "max_entities": (optional(integer(1)), None),
    "max_bans": (optional(integer(0)), None),
}

SCHEMA = {
    # Home Assistant `http` integration keys.
    "server_host": (string, "0.0.0.0"),
    "server_port": (integer(1, 65535), 8123),
    "ssl_certificate": (optional(string), None),
    "ssl_key": (optional(string), None),
    "cors_allowed_origins": (list_of(string), []),
    "use_x_forwarded_for": (boolean, False),
    "trusted_proxies": (list_of(ip_network), []),
    "ip_ban_enabled": (boolean, True),
    "login_attempts_threshold": (integer(-1), -1),
    "trusted_networks": (list_of(ip_network), []),
    # Home Assistant core keys, reported by /api/config.
    "location_name": (string, "ugate"),
    "latitude": (number, 0.0),
    "longitude": (number, 0.0),
    "elevation": (integer(), 0),
    "unit_system": (one_of("metric", "us_customary"), "metric"),
    "time_zone": (string, "UTC"),
    # ugate's own keys.
    "restore_state": (boolean, False),
    "log_level": (one_of("debug", "info", "warning", "error"), "info"),
    "log_file": (optional(string), None),
    "limits": (section(LIMITS), {}),
    "serial": (serial_ports, []),
    "telemetry": (section(TELEMETRY), {}),
    # None (absent) leaves Hono out unless hono_registry.json exists (see load).
    "hono": (optional(section(HONO)), None),
    # Faces a board may leave out to save heap (Home Assistant clients need them).
    "disabled_faces": (list_of(one_of("websocket", "stream")), []),
}


def _check_keys(data, schema, prefix):
    out = {}
    for key in data:
        if key not in schema:
            raise ConfigError("unknown key '{}{}'".format(prefix, key))
    for key, (check, default) in schema.items():
        # Defaults pass through the validator too, which copies lists and
        # fills nested sections.
        out[key] = check(data[key] if key in data else default, prefix + key)
    return out


def validate(data):
    """Check a parsed config object; returns it complete with defaults."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a JSON object")
    conf = _check_keys(data, SCHEMA, "")
    if bool(conf["ssl_certificate"]) != bool(conf["ssl_key"]):
        raise ConfigError("keys 'ssl_certificate' and 'ssl_key' go together: set both or neither")
    if conf["use_x_forwarded_for"] and not conf["trusted_proxies"]:
        raise ConfigError("key 'use_x_forwarded_for' needs 'trusted_proxies' (the proxies allowed to set X-Forwarded-For)")
    if conf["login_attempts_threshold"] == 0:
        raise ConfigError("key 'login_attempts_threshold': expected -1 (never ban) or an integer >= 1, got 0")
    return conf


def load(config_dir, overrides=None):
    """Read `config_dir/config.json` (absent means all defaults), apply
    command-line overrides and check the result."""
    path = store.join(config_dir, "config.json")
    try:
        text = store.read_text(path)
    except UnicodeError:
        raise ConfigError("{}: not UTF-8 text".format(path))
    except OSError as exc:
        if store.exists(path):
            raise ConfigError("{}: cannot read the file ({})".format(path, exc))
        text = "{}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError("{}: not valid JSON ({})".format(path, exc))
    if isinstance(data, dict) and overrides:
        for key in overrides:
            if overrides[key] is not None:
                data[key] = overrides[key]
    try:
        conf = validate(data)
    except ConfigError as exc:
        raise ConfigError("{}: {}".format(path, exc))
    if conf["hono"] is None and store.exists(store.join(config_dir, HONO_REGISTRY)):
        conf["hono"] = _check_keys({}, HONO, "hono.")  # on for the registry alone: the defaults
    return conf
