"""Home Assistant's WebSocket API at `/api/websocket` (ha-api.md section 3):
one connection per client. The commands are `websocket_commands`, the frames
`ugate.http.websocket`.

A client logs in inside the socket (`auth_required` / `auth` / `auth_ok`),
then sends commands with increasing ids and gets results and the events it
subscribed to. Everything the gateway sends goes through one bounded queue
per connection: a client that stops reading is disconnected when the queue
is full instead of growing the gateway's memory, and one writer task sends
the queue, so a slow socket never blocks the bus or the other clients.
"""
import asyncio
import json

from microdot import Response

from ugate.base import jsoninput, jsonstream, log
from ugate.base.bounded_queue import BoundedQueue
from ugate.base.compat import OrderedDict
from ugate.base.validation import MISSING, Invalid, known_keys, voluptuous
from ugate.faces.homeassistant.websocket_commands import (
    COMMANDS, ERR_HOME_ASSISTANT_ERROR, ERR_ID_REUSE, ERR_INVALID_FORMAT, ERR_UNAUTHORIZED,
    ERR_UNKNOWN_COMMAND, ERR_UNKNOWN_ERROR, error_message, field)
from ugate.http.server import abort
from ugate.http.websocket import MessageStream, WebSocketError
from ugate.hub.bus import Context

_log = log.get("api.websocket")


def _typed(type_, key, value):
    return json.dumps(OrderedDict([("type", type_), (key, value)]))


def _dumps(message):
    try:
        return json.dumps(message)
    except (TypeError, ValueError):  # e.g. a service response that is not JSON
        problem = "Invalid JSON in response"
    except MemoryError:  # e.g. get_states with many entities on a small board
        problem = "Response too large for the gateway's memory"
    _log.error("message for id {}: {}".format(message.get("id"), problem))
    return json.dumps(error_message(message.get("id"), ERR_UNKNOWN_ERROR, problem))


class LimitReached(Exception):
    """A command would take more than a client may hold."""


def check_auth_message(msg):
    """Invalid unless `msg` fits HA's AUTH_MESSAGE_SCHEMA."""
    if not isinstance(msg, dict):
        raise Invalid(None, "expected a dictionary", msg)
    known_keys(msg, ("type", "access_token", "api_password"))
    if "type" not in msg:
        raise Invalid("type", MISSING)
    if msg["type"] != "auth":
        raise Invalid("type", "value must be one of ['auth']", msg["type"])
    if "access_token" in msg and "api_password" in msg:
        raise Invalid(None, "two or more values in the same group of exclusion 'auth' @ data[<auth>]")
    for key in ("access_token", "api_password"):
        field(msg, key, str)


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
    def __init__(self, hub, request, ws):
        self.hub = hub
        self.request = request
        self.ws = ws
        self.user = None
        self._unwatch = None
        self.last_id = 0
        self.coalesce = False
        #: Subscription id -> function that removes its bus listener.
        self.subscriptions = {}
        self.queue = BoundedQueue(self.max_pending)
        self.done = asyncio.Event()
        #: Set by the writer after each batch it sent.
        self.sent = asyncio.Event()
        #: Sent when the connection closes: 1000 normal, 1001 the gateway
        #: stops, 1009 a message did not fit in memory.
        self.close_code = 1000

    def listen(self, msg_id, event_type, forward):
        """Subscribe `forward` to the bus for subscription `msg_id`."""
        self.subscribe(msg_id, lambda: self.hub.bus.listen(event_type, forward))

    def subscribe(self, msg_id, start):
        """Hold subscription `msg_id`: `start()` begins it and returns the
        function that ends it (called on unsubscribe_events or close)."""
        if len(self.subscriptions) >= self.max_subscriptions:
            raise LimitReached("Too many subscriptions (at most {}).".format(self.max_subscriptions))
        self.subscriptions[msg_id] = start()

    def context(self):
        return Context(user_id=self.user.id)

    def enqueue(self, message):
        """Queue a message for the client; past max_pending the client is
        dropped."""
        self.queue.put(message)
        if self.queue.overflowed and not self.done.is_set():
            _log.warning("client at {} did not keep up with {} pending messages; "
                         "disconnected".format(self.request.g.remote, self.max_pending))
            self.done.set()

    async def serve(self):
        if await self.authenticate():
            reader = asyncio.create_task(self._read())
            writer = asyncio.create_task(self._write())
            try:
                await self.done.wait()
            except asyncio.CancelledError:  # the gateway is stopping
                self.close_code = 1001
            finally:
                self._unwatch()
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
            await asyncio.wait_for(self.ws.close(self.close_code), 2)
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
        except (WebSocketError, EOFError, MemoryError):
            return False
        if opcode != ws.TEXT:
            return False
        try:
            msg = jsoninput.loads(payload)
        except ValueError:
            return False
        try:
            check_auth_message(msg)
        except Invalid as exc:
            message = "Auth message incorrectly formatted: " + voluptuous(exc)
            # repr: the text quotes client-chosen keys, which may hold newlines
            _log.warning("from {}: {!r}".format(self.request.g.remote, message))
            await ws.send(_typed("auth_invalid", "message", message))
            return False
        self.user = self.hub.auth.validate(msg.get("access_token"))
        if self.user is None:
            await ws.send(_typed("auth_invalid", "message", "Invalid access token or password"))
            self.request.app.login_failed(self.request)
            return False
        await ws.send(_typed("auth_ok", "ha_version", self.hub.ha_version))
        self.request.app.login_succeeded(self.request)
        # As in Home Assistant, revoking the credential closes the connection;
        # an access token's expiry does not.
        self._unwatch = self.hub.auth.watch(self.user, self._revoked)
        return True

    def _revoked(self):
        _log.info("client at {}: its token was revoked; disconnected".format(self.request.g.remote))
        # In a task, after the answer of the command that revoked it (if one
        # did); the writer sends what is queued, then ends the connection.
        asyncio.create_task(self._close_queue())

    async def _close_queue(self):
        self.queue.close()

    def authorized(self):
        """Whether the login credential is still valid (it may have been revoked)."""
        return self.hub.auth.active(self.user)

    async def _read(self):
        try:
            while True:
                opcode, payload = await self.ws.receive_message()
                if opcode != self.ws.TEXT:
                    continue  # binary messages go to handlers ugate does not have
                try:
                    data = jsoninput.loads(payload)
                except ValueError as exc:
                    _log.info("{} from {}; closing".format(exc, self.request.g.remote))
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
        except MemoryError:
            # A message under the size limit that the heap has no room for
            # (a board's): like any bad frame it ends this connection, with
            # 1009 "message too big"; the others are served as before.
            self.close_code = 1009
            _log.warning("a message from {} did not fit in memory; closing".format(
                self.request.g.remote))
        finally:
            if not self.queue.closed:
                self.done.set()
            # else the writer sends what is queued, then ends the connection

    async def handle(self, msg):
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        type_ = msg.get("type") if isinstance(msg, dict) else None
        if (not isinstance(msg_id, int) or isinstance(msg_id, bool) or not msg_id
                or not isinstance(type_, str) or not type_):
            self.enqueue(error_message(msg_id if isinstance(msg, dict) else 0, ERR_INVALID_FORMAT,
                                       "Message incorrectly formatted."))
            return
        if msg_id <= self.last_id:
            self.enqueue(error_message(msg_id, ERR_ID_REUSE, "Identifier values have to increase."))
            return
        command = COMMANDS.get(type_)
        if command is None:
            self.enqueue(error_message(msg_id, ERR_UNKNOWN_COMMAND, "Unknown command."))
            return
        if not self.authorized():
            self.enqueue(error_message(msg_id, ERR_UNAUTHORIZED, "Unauthorized"))
            self.queue.close()
            return
        try:
            await command(self, msg)
        except Invalid as exc:
            self.enqueue(error_message(msg_id, ERR_INVALID_FORMAT, voluptuous(exc)))
        except LimitReached as exc:
            self.enqueue(error_message(msg_id, ERR_HOME_ASSISTANT_ERROR, str(exc)))
        except Exception as exc:
            _log.error("command {} failed: {!r}".format(type_, exc))
            self.enqueue(error_message(msg_id, ERR_UNKNOWN_ERROR, "Unknown error"))
        self.last_id = msg_id

    async def _write(self):
        ws = self.ws
        try:
            while True:
                # A closed queue still hands out what it holds (the last answer).
                messages = await self.queue.get()
                if self.queue.overflowed or not messages:
                    return
                if self.coalesce and len(messages) > 1:
                    await ws.send_text(jsonstream.array(messages, _dumps))
                else:
                    for message in messages:
                        await ws.send_text(jsonstream.pieces(message, _dumps))
                self.sent.set()
        except OSError:
            pass
        except MemoryError:  # in the middle of a streamed message: it cannot be finished
            _log.error("a message to {} did not fit in memory; disconnected".format(self.request.g.remote))
        finally:
            self.done.set()


#: Commands whose modules are imported on first use, by module: the
#: profile page's (`auth_commands`), the registries' and `render_template`,
#: which a board's heap holds only once a client calls one.
LAZY_COMMANDS = {
    "auth_commands": ("auth/current_user", "auth/long_lived_access_token", "auth/refresh_tokens",
                      "auth/delete_refresh_token", "config/auth_provider/homeassistant/change_password"),
    "registry_commands": ("config/entity_registry/list", "config/entity_registry/list_for_display",
                          "config/entity_registry/get", "config/device_registry/list",
                          "config/area_registry/list", "config/floor_registry/list"),
    "template_commands": ("render_template",),
}


def _lazy_command(conn, msg):
    for name, types in LAZY_COMMANDS.items():
        if msg["type"] in types:
            module = __import__("ugate.faces.homeassistant." + name)
            for attr in ("faces", "homeassistant", name):
                module = getattr(module, attr)
            COMMANDS.update(module.COMMANDS)  # from now on called directly
            return module.COMMANDS[msg["type"]](conn, msg)


def setup(app, hub):
    for types in LAZY_COMMANDS.values():
        for name in types:
            COMMANDS[name] = _lazy_command
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
