"""Discovery: the gateway announces itself as Home Assistant does, the mDNS /
DNS-SD service `_home-assistant._tcp.local.` with the TXT properties the
companion apps read (ha-api.md 6.1), so a phone finds it on the LAN.

The record is made here; announcing it is the platform's (`advertise`):
python-zeroconf on the host, a MicroPython mDNS package on a board. On by
default except for a gateway listening on loopback only, which no phone
can reach (`"zeroconf": true` announces even that, `false` never; see
`ugate.app`).
"""
from ugate.base import log

_log = log.get("zeroconf")

SERVICE_TYPE = "_home-assistant._tcp.local."
#: Home Assistant blanks a TXT value longer than this.
MAX_VALUE_BYTES = 230
#: A DNS label's limit, which the instance name must keep.
MAX_NAME_BYTES = 63

_ANY = ("0.0.0.0", "::", "")


class Service:
    """What the platform announces: the instance `name`, its `port`, the
    `address` to listen and answer on (None: every interface) and the TXT
    `properties` (str values)."""

    def __init__(self, name, port, address, properties):
        self.type = SERVICE_TYPE
        self.name = name
        self.port = port
        self.address = address
        self.properties = properties


def _cut(text, limit):
    data = text.encode()[:limit]
    while True:
        try:
            return data.decode()
        except UnicodeError:  # cut inside a character
            data = data[:-1]


def service(hub, address):
    """The record for this gateway; `address` is where phones reach it (the
    platform's LAN address when the gateway listens on every interface)."""
    conf = hub.config
    internal = conf["internal_url"]
    if internal is None and address:
        scheme = "https" if conf["ssl_certificate"] else "http"
        host = "[{}]".format(address) if ":" in address else address
        internal = "{}://{}:{}".format(scheme, host, conf["server_port"])
    external = conf["external_url"]
    properties = [
        ("location_name", conf["location_name"]), ("uuid", hub.instance_id),
        ("version", hub.ha_version), ("external_url", external or ""),
        ("internal_url", internal or ""), ("base_url", external or internal or ""),
        ("requires_api_password", "True")]
    properties = {key: (value if len(value.encode()) <= MAX_VALUE_BYTES else "")
                  for key, value in properties}
    listen = None if conf["server_host"] in _ANY else conf["server_host"]
    return Service(_cut(conf["location_name"], MAX_NAME_BYTES), conf["server_port"], listen,
                   properties)


def setup(app, hub):
    async def announce(hub):
        address = hub.config["server_host"]
        if address in _ANY:
            address = hub.platform.lan_address()
        record = service(hub, address)
        _log.info("announcing {}.{} ({})".format(record.name, SERVICE_TYPE,
                                                 record.properties["internal_url"] or "no URL"))
        await hub.platform.advertise(record)

    hub.background.append(announce)
