"""Command and control (Hono's HTTP adapter, reference section 6): a device
that sends a message with `hono-ttd: N` waits up to N seconds in its request
for a command; an application sends one (`north.py`), and the device's
request answers 200 with the command. Only the latest waiting request of a
device gets it: an earlier one is answered 202 at once.

Request-response commands carry a request id; the device answers
`POST /command/res/<id>` and the application's request, waiting meanwhile,
gets that response.

Bridged serial and radio devices (`<protocol>/<device>`) cannot wait in an
HTTP request: their commands go to `hub.bridge.send_command` instead, the
command name being the reading's key (the end of its entity id, like
`switch_1`) and the payload its value.
"""
import asyncio
import json

from ugate.base import compat
from ugate.hub.states import slugify


class NotWaiting(Exception):
    pass


class Command:
    def __init__(self, name, content_type, payload, req_id=None):
        self.name = name
        self.content_type = content_type
        self.payload = payload
        self.req_id = req_id


class Waiter:
    """A device's request waiting for a command."""

    def __init__(self):
        self.command = None
        self.ready = asyncio.Event()

    async def wait(self, seconds):
        """The command that arrived within `seconds`, or None."""
        try:
            await asyncio.wait_for(self.ready.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        return self.command

    def give(self, command):
        self.command = command
        self.ready.set()


class Response:
    def __init__(self, status, content_type, payload):
        self.status = status
        self.content_type = content_type
        self.payload = payload


class Pending:
    """An application's request-response command waiting for the device."""

    def __init__(self, tenant, device):
        self.tenant = tenant
        self.device = device
        self.response = None
        self.ready = asyncio.Event()


def request_id_valid(req_id):
    return len(req_id) == 2 * Commands.req_id_bytes and all(c in "0123456789abcdef" for c in req_id)


class Commands:
    #: Random bytes of a request id (shown in hex).
    req_id_bytes = 8
    #: Request-response commands waiting for their device at once.
    max_pending = 64

    def __init__(self, hub):
        self.hub = hub
        self.waiters = {}  # (tenant, device) -> Waiter
        self.pending = {}  # request id -> Pending

    def wait(self, tenant, device):
        """Register a device's request as the one to get the next command;
        an earlier one of the same device is released (answered 202)."""
        key = (tenant, device)
        previous = self.waiters.get(key)
        if previous is not None:
            previous.give(None)
        waiter = self.waiters[key] = Waiter()
        return waiter

    def done(self, tenant, device, waiter):
        if self.waiters.get((tenant, device)) is waiter:
            del self.waiters[(tenant, device)]

    def bridged_entity(self, tenant, device, name):
        """The entity id a command `name` for a bridged device goes to, or
        None when `device` is not a bridged device of this tenant."""
        bridge = self.hub.bridge
        if bridge is None or tenant != bridge.tenant or "/" not in device:
            return None
        object_id = slugify(device.split("/", 1)[1] + "_" + name)
        known = False
        for state in self.hub.states.all():
            if state.attributes.get("device_id") != device or "port" not in state.attributes:
                continue
            known = True
            if state.entity_id == name or state.entity_id.split(".", 1)[1] == object_id:
                return state.entity_id
        if known:
            raise ValueError("device {} has no reading {}".format(device, name))
        return None

    async def send(self, tenant, device, command, response_timeout=None):
        """Deliver `command`; with `response_timeout` (request-response)
        return the device's Response, or None when none came in time.
        NotWaiting when the device is not waiting; ValueError for a command a
        bridged device cannot take."""
        entity_id = self.bridged_entity(tenant, device, command.name)
        if entity_id is not None:
            await self.hub.bridge.send_command(entity_id, _value(command))
            return Response(200, None, b"") if response_timeout else None
        waiter = self.waiters.get((tenant, device))
        if waiter is None:
            raise NotWaiting()
        if response_timeout and len(self.pending) >= self.max_pending:
            raise ValueError("too many commands wait for a response")  # the device waits on
        del self.waiters[(tenant, device)]
        if not response_timeout:
            waiter.give(command)
            return None
        command.req_id = compat.token_hex(self.req_id_bytes)
        pending = self.pending[command.req_id] = Pending(tenant, device)
        waiter.give(command)
        try:
            await asyncio.wait_for(pending.ready.wait(), response_timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            del self.pending[command.req_id]
        return pending.response

    def respond(self, tenant, device, req_id, response):
        """A device's response; False when no application waits for it."""
        pending = self.pending.get(req_id)
        if pending is None or pending.tenant != tenant or pending.device != device:
            return False
        pending.response = response
        pending.ready.set()
        return True


def _value(command):
    """A command payload as the bridge's value: JSON when it is JSON (true,
    21.5, "on"), else the text."""
    try:
        text = command.payload.decode().strip()
    except UnicodeError:
        raise ValueError("the command payload is not text")
    if command.content_type and command.content_type.split(";")[0].strip() == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError("the command payload is not valid JSON")
    return text
