"""Home Assistant's mobile_app integration (ha-api.md section 4): phones
running the companion apps register (`POST /api/mobile_app/registrations`,
or the seed's `/api/mobile_app/devices`), then report through their
webhook (`webhook`, loaded at the first one) and get local push over the
WebSocket API (`push`, `websocket_commands`). Their sensors and location
become hub states like any source's readings (`entities`).

The owner lists and removes phones with `GET /api/mobile_app/registrations`,
`DELETE /api/mobile_app/registrations/<entry_id>` and `ugate mobile`.
"""
import asyncio

from ugate.base import dates, log
from ugate.base.compat import OrderedDict
from ugate.faces.homeassistant.mobile_app.push import Push
from ugate.faces.homeassistant.mobile_app.registrations import (
    RegistrationError, Registrations, checked, device_slug, safe)
from ugate.faces.homeassistant.rest import parse_json_body
from ugate.http.auth import requires_auth
from ugate.http.responses import json_message, json_response

_log = log.get("mobile_app")


class MobileApp:
    """The phones of one gateway: their registrations and their push."""

    #: Seconds between looks at DIR/mobile_app.json for phones `ugate mobile`
    #: removed while the gateway runs.
    watch_interval = 5

    def __init__(self, hub):
        self.hub = hub
        self.registrations = Registrations(hub.config_dir)
        self.push = Push(hub, self.registrations)
        #: The phones seen at the last look: webhook id -> registration.
        self.known = {}
        #: When each phone's webhook was last called (webhook id -> µs), in
        #: memory only: writing it to flash at every report would wear it.
        self.last_seen = {}
        self.refresh()

    def refresh(self):
        """Follow the registrations file: a notify service for each phone that
        takes local push; a removed phone's states, service and channel gone."""
        self.registrations.reload()
        current = {reg["webhook_id"]: reg for reg in self.registrations.all()}
        for webhook_id in self.known:
            if webhook_id not in current:
                from ugate.faces.homeassistant.mobile_app.entities import remove_entities
                self.push.withdraw(webhook_id)
                self.last_seen.pop(webhook_id, None)
                remove_entities(self.hub, self.known[webhook_id])
                _log.info("removed the phone {}".format(self.known[webhook_id]["device_name"]))
        for reg in current.values():
            self.push.offer(reg)
        self.known = current

    def remove(self, reg):
        self.registrations.remove(reg["webhook_id"])
        self.refresh()

    async def watch(self, hub):
        while True:
            await asyncio.sleep(self.watch_interval)
            self.refresh()

    def entry(self, reg):
        """A phone as the owner's list shows it."""
        out = safe(reg)
        out["entry_id"] = reg["entry_id"]
        out["created_at"] = reg["created_at"]
        out["notify_service"] = "notify.mobile_app_" + device_slug(reg) \
            if reg["webhook_id"] in self.push.services else None
        out["sensors"] = sorted(e["entity_id"] for e in reg["sensors"].values())
        seen = self.last_seen.get(reg["webhook_id"])
        out["last_seen"] = dates.iso(seen) if seen is not None else None
        return out


def setup(app, hub):
    hub.components.append("mobile_app")
    mobile = MobileApp(hub)
    hub.background.append(mobile.watch)
    hub.commands.targets.append(mobile.push)
    if "websocket" not in hub.config["disabled_faces"]:
        from ugate.faces.homeassistant.mobile_app import websocket_commands
        websocket_commands.install(mobile)
    auth = requires_auth(hub.auth)

    async def register(request):
        mobile.refresh()
        try:
            fields = checked(parse_json_body(request))
            reg = mobile.registrations.add(fields, request.g.user.id)
        except RegistrationError as exc:
            return json_message("Message format incorrect: {}".format(exc), 400)
        except ValueError:
            return json_message("Invalid JSON.", 400)
        mobile.refresh()
        _log.info("registered the phone {} ({} {})".format(reg["device_name"], reg["app_name"],
                                                          reg["app_version"]))
        return json_response(OrderedDict([
            ("cloudhook_url", None), ("remote_ui_url", None), ("secret", reg["secret"]),
            ("webhook_id", reg["webhook_id"])]), 201)

    app.post("/api/mobile_app/registrations")(auth(register))
    app.post("/api/mobile_app/devices")(auth(register))

    @app.get("/api/mobile_app/registrations")
    @auth
    async def list_registrations(request):
        mobile.refresh()
        return json_response([mobile.entry(reg) for reg in mobile.registrations.all()])

    @app.delete("/api/mobile_app/registrations/<entry_id>")
    @auth
    async def remove_registration(request, entry_id):
        mobile.refresh()
        reg = mobile.registrations.find(entry_id)
        if reg is None or reg["entry_id"] != entry_id:
            return json_message("Registration not found.", 404)
        mobile.remove(reg)
        return json_message("Registration removed.")

    @app.post("/api/webhook/<webhook_id>")
    async def webhook(request, webhook_id):
        from ugate.faces.homeassistant.mobile_app.webhook import handle
        return await handle(mobile, webhook_id, request)
