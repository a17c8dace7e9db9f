"""Home Assistant's WebSocket API at `/api/websocket` (ha-api.md section 3).

A client logs in inside the socket (`auth_required` / `auth` / `auth_ok`),
then sends commands with increasing ids and gets results and the events it
subscribed to. Everything the gateway sends goes through one bounded queue
per connection: a client that stops reading is disconnected when the queue
is full instead of growing the gateway's memory, and one writer task sends
the queue, so a slow socket never blocks the bus or the other clients.
"""
import asyncio
import json

from microdot import Request, Response
from microdot.websocket import WebSocket, WebSocketError

from ugate.base import compat, dates, jsonstream, log
from ugate.base.bounded_queue import BoundedQueue
from ugate.base.compat import OrderedDict
from ugate.faces.homeassistant.rest import config_dict
from ugate.http.server import abort
from ugate.hub import RESPONSE_NONE, RESPONSE_ONLY, ServiceNotFound
from ugate.hub.bus import MATCH_ALL, Context
from ugate.hub.commands import DeviceUnavailable
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

FEATURE_COALESCE_MESSAGES = "coalesce_messages"


class MessageStream(WebSocket):
    """Microdot's WebSocket read as whole messages.

    Microdot refuses fragmented messages and reads the frame header with
    `read(2)`, which may return one byte on CPython; here every part of a
    frame is read exactly, fragments are joined up to `max_message_bytes`
    and sends are serialised (the reader answers pings while the writer
    task sends, and MicroPython allows one writer per socket at a time).
    """

    #: Largest message a client may send (fragments added up); a bigger one
    #: ends the connection. None: as large as a request body may be
    #: (`limits.max_body_bytes`, small on a board).
    max_message_bytes = None
    #: A text sent as pieces (`send_text`) goes out in frames of about this
    #: size: a message larger than that is fragmented, never built whole.
    frame_bytes = 2048

    def __init__(self, request):
        super().__init__(request)
        self._sending = asyncio.Lock()

    async def send(self, data, opcode=None):
        # Header and payload go out separately: no third copy of a large
        # message in a board's heap.
        if isinstance(data, str):
            data = data.encode()
            opcode = opcode or self.TEXT
        await self._send_frame(opcode or self.BINARY, data, True)

    async def send_text(self, pieces):
        """Send the text made of the strings `pieces` yields: one frame when
        it fits in `frame_bytes`, else a fragmented message (a text frame,
        then continuation frames, RFC 6455 5.4), so the whole text never has
        to fit in the heap at once."""
        opcode = self.TEXT
        parts = []
        size = 0
        for piece in pieces:
            data = piece.encode()
            parts.append(data)
            size += len(data)
            if size >= self.frame_bytes:
                await self._send_frame(opcode, b"".join(parts), False)
                opcode = self.CONT
                parts = []
                size = 0
        await self._send_frame(opcode, b"".join(parts), True)

    async def _send_frame(self, opcode, data, fin):
        first = (0x80 if fin else 0) | opcode
        n = len(data)
        if n < 126:
            header = bytes((first, n))
        elif n < 65536:
            header = bytes((first, 126)) + n.to_bytes(2, "big")
        else:
            header = bytes((first, 127)) + n.to_bytes(8, "big")
        writer = self.request.sock[1]
        async with self._sending:
            await writer.awrite(header)
            if n:
                await writer.awrite(data)

    async def close(self, code=1000):
        if not self.closed:
            self.closed = True
            await self.send(code.to_bytes(2, "big"), self.CLOSE)

    async def receive_message(self, limit=None):
        """The next data message as (opcode, payload), opcode TEXT or BINARY,
        at most `limit` bytes (default: max_message_bytes). Pings are answered
        on the way; WebSocketError when the client closes or breaks the
        protocol, EOFError when the socket ends."""
        limit = limit or self.max_message_bytes or Request.max_body_length
        opcode = None
        parts = []
        size = 0
        while True:
            fin, frame_opcode, payload = await self._read_exact_frame(limit - size)
            if frame_opcode == self.PING:
                await self.send(payload, self.PONG)
                continue
            if frame_opcode == self.PONG:
                continue
            if frame_opcode == self.CLOSE:
                raise WebSocketError("closed by the client")
            if frame_opcode == self.CONT:
                if opcode is None:
                    raise WebSocketError("continuation frame without a message")
            elif frame_opcode in (self.TEXT, self.BINARY):
                if opcode is not None:
                    raise WebSocketError("new message inside a fragmented one")
                opcode = frame_opcode
            else:
                raise WebSocketError("unknown opcode {}".format(frame_opcode))
            if fin and not parts:
                return opcode, payload
            parts.append(payload)
            size += len(payload)
            if fin:
                return opcode, b"".join(parts)

    async def _read_exact_frame(self, room):
        read = self.request.sock[0].readexactly
        header = await read(2)
        length = header[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await read(2), "big")
        elif length == 127:
            length = int.from_bytes(await read(8), "big")
        if length > max(room, 125):  # control frames carry at most 125 bytes
            raise WebSocketError("message too large")
        mask = await read(4) if header[1] & 0x80 else None
        payload = await read(length) if length else b""
        if mask:
            payload = bytearray(payload)
            unmask(payload, mask)
        return header[0] & 0x80, header[0] & 0x0F, payload


#: Bytes unmasked per step (a multiple of 4).
UNMASK_BLOCK = 256


def unmask(data, mask):
    """XOR a client's payload (a bytearray, changed in place) with its 4-byte
    mask. One integer XOR per block runs at C speed on both runtimes (a byte
    loop would hold the event loop for seconds on a large message) and needs
    no more memory than a block."""
    key = int.from_bytes(mask * (UNMASK_BLOCK // 4), "big")
    for start in range(0, len(data), UNMASK_BLOCK):
        block = data[start:start + UNMASK_BLOCK]
        n = len(block)
        value = int.from_bytes(block, "big") ^ (key >> (8 * (UNMASK_BLOCK - n)))
        data[start:start + n] = value.to_bytes(n, "big")


def _typed(type_, key, value):
    return json.dumps(OrderedDict([("type", type_), (key, value)]))


def result_message(msg_id, result=None):
    return OrderedDict([("id", msg_id), ("type", "result"), ("success", True), ("result", result)])


def error_message(msg_id, code, message):
    error = OrderedDict([("code", code), ("message", message)])
    return OrderedDict([("id", msg_id), ("type", "result"), ("success", False), ("error", error)])


def event_message(msg_id, event):
    return OrderedDict([("id", msg_id), ("type", "event"), ("event", event)])


class Streamed:
    """A message too large to build as one string (many states): its JSON
    is written a piece at a time. `message` holds None in its last field,
    whose JSON `pieces` yields instead."""

    def __init__(self, message, pieces):
        self.message = message
        self.pieces = pieces

    def __iter__(self):
        yield json.dumps(self.message)[:-len("null}")]
        yield from self.pieces
        yield "}"


def _pieces(message):
    """The JSON text of a queued message, as pieces."""
    return message if isinstance(message, Streamed) else (_dumps(message),)


def _batch(messages):
    """Coalesced messages: the pieces of one JSON array."""
    sep = "["
    for message in messages:
        yield sep
        yield from _pieces(message)
        sep = ","
    yield "]"


def _dumps(message):
    try:
        return json.dumps(message)
    except (TypeError, ValueError):  # e.g. a service response that is not JSON
        problem = "Invalid JSON in response"
    except MemoryError:  # e.g. get_states with many entities on a small board
        problem = "Response too large for the gateway's memory"
    _log.error("message for id {}: {}".format(message.get("id"), problem))
    return json.dumps(error_message(message.get("id"), ERR_UNKNOWN_ERROR, problem))


class InvalidFormat(ValueError):
    """A command's fields do not fit; the text is voluptuous-style, as HA's."""


class LimitReached(Exception):
    """A command would take more than a client may hold."""


_TYPE_NAMES = {str: "str", dict: "dict", int: "int", bool: "bool"}


def field(msg, key, kind, default=None, required=False):
    """`msg[key]` checked to be of `kind`; the default when absent."""
    if key not in msg:
        if required:
            raise InvalidFormat("required key not provided @ data['{}']".format(key))
        return default
    value = msg[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidFormat("expected {} for dictionary value @ data['{}']".format(
            _TYPE_NAMES[kind], key))
    return value


def auth_format_problem(msg):
    """Why an auth message is malformed (HA's AUTH_MESSAGE_SCHEMA), or None."""
    if not isinstance(msg, dict):
        return "expected a dictionary"
    for key in msg:
        if key not in ("type", "access_token", "api_password"):
            return "extra keys not allowed @ data['{}']".format(key)
    if "type" not in msg:
        return "required key not provided @ data['type']"
    if msg["type"] != "auth":
        return "value must be one of ['auth'] for dictionary value @ data['type']"
    if "access_token" in msg and "api_password" in msg:
        return "two or more values in the same group of exclusion 'auth' @ data[<auth>]"
    for key in ("access_token", "api_password"):
        if key in msg and not isinstance(msg[key], str):
            return "expected str for dictionary value @ data['{}']".format(key)
    return None


# -- subscribe_entities: Home Assistant's compressed states --------------------

def compressed_context(context):
    """The context id alone when that is all it holds, else the whole dict."""
    if context.parent_id is None and context.user_id is None:
        return context.id
    return context.as_dict()


def compressed_state(state):
    d = OrderedDict()
    d["s"] = state.state
    d["a"] = state.attributes
    d["c"] = compressed_context(state.context)
    d["lc"] = dates.epoch_float(state.last_changed)
    if state.last_updated != state.last_changed:
        d["lu"] = dates.epoch_float(state.last_updated)
    return d


def state_diff(old, new, state):
    """What changed from `old` to `new` (the state dicts of a state_changed
    event) as `{"+": {...}, "-": {"a": [removed attributes]}}`; `state` is the
    live State, whose times are not rounded through ISO text."""
    plus = OrderedDict()
    if old["state"] != new["state"]:
        plus["s"] = new["state"]
    if old["last_changed"] != new["last_changed"]:
        plus["lc"] = dates.epoch_float(state.last_changed)
    elif old["last_updated"] != new["last_updated"]:
        plus["lu"] = dates.epoch_float(state.last_updated)
    old_ctx, new_ctx = old["context"], new["context"]
    ctx = OrderedDict()
    for key in ("parent_id", "user_id"):
        if old_ctx[key] != new_ctx[key]:
            ctx[key] = new_ctx[key]
    if ctx:
        if old_ctx["id"] != new_ctx["id"]:
            ctx["id"] = new_ctx["id"]
        plus["c"] = ctx
    elif old_ctx["id"] != new_ctx["id"]:
        plus["c"] = new_ctx["id"]
    old_attrs, new_attrs = old["attributes"], new["attributes"]
    for key, value in new_attrs.items():
        if key not in old_attrs or old_attrs[key] != value:
            plus.setdefault("a", OrderedDict())[key] = value
    diff = OrderedDict()
    diff["+"] = plus
    removed = [key for key in old_attrs if key not in new_attrs]
    if removed:
        diff["-"] = {"a": removed}
    return diff


def entities_event(hub, data):
    """A state_changed event's data as a compressed entities event, or None
    when the state is no longer there (changed again inside the event)."""
    entity_id = data["entity_id"]
    if data["new_state"] is None:
        return {"r": [entity_id]}
    state = hub.states.get(entity_id)
    if state is None:
        return None
    if data["old_state"] is None:
        return {"a": {entity_id: compressed_state(state)}}
    return {"c": {entity_id: state_diff(data["old_state"], data["new_state"], state)}}


def entity_ids_field(msg):
    """HA's cv.entity_ids: a list or a comma-separated string, lowercased."""
    ids = msg.get("entity_ids")
    if ids is None:
        return None
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",") if i.strip()]
    if not isinstance(ids, list):
        raise InvalidFormat("expected list for dictionary value @ data['entity_ids']")
    checked = set()
    for entity_id in ids:
        if not isinstance(entity_id, str) or not valid_entity_id(entity_id.lower()):
            raise InvalidFormat("Entity ID {} is an invalid entity ID for dictionary value "
                                "@ data['entity_ids']".format(json.dumps(entity_id)))
        checked.add(entity_id.lower())
    return checked or None


# -- commands -------------------------------------------------------------------
# Each is `async def (connection, msg)`; it answers through connection.send
# and raises InvalidFormat for fields that do not fit.

async def ping(conn, msg):
    m = OrderedDict()
    m["id"] = msg["id"]
    m["type"] = "pong"
    conn.send(m)


async def get_states(conn, msg):
    # The states as they are now; each is turned into JSON as it is sent.
    states = conn.hub.states.all()
    conn.send(Streamed(result_message(msg["id"]), jsonstream.array(s.as_dict() for s in states)))


async def get_config(conn, msg):
    conn.send(result_message(msg["id"], config_dict(conn.hub)))


async def get_services(conn, msg):
    services = {d["domain"]: d["services"] for d in conn.hub.services.as_list()}
    conn.send(result_message(msg["id"], services))


async def subscribe_events(conn, msg):
    msg_id = msg["id"]
    event_type = field(msg, "event_type", str, MATCH_ALL)

    def forward(event):
        conn.send(event_message(msg_id, event.as_dict()))

    conn.listen(msg_id, event_type, forward)
    conn.send(result_message(msg_id))


async def unsubscribe_events(conn, msg):
    subscription = field(msg, "subscription", int, required=True)
    remove = conn.subscriptions.pop(subscription, None)
    if remove is None:
        conn.send(error_message(msg["id"], ERR_NOT_FOUND, "Subscription not found."))
        return
    remove()
    conn.send(result_message(msg["id"]))


async def fire_event(conn, msg):
    event_type = field(msg, "event_type", str, required=True)
    event_data = field(msg, "event_data", dict)
    context = conn.context()
    conn.hub.bus.fire(event_type, event_data, context=context)
    conn.send(result_message(msg["id"], {"context": context.as_dict()}))


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
        supports = conn.hub.services.get(domain, service).supports_response
    except ServiceNotFound:
        conn.send(error_message(msg_id, ERR_NOT_FOUND,
                                "Service {}.{} not found.".format(domain, service)))
        return
    refusal = None
    if return_response and supports == RESPONSE_NONE:
        refusal = ("An action which does not return responses can't be called with "
                   "return_response=True.")
    elif not return_response and supports == RESPONSE_ONLY:
        refusal = "The action requires responses and must be called with return_response=True."
    if refusal:
        conn.send(error_message(msg_id, ERR_SERVICE_VALIDATION_ERROR,
                                "Validation error: " + refusal))
        return
    try:
        response = await conn.hub.services.call(domain, service, data, context)
    except ValueError as exc:  # the service refused its data
        conn.send(error_message(msg_id, ERR_SERVICE_VALIDATION_ERROR,
                                "Validation error: {}".format(exc)))
        return
    except DeviceUnavailable as exc:  # the service could not reach its device
        _log.warning("{}.{}: {}".format(domain, service, exc))
        conn.send(error_message(msg_id, ERR_HOME_ASSISTANT_ERROR, str(exc)))
        return
    except Exception as exc:
        _log.error("{}.{} failed: {!r}".format(domain, service, exc))
        conn.send(error_message(msg_id, ERR_UNKNOWN_ERROR, str(exc) or "Unknown error"))
        return
    result = OrderedDict()
    result["context"] = context.as_dict()
    if return_response:
        result["response"] = response
    conn.send(result_message(msg_id, result))


async def subscribe_entities(conn, msg):
    msg_id = msg["id"]
    hub = conn.hub
    entity_ids = entity_ids_field(msg)

    def forward(event):
        if entity_ids is None or event.data["entity_id"] in entity_ids:
            change = entities_event(hub, event.data)
            if change is not None:
                conn.send(event_message(msg_id, change))

    # Listen before taking the snapshot, with no await between: no change is lost.
    conn.listen(msg_id, "state_changed", forward)
    conn.send(result_message(msg_id))
    states = [s for s in hub.states.all() if entity_ids is None or s.entity_id in entity_ids]
    conn.send(Streamed(event_message(msg_id, None), _added(states)))


def _added(states):
    """`{"a": {entity_id: compressed state, ...}}` as pieces."""
    yield '{"a": '
    yield from jsonstream.members((s.entity_id, compressed_state(s)) for s in states)
    yield "}"


async def supported_features(conn, msg):
    features = field(msg, "features", dict, required=True)
    conn.coalesce = FEATURE_COALESCE_MESSAGES in features
    conn.send(result_message(msg["id"]))


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
}


class Connection:
    """One client of the WebSocket API, from auth_required to close."""

    #: Seconds a client has to send its auth message.
    auth_timeout = 10
    #: Largest auth message: before it, a client is nobody.
    max_auth_bytes = 4096
    #: Messages queued for a client that does not read; one more disconnects it.
    max_pending = 256
    #: Subscriptions one client may hold; each is a bus listener.
    max_subscriptions = 64
    #: Milliseconds between checks, while sending, that the login token was
    #: not revoked (every command checks it too).
    token_recheck_ms = 1000

    def __init__(self, hub, request, ws):
        self.hub = hub
        self.request = request
        self.ws = ws
        self.user = None
        self.token = None
        self.last_id = 0
        self.coalesce = False
        #: Subscription id -> function that removes its bus listener.
        self.subscriptions = {}
        self.queue = BoundedQueue(self.max_pending)
        self.done = asyncio.Event()
        #: Set by the writer after each batch it sent.
        self.sent = asyncio.Event()
        self._checked = compat.ticks_ms()

    def listen(self, msg_id, event_type, forward):
        """Subscribe `forward` to the bus for subscription `msg_id`."""
        if len(self.subscriptions) >= self.max_subscriptions:
            raise LimitReached("Too many subscriptions (at most {}).".format(self.max_subscriptions))
        self.subscriptions[msg_id] = self.hub.bus.listen(event_type, forward)

    def context(self):
        return Context(user_id=self.user.id)

    def send(self, message):
        """Queue a message for the client; past max_pending the client is
        dropped."""
        self.queue.put(message)
        if self.queue.overflowed and not self.done.is_set():
            _log.warning("client at {} did not keep up with {} pending messages; "
                         "disconnected".format(self.request.g.remote, self.max_pending))
            self.done.set()

    async def serve(self):
        close_code = 1000
        if await self.authenticate():
            reader = asyncio.create_task(self._read())
            writer = asyncio.create_task(self._write())
            try:
                await self.done.wait()
            except asyncio.CancelledError:  # the gateway is stopping
                close_code = 1001
            finally:
                reader.cancel()
                writer.cancel()
                for remove in self.subscriptions.values():
                    remove()
                self.subscriptions = {}
                self.queue.close()
        if self.queue.overflowed:
            abort(self.request.sock[1])
            return
        await asyncio.sleep(0)  # let the cancelled writer let go of the socket
        try:
            await asyncio.wait_for(self.ws.close(close_code), 2)
        except (OSError, asyncio.TimeoutError):
            pass

    async def authenticate(self):
        """True once the client sent a valid token; otherwise the client was
        told why (when it can be) and the connection is to be closed."""
        ws = self.ws
        await ws.send(_typed("auth_required", "ha_version", self.hub.ha_version))
        try:
            opcode, payload = await asyncio.wait_for(ws.receive_message(self.max_auth_bytes),
                                                     self.auth_timeout)
        except asyncio.TimeoutError:
            _log.info("no auth message from {} within {} s".format(
                self.request.g.remote, self.auth_timeout))
            return False
        except (WebSocketError, EOFError):
            return False
        if opcode != ws.TEXT:
            return False
        try:
            msg = json.loads(payload.decode())
        except (ValueError, RuntimeError):  # RuntimeError: nesting too deep
            return False
        problem = auth_format_problem(msg)
        if problem:
            message = "Auth message incorrectly formatted: " + problem
            # repr: the text quotes client-chosen keys, which may hold newlines
            _log.warning("from {}: {!r}".format(self.request.g.remote, message))
            await ws.send(_typed("auth_invalid", "message", message))
            return False
        self.user = self._user(msg.get("access_token"))
        if self.user is None:
            await ws.send(_typed("auth_invalid", "message", "Invalid access token or password"))
            self.request.app.login_failed(self.request)
            return False
        self.token = msg["access_token"]
        await ws.send(_typed("auth_ok", "ha_version", self.hub.ha_version))
        self.request.app.login_succeeded(self.request)
        return True

    def _user(self, token):
        try:
            return self.hub.tokens.validate(token)
        except ValueError:  # auth.json unreadable: trust nobody
            return None

    def authorized(self):
        """Whether the login token is still valid (it may have been revoked)."""
        self._checked = compat.ticks_ms()
        return self._user(self.token) is not None

    async def _read(self):
        try:
            while True:
                opcode, payload = await self.ws.receive_message()
                if opcode != self.ws.TEXT:
                    continue  # binary messages go to handlers ugate does not have
                try:
                    data = json.loads(payload.decode())
                except (ValueError, RuntimeError):
                    _log.info("invalid JSON from {}; closing".format(self.request.g.remote))
                    return
                for msg in data if isinstance(data, list) else (data,):
                    # A client that sends commands faster than it reads the
                    # answers waits here; only events can overflow its queue.
                    while len(self.queue.items) >= self.max_pending // 8:
                        self.sent.clear()
                        await self.sent.wait()
                    await self.handle(msg)
                    if self.queue.closed:
                        return
        except (WebSocketError, EOFError, OSError):
            pass
        finally:
            if not self.queue.closed:
                self.done.set()
            # else the writer sends what is queued, then ends the connection

    async def handle(self, msg):
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        type_ = msg.get("type") if isinstance(msg, dict) else None
        if (not isinstance(msg_id, int) or isinstance(msg_id, bool) or not msg_id
                or not isinstance(type_, str) or not type_):
            self.send(error_message(msg_id if isinstance(msg, dict) else 0, ERR_INVALID_FORMAT,
                                    "Message incorrectly formatted."))
            return
        if msg_id <= self.last_id:
            self.send(error_message(msg_id, ERR_ID_REUSE, "Identifier values have to increase."))
            return
        command = COMMANDS.get(type_)
        if command is None:
            self.send(error_message(msg_id, ERR_UNKNOWN_COMMAND, "Unknown command."))
            return
        if not self.authorized():
            self.send(error_message(msg_id, ERR_UNAUTHORIZED, "Unauthorized"))
            self.queue.close()
            return
        try:
            await command(self, msg)
        except InvalidFormat as exc:
            self.send(error_message(msg_id, ERR_INVALID_FORMAT, str(exc)))
        except LimitReached as exc:
            self.send(error_message(msg_id, ERR_HOME_ASSISTANT_ERROR, str(exc)))
        except Exception as exc:
            _log.error("command {} failed: {!r}".format(type_, exc))
            self.send(error_message(msg_id, ERR_UNKNOWN_ERROR, "Unknown error"))
        self.last_id = msg_id

    async def _write(self):
        ws = self.ws
        try:
            while True:
                # A closed queue still hands out what it holds (the last answer).
                messages = await self.queue.get()
                if self.queue.overflowed or not messages:
                    return
                if (not self.queue.closed
                        and compat.ticks_diff(compat.ticks_ms(), self._checked)
                        > self.token_recheck_ms and not self.authorized()):
                    return
                if self.coalesce and len(messages) > 1:
                    await ws.send_text(_batch(messages))
                else:
                    for message in messages:
                        await ws.send_text(_pieces(message))
                self.sent.set()
        except OSError:
            pass
        except MemoryError:  # in the middle of a streamed message: it cannot be finished
            _log.error("a message to {} did not fit in memory; disconnected".format(self.request.g.remote))
        finally:
            self.done.set()


def setup(app, hub):
    hub.components.append("websocket_api")

    @app.get("/api/websocket")
    async def websocket_api(request):
        ws = MessageStream(request)
        await ws.handshake()
        try:
            await Connection(hub, request, ws).serve()
        except OSError:
            pass  # the client went away
        return Response.already_handled
