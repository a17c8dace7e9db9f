"""The hub: the one model every source writes and every face reads (like Home
Assistant's `hass` object): the bus, entity states, services, tokens and
notifications, the command router and the message channel. It knows no HTTP,
no source and no face."""
from ugate import HA_VERSION, VERSION
from ugate.base import log
from ugate.base.compat import OrderedDict
from ugate.hub.bus import Bus, Context
from ugate.hub.commands import Commands
from ugate.hub.states import StateMachine, slugify
from ugate.hub.tokens import TokenStore

_log = log.get("hub")

#: Fired by a source for the readings of one device (data: `tenant`,
#: `device_id`, `payload`, a JSON object); the message channel hands it to
#: the tenant's consumers as QoS 0 telemetry.
TELEMETRY_EVENT = "ugate_telemetry"


class ServiceNotFound(KeyError):
    pass


#: Whether a service answers with data (Home Assistant's SupportsResponse).
RESPONSE_NONE = "none"
RESPONSE_OPTIONAL = "optional"
RESPONSE_ONLY = "only"


class Service:
    def __init__(self, domain, name, handler, description="", fields=None,
                 supports_response=RESPONSE_NONE):
        self.domain = domain
        self.name = name
        self.handler = handler
        self.description = description
        self.fields = fields or {}
        self.supports_response = supports_response

    def as_dict(self):
        """Home Assistant's service description: `fields` maps each field
        name to {"name", "description", "example", "required", "selector"...}."""
        d = OrderedDict([("name", self.name), ("description", self.description),
                         ("fields", self.fields)])
        if self.supports_response != RESPONSE_NONE:
            d["response"] = {"optional": self.supports_response == RESPONSE_OPTIONAL}
        return d


class Services:
    """Actions the gateway offers (e.g. a command to a bridged device),
    called through `/api/services/<domain>/<service>` and the WebSocket API."""

    def __init__(self, bus):
        self.bus = bus
        self._services = {}

    def register(self, domain, name, handler, description="", fields=None,
                 supports_response=RESPONSE_NONE):
        """`handler(data, context)` is a coroutine; it raises ValueError for
        data it cannot use and may return a dict (the service response)."""
        self._services[(domain, name)] = Service(domain, name, handler, description, fields,
                                                 supports_response)

    def get(self, domain, name):
        service = self._services.get((domain, name))
        if service is None:
            raise ServiceNotFound("{}.{}".format(domain, name))
        return service

    def as_list(self):
        domains = {}
        for (domain, name), s in sorted(self._services.items()):
            domains.setdefault(domain, {})[name] = s.as_dict()
        return [OrderedDict([("domain", d), ("services", domains[d])]) for d in sorted(domains)]

    async def call(self, domain, name, data, context=None):
        service = self.get(domain, name)
        context = context or Context()
        self.bus.fire("call_service", {"domain": domain, "service": name, "service_data": data},
                      context=context)
        return await service.handler(data, context)


class Hub:
    def __init__(self, config, config_dir, platform):
        self.config = config
        self.config_dir = config_dir
        self.platform = platform
        self.version = VERSION
        self.ha_version = HA_VERSION
        self.bus = Bus()
        self.states = StateMachine(self.bus)
        self.services = Services(self.bus)
        self.tokens = TokenStore(config_dir)
        self.commands = Commands()
        #: The message channel (`ugate.hub.messages.Messages`), opened by the
        #: first part that consumes messages (`open_messages`): a config with
        #: no consumer never loads it.
        self.messages = None
        #: The Hono tenant of the gateway's own devices (bridged sensors).
        self.tenant = config["telemetry"]["tenant"]
        #: Names reported by /api/components; each face adds its own.
        self.components = ["api", "http"]
        #: Coroutine functions `f(hub)` run as tasks while the server runs.
        self.background = []
        #: Callables run once when the gateway stops (e.g. saving states).
        self.on_stop = []
        #: Serial and radio ports (objects with `status()`), for their status page.
        self.ports = []

    def open_messages(self):
        if self.messages is None:
            from ugate.hub.messages import Messages
            self.messages = Messages(self.config_dir, self.bus, self.tenant)
        return self.messages

    def publish_telemetry(self, device_id, payload):
        """A source's readings of one device, for the message channel's
        consumers and the bus's listeners."""
        self.bus.fire(TELEMETRY_EVENT, {"tenant": self.tenant, "device_id": device_id,
                                        "payload": payload})

    def stop(self):
        callbacks, self.on_stop = self.on_stop, []
        for callback in callbacks:
            try:
                callback()
            except Exception as exc:
                _log.error("stop hook failed: {!r}".format(exc))

    def notify(self, notification_id, title, message, context=None):
        """A persistent notification, exposed as the state
        `persistent_notification.<id>` (how the owner reads it over the API)."""
        self.states.set("persistent_notification." + slugify(notification_id), "notifying",
                        {"title": title, "message": message,
                         "notification_id": notification_id}, context=context)

    def dismiss(self, notification_id, context=None):
        """Remove a persistent notification; False when there was none."""
        return self.states.remove("persistent_notification." + slugify(notification_id),
                                  context)
