"""`POST /api/webhook/<webhook_id>`: what a registered phone sends
(ha-api.md 4.2), with Home Assistant's answers. Loaded at the first
webhook, so a gateway no phone talks to does not hold it.

The envelope is `{"type", "data"}` or `{"type", "encrypted": true,
"encrypted_data"}` (the real type next to the encrypted data, as the apps
send it). An encrypting phone's answers are encrypted with the key it
uses, except empty answers, errors and `enable_encryption`.
"""
import json

from microdot import Response

from ugate.base import compat, jsoninput, log, secretbox
from ugate.base.validation import MISSING, Invalid
from ugate.faces.homeassistant.mobile_app import entities
from ugate.faces.homeassistant.mobile_app.registrations import safe
from ugate.faces.homeassistant.rest import config_dict
from ugate.http.responses import error_response, json_response
from ugate.hub.bus import Context
from ugate.hub.states import State, TooManyEntities

_log = log.get("mobile_app.webhook")

#: Home Assistant's frontend colour, which the iOS app reads from get_config.
THEME_COLOR = "#03A9F4"


def _empty(status=200):
    return Response("{}", status, {"Content-Type": "application/json"})


def _error(code, message, status=400):
    return json_response({"success": False, "error": {"code": code, "message": message}}, status)


def legacy_key(secret):
    """The key apps used before Home Assistant 2022.x: the hex secret's
    first 32 characters as bytes, NUL-padded."""
    return (secret.encode()[:32] + b"\x00" * 32)[:32]


def _key(reg):
    """The key of a phone's answers: the hex key once it used that."""
    secret = reg["secret"]
    return bytes.fromhex(secret) if reg.get("no_legacy_encryption") else legacy_key(secret)


def _answer(reg, data, status=200):
    """A JSON answer, encrypted for a phone that encrypts."""
    if not reg["supports_encryption"]:
        return json_response(data, status)
    box = secretbox.encrypt(_key(reg), json.dumps(data).encode())
    return json_response({"encrypted": True, "encrypted_data": compat.b64encode(box).decode()},
                         status)


def _b64(text):
    text = text.strip()
    return compat.b64decode(text + "=" * (-len(text) % 4))


def _decrypted(mobile, reg, encrypted):
    """The payload of an encrypted envelope, or None (logged). The legacy
    key is tried while the phone has not yet used the hex key."""
    try:
        box = _b64(encrypted)
    except ValueError:
        _log.warning("{}: encrypted_data is not base64".format(reg["device_name"]))
        return None
    keys = [bytes.fromhex(reg["secret"])]
    if not reg.get("no_legacy_encryption"):
        keys.append(legacy_key(reg["secret"]))
    for i, key in enumerate(keys):
        try:
            plaintext = secretbox.decrypt(key, box)
        except (secretbox.CryptoError, ValueError):
            continue
        if i == 0 and not reg.get("no_legacy_encryption"):
            reg["no_legacy_encryption"] = True  # from now on the legacy key is refused
            mobile.registrations.save(reg)
        try:
            return jsoninput.loads(plaintext)
        except ValueError:
            _log.warning("{}: invalid JSON in the encrypted payload".format(reg["device_name"]))
            return None
    _log.warning("{}: ignoring an encrypted payload that does not decrypt".format(reg["device_name"]))
    return None


async def handle(mobile, webhook_id, request):
    mobile.refresh()  # phones `ugate mobile` removed are gone before this answer
    registrations = mobile.registrations
    if registrations.is_deleted(webhook_id):
        return Response("", 410)
    reg = registrations.get(webhook_id)
    if reg is None:
        return Response("", 200)  # as for any unknown webhook: ids cannot be probed
    mobile.last_seen[webhook_id] = compat.now_us()
    try:
        body = jsoninput.loads(request.body)
    except ValueError:
        _log.warning("invalid JSON from {}".format(reg["device_name"]))
        return _empty(400)
    if not isinstance(body, dict):
        return _empty()
    if "encrypted" not in body and reg["supports_encryption"]:
        _log.warning("refusing an unencrypted webhook from {}".format(reg["device_name"]))
        return _error("encryption_required", "Encryption required")
    kind = body.get("type")
    if not isinstance(kind, str) or not _envelope_ok(body):
        _log.error("invalid webhook envelope from {}".format(reg["device_name"]))
        return _empty()
    if body.get("encrypted"):
        if not reg["supports_encryption"]:
            return _empty()
        payload = _decrypted(mobile, reg, body.get("encrypted_data", ""))
    else:
        payload = body.get("data", {})
    if payload is None:
        return _empty()
    handler = TYPES.get(kind)
    if handler is None:
        _log.error("webhook of unknown type {!r} from {}".format(kind, reg["device_name"]))
        return _empty()
    try:
        return await handler(mobile, reg, payload)
    except Invalid as exc:
        _log.error("invalid {} payload from {}: {}".format(kind, reg["device_name"], exc))
        return _empty()


def _envelope_ok(body):
    """Home Assistant's two envelope schemas; nothing else is allowed."""
    if body.get("encrypted") is True:
        return all(k in ("type", "encrypted", "encrypted_data") for k in body) and \
            isinstance(body.get("encrypted_data", ""), str)
    return "encrypted" not in body and all(k in ("type", "data") for k in body) and \
        isinstance(body.get("data", {}), (dict, list))


def _fields(data, required=(), optional=()):
    """`data` as a dict with the required string fields and no others."""
    if not isinstance(data, dict):
        raise Invalid(None, "expected a dictionary", data)
    for key in data:
        if key not in required and key not in optional:
            raise Invalid(key, "extra keys not allowed")
    for key in required:
        if key not in data:
            raise Invalid(key, MISSING)
        if not isinstance(data[key], str):
            raise Invalid(key, "expected str", data[key])
    return data


# -- the webhook types ---------------------------------------------------------

async def update_registration(mobile, reg, data):
    _fields(data, ("app_version", "device_name", "manufacturer", "model"), ("app_data", "os_version"))
    if "app_data" in data and not isinstance(data["app_data"], dict):
        raise Invalid("app_data", "expected dict", data["app_data"])
    reg.update(data)
    mobile.registrations.save(reg)
    mobile.push.offer(reg)
    return _answer(reg, safe(reg))


async def get_config(mobile, reg, data):
    conf = config_dict(mobile.hub)
    answer = {key: conf[key] for key in ("latitude", "longitude", "elevation", "unit_system",
                                          "location_name", "time_zone", "components", "version")}
    answer["hass_device_id"] = reg["hass_device_id"]
    answer["theme_color"] = THEME_COLOR
    answer["entities"] = {uid: {"disabled": e["disabled"]} for uid, e in reg["sensors"].items()}
    return _answer(reg, answer)


async def register_sensor(mobile, reg, data):
    try:
        entities.register_sensor(mobile.hub, mobile.registrations, reg, data)
    except TooManyEntities as exc:
        return _error("too_many_entities", str(exc))
    return _answer(reg, {"success": True}, 201)


async def update_sensor_states(mobile, reg, data):
    try:
        answer = entities.update_sensor_states(mobile.hub, reg, data)
    except TooManyEntities as exc:
        return _error("too_many_entities", str(exc))
    return _answer(reg, answer)


async def update_location(mobile, reg, data):
    entities.update_location(mobile.hub, reg, data)
    return _empty()


async def render_template(mobile, reg, data):
    from ugate.faces.homeassistant.template import Template, TemplateError
    if not isinstance(data, dict):
        raise Invalid(None, "expected a dictionary", data)
    for key, item in data.items():
        _fields(item, ("template",), ("variables",))
        if not isinstance(item.get("variables", {}), dict):
            raise Invalid("variables", "expected dict")
    answer = {}
    for key, item in data.items():
        try:
            answer[key] = Template(mobile.hub, item["template"]).render(item.get("variables"))
        except TemplateError as exc:
            answer[key] = {"error": str(exc)}
    return _answer(reg, answer)


async def call_service(mobile, reg, data):
    _fields(data, ("domain", "service"), ("service_data",))
    service_data = data.get("service_data", {})
    if not isinstance(service_data, dict):
        raise Invalid("service_data", "expected dict", service_data)
    try:
        await mobile.hub.services.call(data["domain"], data["service"], service_data,
                                       entities.context(reg))
    except Exception as exc:  # Home Assistant answers every failure with a bare 400
        _log.error("calling {}.{} for {} failed: {}".format(data["domain"], data["service"],
                                                          reg["device_name"], exc))
        return error_response(400)
    return _empty()


async def fire_event(mobile, reg, data):
    _fields(data, ("event_type",), ("event_data",))
    event_data = data.get("event_data", {})
    if not isinstance(event_data, dict):
        raise Invalid("event_data", "expected dict", event_data)
    mobile.hub.bus.fire(data["event_type"], event_data, origin="REMOTE", context=entities.context(reg))
    return _empty()


async def scan_tag(mobile, reg, data):
    _fields(data, ("tag_id",))
    mobile.hub.bus.fire("tag_scanned", compat.OrderedDict([
        ("tag_id", data["tag_id"]), ("name", None), ("device_id", reg["hass_device_id"])]),
        context=entities.context(reg))
    return _empty()


async def get_zones(mobile, reg, data):
    conf = mobile.hub.config
    now = compat.now_us()
    home = State("zone.home", "0", {
        "latitude": conf["latitude"], "longitude": conf["longitude"],
        "radius": entities.HOME_RADIUS, "passive": False, "persons": [], "editable": True,
        "icon": "mdi:home", "friendly_name": conf["location_name"]}, now, now, now, Context())
    return _answer(reg, [home.as_dict()])


async def enable_encryption(mobile, reg, data):
    if reg["supports_encryption"]:
        return _error("encryption_already_enabled", "Encryption already enabled")
    reg["supports_encryption"] = True
    reg["secret"] = compat.token_hex(32)
    reg.pop("no_legacy_encryption", None)
    mobile.registrations.save(reg)
    return json_response({"secret": reg["secret"]})


async def stream_camera(mobile, reg, data):
    _fields(data, ("camera_entity_id",))
    return _answer(reg, {"success": False}, 400)  # the gateway has no cameras


async def conversation_process(mobile, reg, data):
    _fields(data, ("text",), ("language", "conversation_id"))
    # Home Assistant's answer when no agent understands the text.
    return _answer(reg, {
        "response": {"speech": {"plain": {"speech": "Sorry, I couldn't understand that",
                                          "extra_data": None}},
                     "card": {}, "language": data.get("language") or "en",
                     "response_type": "error", "data": {"code": "no_intent_match"}},
        "conversation_id": data.get("conversation_id"), "continue_conversation": False})


TYPES = {
    "update_registration": update_registration, "get_config": get_config,
    "register_sensor": register_sensor, "update_sensor_states": update_sensor_states,
    "update_location": update_location, "render_template": render_template,
    "call_service": call_service, "fire_event": fire_event, "scan_tag": scan_tag,
    "get_zones": get_zones, "enable_encryption": enable_encryption,
    "stream_camera": stream_camera, "conversation_process": conversation_process,
}
