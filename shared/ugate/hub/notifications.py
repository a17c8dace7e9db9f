"""The `persistent_notification` services: create and dismiss the
notifications ugate shows as `persistent_notification.<id>` states (the same
ones the gateway raises itself through `hub.notify`)."""
from ugate.base import compat
from ugate.base.compat import OrderedDict
from ugate.base.validation import MISSING, Invalid, known_keys, mapping


def _text(key, name, description, required, example):
    """A text field of a service, described as Home Assistant does."""
    return key, OrderedDict([("name", name), ("description", description), ("required", required),
                             ("example", example), ("selector", {"text": None})])


CREATE_FIELDS = OrderedDict([
    _text("message", "Message", "Message body of the notification.", True,
          "Please check the sensor in the garage."),
    _text("title", "Title", "Optional title of the notification.", False, "Garage sensor"),
    _text("notification_id", "Notification ID", "Identifier of the notification; a new one "
          "with the same id replaces it.", False, "garage_sensor"),
])
DISMISS_FIELDS = OrderedDict([
    _text("notification_id", "Notification ID", "Identifier of the notification to remove.",
          True, "garage_sensor"),
])


def _fields(data, allowed, required):
    """The service data as a dict of text values; Invalid names the problem
    (unknown or missing field), as a service schema would."""
    data = mapping(data or {}, "service data")
    known_keys(data, allowed)
    for key in required:
        if data.get(key) is None:
            raise Invalid(key, MISSING)
    return {k: str(v) for k, v in data.items() if v is not None}


def setup(hub):
    async def create(data, context):
        data = _fields(data, CREATE_FIELDS, ("message",))
        notification_id = data.get("notification_id") or compat.ulid().lower()
        hub.notify(notification_id, data.get("title"), data["message"], context)

    async def dismiss(data, context):
        data = _fields(data, DISMISS_FIELDS, ("notification_id",))
        hub.dismiss(data["notification_id"], context)

    hub.services.register("persistent_notification", "create", create,
                          "Shows a notification as a persistent_notification state.",
                          CREATE_FIELDS)
    hub.services.register("persistent_notification", "dismiss", dismiss,
                          "Removes a persistent notification.", DISMISS_FIELDS)
