"""Local push: notifications to a phone over its WebSocket push channel
(Home Assistant's `mobile_app/push_notification_channel`), the
`notify.mobile_app_<device>` service that sends them, and the phone as a
command target of the hub's router (command `notify`), so Hono's
application API and the forwarders' command paths reach it too.

A notification waits for its phone: it is sent when the phone's channel
opens (at once when it is open), and with `support_confirm` it stays
until the phone confirms it: sent again every `confirm_timeout` seconds
on the same channel (at most `max_sends` times), and on every new
channel. At most `max_pending` wait per phone; one more drops the oldest
(logged). Nothing is sent through a cloud relay (`push_url`).
"""
import asyncio

from ugate.base import compat, jsoninput, log
from ugate.hub.commands import CommandResponse, DeviceUnavailable
from ugate.faces.homeassistant.mobile_app.registrations import device_slug, supports_push

_log = log.get("mobile_app.push")

SERVICE_FIELDS = {
    "message": {"name": "Message", "description": "The text of the notification.",
                "required": True, "example": "The garage door has been open for 10 minutes.",
                "selector": {"text": None}},
    "title": {"name": "Title", "description": "Title of the notification.",
              "example": "Your garage door", "selector": {"text": None}},
    "target": {"name": "Target", "description": "Ignored: the service names its phone.",
               "selector": {"object": None}},
    "data": {"name": "Data", "description": "Passed to the app as it is (e.g. tag, actions).",
             "selector": {"object": None}},
}


class Notification:
    def __init__(self, message):
        self.message = message
        self.confirm_id = compat.token_hex(16)
        self.sends = 0
        self.sent_at = None


class Channel:
    """One phone's open push channel: a WebSocket subscription."""

    def __init__(self, send, support_confirm):
        self.send = send
        self.support_confirm = support_confirm
        self.task = None


class Push:
    #: Seconds a phone has to confirm a notification before it is sent again.
    confirm_timeout = 10
    #: Times one notification is sent on one channel without a confirmation.
    max_sends = 3
    #: Notifications waiting for one phone; one more drops the oldest.
    max_pending = 32

    def __init__(self, hub, registrations):
        self.hub = hub
        self.registrations = registrations
        self.channels = {}  # webhook id -> Channel
        self.pending = {}  # webhook id -> [Notification]
        self.services = {}  # webhook id -> notify service name

    # -- the notify services and the command target -------------------------

    def offer(self, reg):
        """(Re)register the phone's notify service when its app asks for local
        push; take it away when it no longer does."""
        webhook_id = reg["webhook_id"]
        name = "mobile_app_" + device_slug(reg)
        old = self.services.get(webhook_id)
        if old is not None and (old != name or not supports_push(reg)):
            self.withdraw(webhook_id)
        if not supports_push(reg) or self.services.get(webhook_id) == name:
            return

        async def notify(data, context):
            self.notify(webhook_id, _message(data))

        self.hub.services.register("notify", name, notify,
                                   "Sends a notification to {} over its local push channel.".format(
                                       reg["device_name"]), SERVICE_FIELDS)
        self.services[webhook_id] = name

    def withdraw(self, webhook_id):
        """A removed phone: its service, its channel and what waited for it go."""
        name = self.services.pop(webhook_id, None)
        if name is not None:
            self.hub.services.unregister("notify", name)
        self.close(webhook_id)
        self.pending.pop(webhook_id, None)

    def _phone(self, device):
        for reg in self.registrations.all():
            if "mobile_app/" + device_slug(reg) == device and reg["webhook_id"] in self.services:
                return reg
        return None

    def owns(self, tenant, device):
        return tenant == self.hub.tenant and self._phone(device) is not None

    def accepts(self, tenant, device, name):
        return name == "notify" and self.owns(tenant, device)

    async def execute(self, tenant, device, command, response_timeout):
        """Command `notify` to `mobile_app/<device>`: a JSON object like the
        service's data, or the message as text."""
        reg = self._phone(device)
        if reg is None:
            raise DeviceUnavailable("{} takes no local push".format(device))
        if command.name != "notify":
            raise ValueError("a phone takes the command notify only")
        payload = command.payload or b""
        try:
            if "json" in (command.content_type or ""):
                data = jsoninput.loads(payload)
            else:
                data = {"message": compat.decode(payload) if isinstance(payload, bytes) else payload}
        except (ValueError, UnicodeError):
            raise ValueError("the payload is not UTF-8 JSON")
        self.notify(reg["webhook_id"], _message(data))
        return CommandResponse(200, None, b"") if response_timeout else None

    # -- delivery -------------------------------------------------------------

    def notify(self, webhook_id, message):
        waiting = self.pending.setdefault(webhook_id, [])
        waiting.append(Notification(message))
        if len(waiting) > self.max_pending:
            waiting.pop(0)
            _log.warning("push: more than {} notifications wait for {}; the oldest was "
                         "dropped".format(self.max_pending, self.services.get(webhook_id)))
        self.deliver(webhook_id)

    def deliver(self, webhook_id):
        """Send what waits and is due on the phone's open channel; without
        confirmations, sent is done."""
        channel = self.channels.get(webhook_id)
        if channel is None:
            return
        waiting = self.pending.get(webhook_id, [])
        now = compat.ticks_ms()
        for n in list(waiting):
            if n.sent_at is not None and (n.sends >= self.max_sends or compat.ticks_diff(
                    now, n.sent_at) < self.confirm_timeout * 1000):
                continue
            message = dict(n.message)
            if channel.support_confirm:
                message["hass_confirm_id"] = n.confirm_id
            channel.send(message)
            n.sends += 1
            n.sent_at = now
            if not channel.support_confirm:
                waiting.remove(n)

    def open(self, webhook_id, send, support_confirm):
        """A phone opened its channel (any older one of it ends); returns the
        function that closes it. `deliver` then sends what waited."""
        self.close(webhook_id)
        channel = Channel(send, support_confirm)
        self.channels[webhook_id] = channel
        for n in self.pending.get(webhook_id, []):
            n.sends, n.sent_at = 0, None  # a new channel: everything again
        if support_confirm:
            channel.task = asyncio.create_task(self._resend(webhook_id, channel))

        def close():
            if self.channels.get(webhook_id) is channel:
                self.close(webhook_id)
        return close

    def close(self, webhook_id):
        channel = self.channels.pop(webhook_id, None)
        if channel is not None and channel.task is not None:
            channel.task.cancel()

    async def _resend(self, webhook_id, channel):
        while True:
            await asyncio.sleep(self.confirm_timeout)
            self.deliver(webhook_id)

    def confirm(self, webhook_id, confirm_id):
        """True when `confirm_id` was waiting for its confirmation."""
        waiting = self.pending.get(webhook_id, [])
        for n in waiting:
            if compat.equal(n.confirm_id, confirm_id):
                waiting.remove(n)
                return True
        return False


def _message(data):
    """A notification from the service's data: message (required), title,
    data; ValueError otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        raise ValueError("required key not provided @ data['message']")
    message = {"message": data["message"]}
    if data.get("title") is not None:
        message["title"] = str(data["title"])
    if data.get("data") is not None:
        if not isinstance(data["data"], dict):
            raise ValueError("expected dict for dictionary value @ data['data']")
        message["data"] = data["data"]
    return message
