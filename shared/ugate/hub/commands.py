"""The command router: a command for a device goes to whichever source owns
it (a serial port for a bridged device, a Hono device's waiting request,
later a phone), and its outcome comes back to whoever sent it (a Home
Assistant service call, Hono's application API, later a forwarder).

A command is Hono's: a name, a content type and a payload. It fails with
ValueError when the device cannot take it (a bad value: the caller's fault)
and with DeviceUnavailable when the device cannot be reached now (its port
is down, it is not waiting for a command: nobody's fault but the device's).
"""


class DeviceUnavailable(Exception):
    pass


class Command:
    def __init__(self, name, content_type, payload, req_id=None):
        self.name = name
        self.content_type = content_type
        self.payload = payload
        self.req_id = req_id  # set for a request-response command as it is sent


class CommandResponse:
    """A device's answer to a request-response command."""

    def __init__(self, status, content_type, payload):
        self.status = status
        self.content_type = content_type
        self.payload = payload


class Commands:
    def __init__(self):
        #: Sources that take commands: `owns(tenant, device)`,
        #: `accepts(tenant, device, name)` and
        #: `async execute(tenant, device, command, response_timeout)`.
        self.targets = []

    def _target(self, tenant, device):
        for target in self.targets:
            if target.owns(tenant, device):
                return target
        return None

    def accepts(self, tenant, device, name):
        """Whether the device takes the command `name` (for a bridged device,
        a reading's key or entity id): a face that offers controls asks."""
        target = self._target(tenant, device)
        return target is not None and target.accepts(tenant, device, name)

    async def send(self, tenant, device, command, response_timeout=None):
        """Deliver `command` to the device; with `response_timeout` (a
        request-response command) return the device's CommandResponse, or
        None when none came in time."""
        target = self._target(tenant, device)
        if target is None:
            raise DeviceUnavailable("device is not waiting for a command")
        return await target.execute(tenant, device, command, response_timeout)
