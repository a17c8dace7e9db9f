"""The commands of Home Assistant's WebSocket API (ha-api.md section 3),
what their answers look like, and the table `COMMANDS` that the connection
(`ugate.faces.homeassistant.websocket`) dispatches on. A command is
`async def (connection, msg)`: it answers through `connection.enqueue` and
raises Invalid (`ugate.base.validation`) for fields that do not fit."""
import json

from ugate.base import jsonstream, log
from ugate.base.compat import OrderedDict
from ugate.base.jsonstream import Streamed
from ugate.base.validation import MISSING, Invalid
from ugate.faces.homeassistant.compressed_state import added, entities_event
from ugate.faces.homeassistant.rest import config_dict
from ugate.hub.bus import MATCH_ALL
from ugate.hub.commands import DeviceUnavailable
from ugate.hub.services import RESPONSE_NOT_SUPPORTED, RESPONSE_REQUIRED, ServiceNotFound
from ugate.hub.states import valid_entity_id

_log = log.get("api.websocket")

ERR_ID_REUSE = "id_reuse"
ERR_INVALID_FORMAT = "invalid_format"
ERR_NOT_FOUND = "not_found"
ERR_UNKNOWN_COMMAND = "unknown_command"
ERR_UNAUTHORIZED = "unauthorized"
ERR_UNKNOWN_ERROR = "unknown_error"
ERR_HOME_ASSISTANT_ERROR = "home_assistant_error"
ERR_SERVICE_VALIDATION_ERROR = "service_validation_error"
ERR_NOT_SUPPORTED = "not_supported"

FEATURE_COALESCE_MESSAGES = "coalesce_messages"

#: What a refused service call answers (see `Services.refusal`), Home Assistant's words.
REFUSALS = {
    RESPONSE_NOT_SUPPORTED: "An action which does not return responses can't be called with "
                            "return_response=True.",
    RESPONSE_REQUIRED: "The action requires responses and must be called with return_response=True.",
}


def result_message(msg_id, result=None):
    return OrderedDict([("id", msg_id), ("type", "result"), ("success", True), ("result", result)])


def error_message(msg_id, code, message):
    error = OrderedDict([("code", code), ("message", message)])
    return OrderedDict([("id", msg_id), ("type", "result"), ("success", False), ("error", error)])


def event_message(msg_id, event):
    return OrderedDict([("id", msg_id), ("type", "event"), ("event", event)])


_TYPE_NAMES = {str: "str", dict: "dict", int: "int", bool: "bool"}


def field(msg, key, kind, default=None, required=False):
    """`msg[key]` checked to be of `kind`; the default when absent."""
    if key not in msg:
        if required:
            raise Invalid(key, MISSING)
        return default
    value = msg[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Invalid(key, "expected " + _TYPE_NAMES[kind], value)
    return value


def entity_ids_field(msg):
    """HA's cv.entity_ids: a list or a comma-separated string, lowercased."""
    ids = msg.get("entity_ids")
    if ids is None:
        return None
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",") if i.strip()]
    if not isinstance(ids, list):
        raise Invalid("entity_ids", "expected list", ids)
    checked = set()
    for entity_id in ids:
        if not isinstance(entity_id, str) or not valid_entity_id(entity_id.lower()):
            raise Invalid("entity_ids", "Entity ID {} is an invalid entity ID".format(
                json.dumps(entity_id)), ids)
        checked.add(entity_id.lower())
    return checked or None


# -- the commands -------------------------------------------------------------

async def ping(conn, msg):
    m = OrderedDict()
    m["id"] = msg["id"]
    m["type"] = "pong"
    conn.enqueue(m)


async def get_states(conn, msg):
    # The states as they are now; each is turned into JSON as it is sent.
    states = conn.hub.states
    conn.enqueue(Streamed(result_message(msg["id"]), jsonstream.array(states.all(), states.json)))


async def get_config(conn, msg):
    conn.enqueue(result_message(msg["id"], config_dict(conn.hub)))


async def get_services(conn, msg):
    services = {d["domain"]: d["services"] for d in conn.hub.services.as_list()}
    conn.enqueue(result_message(msg["id"], services))


async def subscribe_events(conn, msg):
    msg_id = msg["id"]
    event_type = field(msg, "event_type", str, MATCH_ALL)

    def forward(event):
        # The event's JSON is built once for every subscriber.
        conn.enqueue(Streamed(event_message(msg_id, None), (event.json(),)))

    conn.listen(msg_id, event_type, forward)
    conn.enqueue(result_message(msg_id))


async def unsubscribe_events(conn, msg):
    subscription = field(msg, "subscription", int, required=True)
    remove = conn.subscriptions.pop(subscription, None)
    if remove is None:
        conn.enqueue(error_message(msg["id"], ERR_NOT_FOUND, "Subscription not found."))
        return
    remove()
    conn.enqueue(result_message(msg["id"]))


async def fire_event(conn, msg):
    event_type = field(msg, "event_type", str, required=True)
    event_data = field(msg, "event_data", dict)
    context = conn.context()
    conn.hub.bus.fire(event_type, event_data, context=context)
    conn.enqueue(result_message(msg["id"], {"context": context.as_dict()}))


async def call_service(conn, msg):
    domain = field(msg, "domain", str, required=True)
    service = field(msg, "service", str, required=True)
    data = dict(field(msg, "service_data", dict, {}))
    # The target's entity_id/device_id/area_id reach the service as data, as in HA.
    data.update(field(msg, "target", dict, {}))
    return_response = field(msg, "return_response", bool, False)
    context = conn.context()
    msg_id = msg["id"]
    try:
        refusal = conn.hub.services.refusal(domain, service, return_response)
    except ServiceNotFound:
        conn.enqueue(error_message(msg_id, ERR_NOT_FOUND,
                                   "Service {}.{} not found.".format(domain, service)))
        return
    if refusal:
        conn.enqueue(error_message(msg_id, ERR_SERVICE_VALIDATION_ERROR,
                                   "Validation error: " + REFUSALS[refusal]))
        return
    try:
        response = await conn.hub.services.call(domain, service, data, context)
    except ValueError as exc:  # the service refused its data
        conn.enqueue(error_message(msg_id, ERR_SERVICE_VALIDATION_ERROR,
                                   "Validation error: {}".format(exc)))
        return
    except DeviceUnavailable as exc:  # the service could not reach its device
        _log.warning("{}.{}: {}".format(domain, service, exc))
        conn.enqueue(error_message(msg_id, ERR_HOME_ASSISTANT_ERROR, str(exc)))
        return
    except Exception as exc:
        _log.error("{}.{} failed: {!r}".format(domain, service, exc))
        conn.enqueue(error_message(msg_id, ERR_UNKNOWN_ERROR, str(exc) or "Unknown error"))
        return
    result = OrderedDict()
    result["context"] = context.as_dict()
    if return_response:
        result["response"] = response
    conn.enqueue(result_message(msg_id, result))


async def subscribe_entities(conn, msg):
    msg_id = msg["id"]
    hub = conn.hub
    entity_ids = entity_ids_field(msg)

    def forward(event):
        if entity_ids is None or event.data["entity_id"] in entity_ids:
            change = entities_event(hub, event.data)
            if change is not None:
                conn.enqueue(event_message(msg_id, change))

    # Listen before taking the snapshot, with no await between: no change is lost.
    conn.listen(msg_id, "state_changed", forward)
    conn.enqueue(result_message(msg_id))
    # all() takes the snapshot now; the filter runs as the message is written.
    states = (s for s in hub.states.all() if entity_ids is None or s.entity_id in entity_ids)
    conn.enqueue(Streamed(event_message(msg_id, None), added(states)))


async def not_supported(conn, msg):
    """Commands Home Assistant has and ugate has not (automations' triggers,
    voice pipelines): a clear error; the connection goes on."""
    conn.enqueue(error_message(msg["id"], ERR_NOT_SUPPORTED,
                               "{} is not supported by ugate.".format(msg["type"])))


async def supported_features(conn, msg):
    features = field(msg, "features", dict, required=True)
    conn.coalesce = FEATURE_COALESCE_MESSAGES in features
    conn.enqueue(result_message(msg["id"]))


#: Command type -> handler; other faces may add their own.
COMMANDS = {
    "ping": ping,
    "get_states": get_states,
    "get_config": get_config,
    "get_services": get_services,
    "subscribe_events": subscribe_events,
    "unsubscribe_events": unsubscribe_events,
    "fire_event": fire_event,
    "call_service": call_service,
    "subscribe_entities": subscribe_entities,
    "supported_features": supported_features,
    "subscribe_trigger": not_supported,
    "assist_pipeline/run": not_supported,
}
