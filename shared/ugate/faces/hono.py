"""Hono's application API (Bearer token, like the Home Assistant API), over
the hub's message channel and command router. Hono's consumers speak AMQP or
Kafka; a gateway offers the same three things over HTTP:

    GET  /api/hono/<tenant>/messages               the tenant's telemetry and events (SSE)
    POST /api/hono/<tenant>/messages/<id>          settle one: {"outcome": "accepted"|"rejected"|"released"}
    POST /api/hono/<tenant>/commands/<device>?name=<command>[&timeout=<s>]
                                                   body and Content-Type = the command;
                                                   with timeout: wait for the device's response
    GET  /api/ugate/consumers                      who consumes now (for the web page)
"""
from microdot import Response

from ugate.base import compat, jsoninput
from ugate.http import url
from ugate.http.auth import requires_auth, watch_revocation
from ugate.http.responses import json_error, json_response
from ugate.http.server import remote
from ugate.http.sse import EventStreamBody, frame
from ugate.hub.commands import Command, DeviceUnavailable
from ugate.hub.messages import OUTCOMES, Receiver

#: This face's name as a consumer of the message channel.
CONSUMER = "hono"


class ConsumerStream(EventStreamBody):
    """One application's stream of a tenant's messages: first the stored
    events it has yet to settle, read from the store one at a time as the
    client takes them, then the messages as they come."""
    #: A burst of devices, each waiting in a connection slot for its message
    #: to be settled, must fit.
    max_pending_bytes = 256 * 1024

    def __init__(self, messages, tenant, sock, client, watch=None):
        super().__init__(sock, client, watch)
        self.messages = messages
        self.tenant = tenant
        self.backlog = []

    def subscribe(self):
        detach, self.backlog = self.messages.attach(
            Receiver(CONSUMER, self.tenant, self._message, self.client))
        return detach

    def _message(self, msg):
        self.push(frame(msg.as_dict()))

    async def __anext__(self):
        while self.backlog and not self.queue.closed:
            msg = self.messages.read(self.backlog.pop(0))
            if msg is not None:  # else settled or expired meanwhile
                return frame(msg.as_dict())
        return await super().__anext__()


def setup(app, hub):
    auth = requires_auth(hub.auth)
    messages = hub.open_messages()
    longest = hub.config["hono"]["command_timeout"]

    def settles(request):
        return request.method == "POST" and request.path.startswith("/api/hono/") and (
            "/messages/" in request.path)

    # Devices waiting for their messages to be settled may hold every other
    # connection slot: settle calls have one of their own.
    app.reserved.append(settles)

    @app.get("/api/hono/<tenant>/messages")
    @auth
    async def consume(request, tenant):
        if not messages.knows(tenant):
            return json_error(404, "no such tenant")
        stream = ConsumerStream(messages, tenant, request.sock, remote(request),
                                watch_revocation(hub.auth, request))
        return Response(stream, headers={"Content-Type": "text/event-stream",
                                         "Cache-Control": "no-cache"})

    @app.post("/api/hono/<tenant>/messages/<msg_id>")
    @auth
    async def settle(request, tenant, msg_id):
        try:
            outcome = jsoninput.loads(request.body).get("outcome")
        except (ValueError, AttributeError):
            outcome = None
        if outcome not in OUTCOMES:
            return json_error(400, "expected {\"outcome\": \"accepted\", \"rejected\" or \"released\"}")
        if not messages.ack(CONSUMER, tenant, msg_id, outcome):
            return json_error(404, "no such message waiting")
        return Response("", 204)

    @app.get("/api/ugate/consumers")
    @auth
    async def consumers(request):
        return json_response(messages.status())

    @app.post("/api/hono/<tenant>/commands/<path:device>")
    @auth
    async def command(request, tenant, device):
        try:
            tenant, device = url.unquote(tenant), url.unquote(device)  # `proto%2Fdevice` for bridged ids
        except ValueError:
            return json_error(400, "malformed URI")
        if not messages.knows(tenant):
            return json_error(404, "no such tenant")
        name = request.args.get("name")
        if not name:
            return json_error(400, "the command needs a name (?name=...)")
        timeout = request.args.get("timeout")
        if timeout is not None:
            timeout = compat.integer(timeout) or 0
            if not 0 < timeout <= longest:
                return json_error(400, "timeout must be 1 to {} seconds".format(longest))
        cmd = Command(name, request.headers.get("Content-Type"), request.body)
        try:
            response = await hub.commands.send(tenant, device, cmd, timeout)
        except DeviceUnavailable as exc:
            return json_error(503, str(exc))
        except ValueError as exc:
            return json_error(400, str(exc))
        if timeout is None:
            return Response("", 202)
        if response is None:
            return json_error(504, "no response from the device within {} s".format(timeout))
        headers = {"hono-cmd-status": str(response.status)}
        if cmd.req_id:
            headers["hono-cmd-req-id"] = cmd.req_id
        if response.content_type:
            headers["Content-Type"] = response.content_type
        return Response(response.payload, 200, headers)
