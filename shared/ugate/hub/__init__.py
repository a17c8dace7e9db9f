"""The hub: the one model every source writes and every face reads (like Home
Assistant's `hass` object): the bus, entity states, services, tokens and
users (`auth`), notifications, the command router and the message channel.
It knows no HTTP, no source and no face."""
from ugate import HA_VERSION, VERSION
from ugate.base import compat, log, store
from ugate.hub.auth import Auth
from ugate.hub.bus import Bus
from ugate.hub.commands import Commands
from ugate.hub.services import Services
from ugate.hub.states import StateMachine, slugify
from ugate.hub.tokens import TokenStore

_log = log.get("hub")

#: Fired by a source for the readings of one device (data: `tenant`,
#: `device_id`, `payload`, a JSON object); the message channel hands it to
#: the tenant's consumers as QoS 0 telemetry.
TELEMETRY_EVENT = "ugate_telemetry"


class Hub:
    def __init__(self, config, config_dir, platform):
        self.config = config
        self.config_dir = config_dir
        self.platform = platform
        self.version = VERSION
        self.ha_version = HA_VERSION
        self.bus = Bus()
        self.states = StateMachine(self.bus)
        self.states.on_refused = self._entity_refused
        self._refused_at = None
        self.services = Services(self.bus)
        self.tokens = TokenStore(config_dir)
        #: Checks bearer tokens; users, refresh tokens, revocations.
        self.auth = Auth(config_dir, self.tokens, config["auth"]["access_token_lifetime"])
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
        #: Forwarders (objects with `status()`), for theirs.
        self.forwarders = []
        #: Parts that keep device and entity registry entries of their own (the
        #: phones of mobile_app): objects with `devices()` and `entities()`.
        self.registries = []
        self._instance_id = None
        #: The command line's overrides of config.json (host, port): a new
        #: config is checked with them, as at start.
        self.config_overrides = None
        #: Set (with the server shut down) to start again with config.json as it is now.
        self.restart_requested = False

    @property
    def instance_id(self):
        """This gateway's id, 32 hex digits, made at first use and kept in
        DIR/instance_id: it names the gateway to the systems it reaches
        (MQTT client id and topics, Home Assistant devices, zeroconf)."""
        if self._instance_id is None:
            path = store.join(self.config_dir, "instance_id")
            try:
                self._instance_id = store.read_text(path).strip()
            except OSError:
                self._instance_id = compat.token_hex(16)
                store.write_atomic(path, self._instance_id + "\n")
        return self._instance_id

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

    #: Milliseconds between two updates of the notification about refused
    #: entities (a flood of new devices refuses one a line).
    refused_notice_ms = 60000

    def _entity_refused(self, entity_id, reason):
        """Tell the owner that new entities are being refused, and why."""
        now = compat.ticks_ms()
        if self._refused_at is not None and \
                compat.ticks_diff(now, self._refused_at) < self.refused_notice_ms:
            return
        self._refused_at = now
        _log.warning("new entity {} refused: {}".format(entity_id, reason))
        self.notify("entity_limit", "New entities refused",
                    "{} and other new entities were not created: {} Entities that exist keep "
                    "updating; remove ones no longer needed (DELETE /api/states/<entity_id>)."
                    .format(entity_id, reason))

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
