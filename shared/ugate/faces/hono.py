"""The northbound API for applications (Bearer token, like the Home
Assistant API). Hono's consumers speak AMQP or Kafka; a gateway offers the
same three things over HTTP:

    GET  /api/hono/<tenant>/messages               the tenant's telemetry and events (SSE)
    POST /api/hono/<tenant>/messages/<id>          settle one: {"outcome": "accepted"|"rejected"|"released"}
    POST /api/hono/<tenant>/commands/<device>?name=<command>[&timeout=<s>]
                                                   body and Content-Type = the command;
                                                   with timeout: wait for the device's response
"""
import json

from microdot import Response

from ugate.http.auth import requires_auth
from ugate.http.server import remote
from ugate.sources.hono import commands as commands_mod
from ugate.sources.hono import downstream as ds
from ugate.sources.hono.adapter import Refused, error, integer, unquote


def setup(app, hub, downstream, commands, registry, command_timeout):
    auth = requires_auth(hub.tokens)

    def known(tenant):
        return registry.tenant(tenant) is not None or (
            hub.bridge is not None and tenant == hub.bridge.tenant)

    @app.get("/api/hono/<tenant>/messages")
    @auth
    async def messages(request, tenant):
        if not known(tenant):
            return error(404, "no such tenant")
        consumer = ds.Consumer(downstream, tenant, request.sock, remote(request))
        return Response(consumer, headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})

    @app.post("/api/hono/<tenant>/messages/<msg_id>")
    @auth
    async def settle(request, tenant, msg_id):
        try:
            outcome = json.loads(request.body.decode()).get("outcome")
        except (ValueError, UnicodeError, AttributeError):
            outcome = None
        if outcome not in ds.OUTCOMES:
            return error(400, "expected {\"outcome\": \"accepted\", \"rejected\" or \"released\"}")
        if not downstream.settle(tenant, msg_id, outcome):
            return error(404, "no such message waiting")
        return Response("", 204)

    @app.post("/api/hono/<tenant>/commands/<path:device>")
    @auth
    async def command(request, tenant, device):
        try:
            tenant, device = unquote(tenant), unquote(device)  # `proto%2Fdevice` for bridged ids
        except Refused as exc:
            return exc.response
        if not known(tenant):
            return error(404, "no such tenant")
        name = request.args.get("name")
        if not name:
            return error(400, "the command needs a name (?name=...)")
        timeout = request.args.get("timeout")
        if timeout is not None:
            timeout = integer(timeout) or 0
            if not 0 < timeout <= command_timeout:
                return error(400, "timeout must be 1 to {} seconds".format(command_timeout))
        cmd = commands_mod.Command(name, request.headers.get("Content-Type"), request.body)
        try:
            response = await commands.send(tenant, device, cmd, timeout)
        except commands_mod.NotWaiting:
            return error(503, "device is not waiting for a command")
        except ValueError as exc:
            return error(400, str(exc))
        if timeout is None:
            return Response("", 202)
        if response is None:
            return error(504, "no response from the device within {} s".format(timeout))
        headers = {"hono-cmd-status": str(response.status)}
        if cmd.req_id:
            headers["hono-cmd-req-id"] = cmd.req_id
        if response.content_type:
            headers["Content-Type"] = response.content_type
        return Response(response.payload, 200, headers)
