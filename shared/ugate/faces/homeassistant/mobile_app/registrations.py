"""The phones registered through the mobile_app API, kept in
DIR/mobile_app.json: owner-only, as it holds each phone's webhook id (the
webhook's only credential) and its encryption secret (a key, which cannot
be kept as a hash). `ugate mobile` edits the same file while the gateway
runs; the gateway reads it again when it changed.

A registration is a dict: `entry_id` (how the owner names it), `webhook_id`,
`secret` (hex, or None), `user_id`, `created_at`, the app's own fields, and
`sensors`, the phone's entity registry: unique id -> {type, name,
entity_id, device_class, unit_of_measurement, state_class, icon,
entity_category, disabled}.
"""
from ugate.base import compat, dates, log, store
from ugate.base.watched import WatchedFile
from ugate.hub.states import slugify

_log = log.get("mobile_app")

FILE = "mobile_app.json"
#: The fields an app sends that a registration keeps.
STRINGS = ("app_id", "app_name", "app_version", "device_name", "manufacturer", "model")
OPTIONAL_STRINGS = ("os_name", "os_version", "device_id")
_UNREADABLE = (ValueError, OSError)


class RegistrationError(ValueError):
    """A registration body that does not fit; the text names the field."""


def _read(path):
    data = store.read_json(path, None)
    if data is None:
        return {"registrations": {}, "deleted": []}
    if not (isinstance(data, dict) and isinstance(data.get("registrations"), dict)
            and isinstance(data.get("deleted"), list)):
        raise ValueError("not a mobile_app registrations file")
    return data


def checked(body):
    """The registration fields of a request body (unknown keys dropped);
    RegistrationError naming the first field that does not fit, in the
    words of Home Assistant's schema."""
    if not isinstance(body, dict):
        raise RegistrationError("expected a dictionary")
    out = {}
    for key in STRINGS:
        if key not in body:
            raise RegistrationError("required key not provided @ data['{}']".format(key))
    if "os_name" not in body and "os_version" not in body:
        raise RegistrationError("required key not provided @ data['os_name']")
    for key in STRINGS + OPTIONAL_STRINGS:
        if key in body:
            if not isinstance(body[key], str) or (key in STRINGS and not body[key]):
                raise RegistrationError("expected str for dictionary value @ data['{}']".format(key))
            out[key] = body[key]
    encryption = body.get("supports_encryption", False)
    if encryption is not True and encryption is not False:
        raise RegistrationError("expected bool for dictionary value @ data['supports_encryption']")
    out["supports_encryption"] = encryption
    app_data = body.get("app_data", {})
    if not isinstance(app_data, dict):
        raise RegistrationError("expected dict for dictionary value @ data['app_data']")
    out["app_data"] = app_data
    return out


def safe(reg):
    """A registration without its credentials, as update_registration and
    the owner's list show it."""
    return compat.OrderedDict((key, reg.get(key)) for key in (
        "app_data", "app_id", "app_name", "app_version", "device_name", "manufacturer",
        "model", "os_name", "os_version", "supports_encryption"))


def device_slug(reg):
    """The phone's name in entity ids and services: 'Pixel 8' -> 'pixel_8'."""
    return slugify(reg["device_name"])


def supports_push(reg):
    """Only apps that ask for the WebSocket push channel get local push
    (a cloud relay's push_url is not used)."""
    return bool(reg["app_data"].get("push_websocket_channel"))


class Registrations:
    #: Phones kept at most; one more is refused (a board keeps fewer).
    max_registrations = 32
    #: Sensors of one phone at most (each is an entity).
    max_sensors = 100
    #: Removed webhook ids remembered, so their phones hear 410 and register again.
    max_deleted = 64

    def __init__(self, config_dir):
        self.path = store.join(config_dir, FILE)
        self._file = WatchedFile(self.path, _read, _UNREADABLE, self._bad_edit)
        #: The content last handed out, whose dicts callers change and save.
        self._current = self._file.read()  # a bad file stops the start, naming it

    def _bad_edit(self, exc):
        _log.error("{} is unreadable ({}); keeping the registrations read before".format(
            self.path, exc))

    def reload(self):
        """Read the file again if another process (`ugate mobile`) changed it.
        Called as a request starts, never in the middle of one, so the dicts
        a request changes are the ones it saves."""
        self._current = self._file.content()

    def _data(self):
        return self._current

    def all(self):
        """Oldest first (MicroPython's dicts keep no order)."""
        return sorted(self._data()["registrations"].values(), key=lambda reg: reg["created_at"])

    def get(self, webhook_id):
        return self._data()["registrations"].get(webhook_id)

    def is_deleted(self, webhook_id):
        return webhook_id in self._data()["deleted"]

    def find(self, key):
        """The registration whose entry_id or device name is `key`."""
        for reg in self.all():
            if reg["entry_id"] == key or reg["device_name"] == key:
                return reg
        return None

    def add(self, fields, user_id):
        reg = dict(fields)
        reg["entry_id"] = compat.token_hex(16)
        reg["hass_device_id"] = compat.token_hex(16)  # the phone in the device registry
        reg["webhook_id"] = compat.token_hex(32)
        reg["secret"] = compat.token_hex(32) if fields["supports_encryption"] else None
        reg["user_id"] = user_id
        reg["created_at"] = dates.iso(compat.now_us())
        reg["sensors"] = {}

        def change(data):
            if len(data["registrations"]) >= self.max_registrations:
                raise RegistrationError("Too many registrations (at most {}); remove one with "
                                        "ugate mobile remove".format(self.max_registrations))
            data["registrations"][reg["webhook_id"]] = reg
        self._update(change)
        return reg

    def remove(self, webhook_id):
        def change(data):
            reg = data["registrations"].pop(webhook_id, None)
            if reg is not None:
                data["deleted"] = (data["deleted"] + [webhook_id])[-self.max_deleted:]
            return reg
        return self._update(change)

    def save(self, reg):
        """Write the changes a request made to `reg`, unless the phone was
        removed meanwhile (`ugate mobile remove`: the removal stands)."""
        def change(data):
            if reg["webhook_id"] in data["registrations"]:
                data["registrations"][reg["webhook_id"]] = reg
        self._update(change)

    def _update(self, change):
        # Under the file's lock, on what the file holds now: a phone that
        # `ugate mobile` removed or another process added is not lost. The
        # content written is the one handed out from now on (no read again).
        written = []

        def kept(data):
            written.append(data)
            return change(data)
        result = self._file.update(kept)
        self._current = written[0]
        return result
