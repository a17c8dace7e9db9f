"""Load and check `config.json`.

Keys mirror Home Assistant's `http` integration where one exists. Every
problem is reported as a ConfigError naming the file and the key; the caller
prints it and exits non-zero.
"""
import json
import os

from ugate import HONO_REGISTRY
from ugate.base import compat, store
from ugate.base.validation import (EXTRA, ConfigError, Invalid, boolean, integer, keys, list_of, mapping,
                                   number, one_of, optional, section, string)


def ip_network(value, where):
    from ugate.base import ipnet  # imported here: most configs have no networks
    try:
        ipnet.parse_network(value)
    except (ValueError, TypeError):
        raise Invalid(where, "expected an IP address or network like 192.168.1.0/24", value)
    return value


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
            raise Invalid(where, "expected tcp://host:port", value)
    elif value.startswith("uart") and not compat.digits(value[4:]):
        raise Invalid(where, "expected uart followed by the UART number, like uart1", value)
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
        raise Invalid(where, "expected an object like {\"port\": \"/dev/ttyUSB0\", "
                      "\"protocol\": \"mysensors\"}", value)
    common = {}
    options = {}
    for key in value:
        (common if key in SERIAL_PORT else options)[key] = value[key]
    out = keys(common, SERIAL_PORT, where + ".")
    if out["baudrate"] is None:
        out["baudrate"] = BAUDRATES[out["protocol"]]
    out["options"] = options
    from ugate.sources import sensors  # imported here: most configs have no serial ports
    try:
        protocol = sensors.protocol_class(out["protocol"])
        for key in options:
            if key not in protocol.option_names:
                raise Invalid(where + "." + key, EXTRA)
        protocol(options)  # the parser checks its own options
    except ValueError as exc:
        if isinstance(exc, Invalid):
            raise
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

def http_url(value, where):
    string(value, where)
    if not (value.startswith("http://") or value.startswith("https://")) or len(value.split("/")[2]) == 0:
        raise Invalid(where, "expected an http:// or https:// URL", value)
    return value.rstrip("/")


def secret(value, where):
    """A password or token, in config.json or, as {"file": "name"}, in
    DIR/secrets.json (resolved by `load`)."""
    if isinstance(value, dict):
        if list(value) != ["file"] or not isinstance(value["file"], str) or not value["file"]:
            raise Invalid(where, 'expected a string or {"file": "<name in secrets.json>"}', value)
        return SecretRef(value["file"])
    return string(value, where)


class SecretRef:
    def __init__(self, name):
        self.name = name


def name_of(value, where):
    """A forwarder's name: it names its files and notifications too."""
    string(value, where)
    if not compat.only(value, "abcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise Invalid(where, "expected lowercase letters, digits, - and _", value)
    return value


def entity_globs(value, where):
    """Entity ids or patterns with * and ?, like "sensor.*"."""
    return list_of(string)(value, where)


def topic(value, where):
    """An MQTT topic the gateway publishes under: levels joined by /, no
    wildcard, not starting or ending with /."""
    string(value, where)
    if "+" in value or "#" in value or "\x00" in value or value[0] == "/" or value[-1] == "/":
        raise Invalid(where, "expected an MQTT topic without + and #, not starting or ending with /", value)
    return value


def device_map(value, where):
    """{"<entity or bridged device>": "<Hono device id>"}."""
    for key, device in mapping(value, where).items():
        string(device, "{}.{}".format(where, key))
    return dict(value)


# Forwarders: the keys of every one, then those of each type.
FORWARD = {
    "type": (one_of("home_assistant", "hono", "mqtt"), None),
    "name": (name_of, None),
}
FORWARD_TYPES = {
    "home_assistant": {
        "url": (http_url, None),
        "token": (secret, None),
        "verify_ssl": (boolean, True),
        "ca_file": (optional(string), None),
        "include": (entity_globs, []),
        "exclude": (entity_globs, []),
        # Put before each forwarded entity's object id: sensor.x -> sensor.<prefix>x.
        "prefix": (optional(name_of), None),
    },
    "hono": {
        "url": (http_url, None),
        "tenant": (string, "DEFAULT_TENANT"),
        "auth_id": (string, None),
        "password": (secret, None),
        "devices": (device_map, {}),
        "qos": (integer(0, 1), 0),
        "ttd": (optional(integer(1, 3600)), None),
        "verify_ssl": (boolean, True),
        "ca_file": (optional(string), None),
    },
    "mqtt": {
        "host": (string, "127.0.0.1"),
        "port": (integer(1, 65535), 1883),
        "username": (optional(string), None),
        "password": (optional(secret), None),
        "tls": (boolean, False),
        "ca_file": (optional(string), None),
        "client_id": (optional(string), None),
        "discovery_prefix": (topic, "homeassistant"),
        "base_topic": (optional(topic), None),
        "include": (entity_globs, []),
        "exclude": (entity_globs, []),
        "keepalive": (integer(5, 3600), 60),
        # Seconds after which Home Assistant shows a bridged sensor that went
        # quiet as unavailable (None: never).
        "expire_after": (optional(integer(1)), None),
    },
}


def forwarder(value, where):
    mapping(value, where)
    kind = one_of(*sorted(FORWARD_TYPES))(value.get("type"), where + ".type")
    schema = dict(FORWARD)
    schema.update(FORWARD_TYPES[kind])
    return keys(value, schema, where + ".")


def forwarders(value, where):
    out = list_of(forwarder)(value, where)
    names = [f["name"] for f in out]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError("key '{}[{}].name': {} is listed twice".format(where, i, name))
    return out


# Sign-in (OAuth2 tokens issued at /auth/token).
AUTH = {
    # Seconds an access token lasts (Home Assistant: 30 minutes).
    "access_token_lifetime": (integer(1, 86400), 1800),
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

BOARD = {
    # Read on a board only (README "The board appliance").
    "ntp_servers": (list_of(string), ["pool.ntp.org"]),
    "wifi_join_timeout": (integer(5), 30),
    "watchdog_timeout": (integer(0), 30),
    "update_confirm_after": (integer(1), 30),
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
    "internal_url": (optional(http_url), None),
    "external_url": (optional(http_url), None),
    # Announce the gateway by mDNS (zeroconf); None: unless it listens on loopback only.
    "zeroconf": (optional(boolean), None),
    # ugate's own keys.
    "restore_state": (boolean, False),
    "log_level": (one_of("debug", "info", "warning", "error"), "info"),
    "log_file": (optional(string), None),
    "limits": (section(LIMITS), {}),
    "auth": (section(AUTH), {}),
    "serial": (serial_ports, []),
    "telemetry": (section(TELEMETRY), {}),
    # None (absent) leaves Hono out unless hono_registry.json exists (see load).
    "hono": (optional(section(HONO)), None),
    # Systems the gateway delivers into: Home Assistant, Hono, MQTT brokers.
    "forward": (forwarders, []),
    # Faces a board may leave out to save heap (Home Assistant clients need them).
    "disabled_faces": (list_of(one_of("websocket", "stream", "auth", "mobile_app", "page", "history")), []),
    "board": (section(BOARD), {}),
}


def validate(data):
    """Check a parsed config object; returns it complete with defaults."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a JSON object")
    try:
        conf = keys(data, SCHEMA)
    except Invalid as exc:
        if exc.problem == EXTRA:
            raise ConfigError("unknown key '{}'".format(exc.where))
        raise ConfigError("key '{}': {}, got {}".format(exc.where, exc.problem, json.dumps(exc.value)))
    if bool(conf["ssl_certificate"]) != bool(conf["ssl_key"]):
        raise ConfigError("keys 'ssl_certificate' and 'ssl_key' go together: set both or neither")
    if conf["use_x_forwarded_for"] and not conf["trusted_proxies"]:
        raise ConfigError("key 'use_x_forwarded_for' needs 'trusted_proxies' (the proxies allowed to set X-Forwarded-For)")
    if conf["login_attempts_threshold"] == 0:
        raise ConfigError("key 'login_attempts_threshold': expected -1 (never ban) or an integer >= 1, got 0")
    return conf


def load(config_dir, overrides=None, text=None):
    """Read `config_dir/config.json` (absent means all defaults), apply
    command-line overrides and check the result. `text` checks that text
    as the file instead (a config about to be saved)."""
    path = store.join(config_dir, "config.json")
    try:
        if text is None:
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
    try:
        conf = validate(data)  # the file alone: an error in it is the file's
    except ConfigError as exc:
        raise ConfigError("{}: {}".format(path, exc))
    for key, value in (overrides or {}).items():
        if value is not None:
            try:
                conf[key] = SCHEMA[key][0](value, key)
            except Invalid as exc:
                raise ConfigError("{}: {}, got {}".format(OPTIONS.get(key, key), exc.problem,
                                                          json.dumps(value)))
    if conf["log_file"] and not conf["log_file"].startswith("/"):
        conf["log_file"] = store.join(config_dir, conf["log_file"])
    if conf["hono"] is None and store.exists(store.join(config_dir, HONO_REGISTRY)):
        conf["hono"] = keys({}, HONO, "hono.")  # on for the registry alone: the defaults
    _resolve_secrets(conf, config_dir)
    return conf


#: The command-line options that override keys, as their errors name them.
OPTIONS = {"server_host": "--host", "server_port": "--port"}


SECRETS = "secrets.json"


def _resolve_secrets(conf, config_dir):
    """Replace each {"file": name} by its value from DIR/secrets.json."""
    path = store.join(config_dir, SECRETS)
    secrets = None
    for i, entry in enumerate(conf["forward"]):
        for key in ("token", "password"):
            ref = entry.get(key)
            if not isinstance(ref, SecretRef):
                continue
            if secrets is None:
                secrets = _read_secrets(path)
            value = secrets.get(ref.name)
            if not isinstance(value, str) or not value:
                raise ConfigError("key 'forward[{}].{}': no secret '{}' in {}".format(i, key, ref.name, path))
            entry[key] = value


def _read_secrets(path):
    try:
        if os.stat(path)[0] & 0o077:
            raise ConfigError("{} is readable by others: make it owner-only (chmod 600 {})".format(
                path, path))
    except OSError:
        pass  # no such file: every name is missing, as said below
    try:
        data = store.read_json(path, {})
    except ValueError:  # UnicodeError is a ValueError
        raise ConfigError("{}: not valid JSON".format(path))
    if not isinstance(data, dict):
        raise ConfigError("{}: expected an object of names and secrets".format(path))
    return data
