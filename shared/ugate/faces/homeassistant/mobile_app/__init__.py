"""Home Assistant's mobile_app integration (ha-api.md section 4): phones
running the companion apps register (`POST /api/mobile_app/registrations`,
or the seed's `/api/mobile_app/devices`), then report through their
webhook (`webhook`, loaded at the first one) and get local push over the
WebSocket API (`push`, `websocket_commands`). Their sensors and location
become hub states like any source's readings (`entities`). The owner lists
and removes phones with `GET /api/mobile_app/registrations`, `DELETE
/api/mobile_app/registrations/<entry_id>` and `ugate mobile`.

This module holds the routes only: the phones (`phones`) are loaded at the
first registration, or at start when DIR/mobile_app.json exists, so a
board no phone uses does not hold them.
"""
import asyncio

from ugate.base import store
from ugate.http.auth import requires_auth

#: The WebSocket commands `phones` answers.
PUSH_COMMANDS = ("mobile_app/push_notification_channel", "mobile_app/push_notification_confirm")


class Loader:
    """The phones (`phones.MobileApp`), loaded when first needed; it also
    stands for them in `hub.registries` (no entries before they are loaded)."""

    #: Seconds between looks at DIR/mobile_app.json, for phones `ugate mobile`
    #: removed while the gateway runs.
    watch_interval = 5

    def __init__(self, hub):
        self.hub = hub
        self.path = store.join(hub.config_dir, "mobile_app.json")
        self.app = None

    def get(self):
        if self.app is None:
            from ugate.faces.homeassistant.mobile_app.phones import MobileApp
            self.app = MobileApp(self.hub)
        return self.app

    async def watch(self, hub):
        while True:
            await asyncio.sleep(self.watch_interval)
            if self.app is not None:
                self.app.refresh()
            elif store.exists(self.path):
                self.get()

    def devices(self):
        return self.app.registry.devices() if self.app and self.app.registry else []

    def entities(self):
        return self.app.registry.entities() if self.app and self.app.registry else []


def setup(app, hub):
    hub.components.append("mobile_app")
    phones = Loader(hub)
    if store.exists(phones.path):
        phones.get()  # their notify services exist from the start
    hub.background.append(phones.watch)
    hub.registries.append(phones)
    if "websocket" not in hub.config["disabled_faces"]:
        from ugate.faces.homeassistant.websocket_commands import COMMANDS

        def command(conn, msg):
            return phones.get().commands[msg["type"]](conn, msg)
        for name in PUSH_COMMANDS:
            COMMANDS[name] = command
    auth = requires_auth(hub.auth)

    async def register(request):
        return await phones.get().register(request)

    app.post("/api/mobile_app/registrations")(auth(register))
    app.post("/api/mobile_app/devices")(auth(register))

    @app.get("/api/mobile_app/registrations")
    @auth
    async def list_registrations(request):
        return phones.get().listed()

    @app.delete("/api/mobile_app/registrations/<entry_id>")
    @auth
    async def remove_registration(request, entry_id):
        return phones.get().removed(entry_id)

    @app.post("/api/webhook/<webhook_id>")
    async def webhook(request, webhook_id):
        from ugate.faces.homeassistant.mobile_app.webhook import handle
        return await handle(phones.get(), webhook_id, request)
