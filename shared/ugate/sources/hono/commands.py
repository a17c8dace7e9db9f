"""Command and control for Hono devices (Hono's HTTP adapter, reference
section 6): a device that sends a message with `hono-ttd: N` waits up to N
seconds in its request for a command. While it waits it is the hub's command
target for that device: a command routed to it (from Hono's application
API, later a forwarder) answers the device's request with 200 and the
command. Only the latest waiting request of a device gets it: an earlier one
is answered 202 at once.

Request-response commands carry a request id; the device answers
`POST /command/res/<id>` and the sender, waiting meanwhile, gets that
response.
"""
import asyncio

from ugate.base import compat
from ugate.hub.commands import DeviceUnavailable


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


class Pending:
    """A request-response command waiting for the device's response."""

    def __init__(self, tenant, device):
        self.tenant = tenant
        self.device = device
        self.response = None
        self.ready = asyncio.Event()


def request_id_valid(req_id):
    return len(req_id) == 2 * WaitingDevices.req_id_bytes and compat.only(req_id, "0123456789abcdef")


class WaitingDevices:
    #: Random bytes of a request id (shown in hex).
    req_id_bytes = 8
    #: Request-response commands waiting for their device at once.
    max_pending = 64

    def __init__(self, registry):
        self.registry = registry
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

    def owns(self, tenant, device):
        return (tenant, device) in self.waiters or self.registry.device(tenant, device) is not None

    def accepts(self, tenant, device, name):
        return True  # any command; the device answers for itself

    async def execute(self, tenant, device, command, response_timeout):
        waiter = self.waiters.get((tenant, device))
        if waiter is None:
            raise DeviceUnavailable("device is not waiting for a command")
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
        """A device's response; False when no sender waits for it."""
        pending = self.pending.get(req_id)
        if pending is None or pending.tenant != tenant or pending.device != device:
            return False
        pending.response = response
        pending.ready.set()
        return True
