"""The phones of one gateway, loaded at the first registration (or at start
when DIR/mobile_app.json has phones): their registrations, their push, the
owner's API, and the routes' work (`__init__` holds only the routes)."""
from ugate.base import log
from ugate.base.compat import OrderedDict
from ugate.faces.homeassistant.mobile_app.push import Push
from ugate.faces.homeassistant.mobile_app.registrations import (
    RegistrationError, Registrations, checked, device_slug, safe)
from ugate.faces.homeassistant.rest import parse_json_body
from ugate.http.responses import json_message, json_response

_log = log.get("mobile_app")


class MobileApp:
    """The phones of one gateway: their registrations and their push."""

    def __init__(self, hub):
        self.hub = hub
        self.registrations = Registrations(hub.config_dir)
        self.push = Push(hub, self.registrations)
        #: The phones seen at the last look: webhook id -> registration.
        self.known = {}
        self.refresh()
        hub.commands.targets.append(self.push)
        #: The WebSocket commands and registry entries (with the WebSocket API).
        self.commands, self.registry = {}, None
        if "websocket" not in hub.config["disabled_faces"]:
            from ugate.faces.homeassistant.mobile_app import websocket_commands
            self.commands = websocket_commands.commands(self)
            self.registry = websocket_commands.Phones(self)

    def refresh(self):
        """Follow the registrations file: a notify service for each phone that
        takes local push; a removed phone's states, service and channel gone."""
        self.registrations.reload()
        current = {reg["webhook_id"]: reg for reg in self.registrations.all()}
        for webhook_id in self.known:
            if webhook_id not in current:
                from ugate.faces.homeassistant.mobile_app.entities import remove_entities
                self.push.withdraw(webhook_id)
                remove_entities(self.hub, self.known[webhook_id])
                _log.info("removed the phone {}".format(self.known[webhook_id]["device_name"]))
        for reg in current.values():
            self.push.offer(reg)
        self.known = current

    def remove(self, reg):
        self.registrations.remove(reg["webhook_id"])
        self.refresh()

    def entry(self, reg):
        """A phone as the owner's list shows it."""
        out = safe(reg)
        out["entry_id"] = reg["entry_id"]
        out["created_at"] = reg["created_at"]
        out["notify_service"] = "notify.mobile_app_" + device_slug(reg) \
            if reg["webhook_id"] in self.push.services else None
        out["sensors"] = sorted(e["entity_id"] for e in reg["sensors"].values())
        return out

    async def register(self, request):
        self.refresh()
        try:
            fields = checked(parse_json_body(request))
            reg = self.registrations.add(fields, request.g.user.id)
        except RegistrationError as exc:
            return json_message("Message format incorrect: {}".format(exc), 400)
        except ValueError:
            return json_message("Invalid JSON.", 400)
        self.refresh()
        _log.info("registered the phone {} ({} {})".format(reg["device_name"], reg["app_name"],
                                                          reg["app_version"]))
        return json_response(OrderedDict([
            ("cloudhook_url", None), ("remote_ui_url", None), ("secret", reg["secret"]),
            ("webhook_id", reg["webhook_id"])]), 201)

    def listed(self):
        self.refresh()
        return json_response([self.entry(reg) for reg in self.registrations.all()])

    def removed(self, entry_id):
        self.refresh()
        reg = self.registrations.find(entry_id)
        if reg is None or reg["entry_id"] != entry_id:
            return json_message("Registration not found.", 404)
        self.remove(reg)
        return json_message("Registration removed.")
