"""Services: the actions the gateway offers (Home Assistant's service
registry), the rule of their responses, and the call that fires
`call_service` on the bus before running the handler."""
from ugate.base.compat import OrderedDict
from ugate.hub.bus import Context


class ServiceNotFound(KeyError):
    pass


#: Whether a service answers with data (Home Assistant's SupportsResponse).
RESPONSE_NONE = "none"
RESPONSE_OPTIONAL = "optional"
RESPONSE_ONLY = "only"

#: Why a call is refused (`Services.refusal`): it asks for a response the
#: service does not give, or does not ask for the response the service
#: always gives. Each face words these its own way.
RESPONSE_NOT_SUPPORTED = "response_not_supported"
RESPONSE_REQUIRED = "response_required"


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

    def unregister(self, domain, name):
        """Take a service away (a phone that was removed)."""
        self._services.pop((domain, name), None)

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

    def refusal(self, domain, name, return_response):
        """Why a call that does (or does not) ask for the service's response
        is refused: RESPONSE_NOT_SUPPORTED, RESPONSE_REQUIRED, or None when
        it may go ahead. ServiceNotFound for an unknown service."""
        supports = self.get(domain, name).supports_response
        if return_response and supports == RESPONSE_NONE:
            return RESPONSE_NOT_SUPPORTED
        if not return_response and supports == RESPONSE_ONLY:
            return RESPONSE_REQUIRED
        return None

    async def call(self, domain, name, data, context=None):
        service = self.get(domain, name)
        context = context or Context()
        self.bus.fire("call_service", {"domain": domain, "service": name, "service_data": data},
                      context=context)
        return await service.handler(data, context)
