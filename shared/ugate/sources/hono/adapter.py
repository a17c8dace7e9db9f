"""Eclipse Hono's HTTP adapter: the device API, where Hono devices publish
telemetry and events into the hub's message channel and wait for commands
(seeds/hono-http-adapter.md, reference/hono-http.md sections 1-3, 6, 7).

    POST /telemetry, POST /event                       authenticated device
    PUT  /telemetry|event/<tenant>/<device>            unauthenticated device, or a gateway
    PUT  /telemetry|event//<device>                    gateway, tenant from its credentials
    POST /command/res/<req-id>?hono-cmd-status=N       authenticated device
    PUT  /command/res/<tenant>/<device>/<req-id>       unauthenticated device, or a gateway
    PUT  /command/res//<device>/<req-id>               gateway

Checks run in Hono's order: authenticate (400 malformed, 401 bad, 403
tenant or adapter disabled), body size (413), QoS (400), content type and
body (400), registration (404 unknown device, 403 other tenant's, disabled
or not behind this gateway), then the message channel (503 no consumer),
then answer.
"""
from microdot import Response

from ugate.base import compat, jsoninput
from ugate.base.throttle import Throttle
from ugate.http import url
from ugate.http.responses import json_error
from ugate.http.server import remote
from ugate.hub.commands import CommandResponse
from ugate.hub.messages import ACCEPTED, EVENT, REJECTED, RELEASED, TELEMETRY, Message, NoConsumer, StoreFull
from ugate.hub.states import slugify
from ugate.sources.hono import registry as reg
from ugate.sources.hono.commands import request_id_valid

EMPTY_NOTIFICATION = "application/vnd.eclipse-hono-empty-notification"

REALM = 'Basic realm="Hono"'
BAD_QOS = "Bad QoS Header Value"


class Refused(Exception):
    """A request that ends here with `response`."""

    def __init__(self, response):
        self.response = response


def refuse(status, message):
    raise Refused(json_error(status, message))


def unquote(segment):
    """A URL path segment decoded (`test%3Adev` -> `test:dev`); 400 when it
    cannot be."""
    try:
        return url.unquote(segment)
    except ValueError:
        refuse(400, "malformed URI")


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def b64_text(text):
    """Strict base64 -> text (binascii on both runtimes skips bad characters)."""
    text = text.strip()
    if not text or len(text) % 4 or not compat.only(text, _B64):
        raise ValueError("invalid base64")
    return compat.b64decode(text).decode()


def basic_credentials(request):
    """(auth-id, tenant, password) from `Authorization: Basic`, or None when
    the request has no Basic credentials. 400 when the header is not
    base64, 401 when the user name has no '@tenant'."""
    header = request.headers.get("Authorization")
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = b64_text(header[6:]).partition(":")
        if not password and "@" not in user:
            # Hono also takes the whole `user:password` base64-encoded in
            # the user name with an empty password.
            user, sep, password = b64_text(user).partition(":")
    except (ValueError, UnicodeError):
        refuse(400, "malformed Basic authorization header")
    at = user.rfind("@")
    if not sep or at < 1 or at == len(user) - 1:
        unauthorized(request, "user name must be auth-id@tenant")
    return user[:at], user[at + 1:], password


def unauthorized(request, message, counted=True):
    if counted:
        request.app.login_failed(request)
    res = json_error(401, message)
    res.headers["WWW-Authenticate"] = REALM
    raise Refused(res)


class Origin:
    """Who sends a request: the tenant, the device the message is for and,
    when a gateway sends for a device behind it, the gateway."""

    def __init__(self, tenant_id, tenant, device, gateway=None):
        self.tenant_id = tenant_id
        self.tenant = tenant
        self.device = device
        self.gateway = gateway


class Adapter:
    #: Entity states one device's telemetry may make, and all devices of one
    #: tenant: one device with many keys, or one tenant with many devices,
    #: must not fill the entity table for everyone.
    max_entities_per_device = 16
    max_entities_per_tenant = 2500

    def __init__(self, hub, registry, waiting):
        self.hub = hub
        self.messages = hub.messages
        self.registry = registry
        self.waiting = waiting
        #: Failed device logins per address: guessing passwords is slowed
        #: down to `Throttle.interval` seconds a guess after a burst.
        self.throttle = Throttle()
        conf = hub.config["hono"]
        self.authentication_required = conf["authentication_required"]
        self.max_payload = conf["max_payload"]
        self.settle_timeout = conf["settle_timeout"]
        self.entities = conf["entities"]

    # The checks, in order.

    async def authenticate(self, request, uri_tenant=None, uri_device=None):
        """The request's Origin; `uri_tenant` is None for the POST forms and
        '' for the `//<device>` form."""
        creds = basic_credentials(request)
        if creds is None:
            if uri_tenant is None or self.authentication_required:
                unauthorized(request, "authentication required", counted=False)
            if not uri_tenant:
                refuse(404, "the URI must name the tenant")
            tenant = self.registry.tenant(uri_tenant)
            if tenant is None:
                refuse(404, "no such tenant")
            self.check_tenant(tenant)
            return Origin(uri_tenant, tenant, uri_device)
        tenant_id = creds[1]
        device = await self.check_credentials(request, creds)
        tenant = self.registry.tenant(tenant_id)
        self.check_tenant(tenant)
        if uri_tenant and uri_tenant != tenant_id:
            refuse(403, "the URI's tenant is not the tenant of the credentials")
        if uri_device is None or uri_device == device:
            return Origin(tenant_id, tenant, device)
        return Origin(tenant_id, tenant, uri_device, gateway=device)

    async def check_credentials(self, request, creds):
        """The device whose credentials these are; 401 when none. Checked
        once a request (a password hash may cost 50 ms), before its body
        when that is large (`body_gate`) and again by the route."""
        checked = getattr(request.g, "hono_device", None)
        if checked is None or checked[0] != creds:
            auth_id, tenant_id, password = creds
            address = remote(request)
            wait = self.throttle.retry_after(address)
            if wait:
                res = json_error(429, "too many failed logins; retry in {} s".format(wait))
                res.headers["Retry-After"] = str(wait)
                raise Refused(res)
            device = await self.registry.check_password(tenant_id, auth_id, password)
            if device is None or self.registry.tenant(tenant_id) is None:
                self.throttle.failed(address)
                unauthorized(request, "bad credentials")
            checked = request.g.hono_device = (creds, device)
        return checked[1]

    async def body_gate(self, request):
        """The server's check before it reads a large body: the credentials
        and the size, so a refused body is never read."""
        try:
            creds = basic_credentials(request)
            if creds is not None:
                await self.check_credentials(request, creds)
            self.check_size(request)
        except Refused as exc:
            return exc.response
        return None

    def check_tenant(self, tenant):
        if tenant.get("enabled") is False:
            refuse(403, "tenant is disabled")
        if not reg.adapter_enabled(tenant):
            refuse(403, "the tenant may not use the HTTP adapter")

    def check_size(self, request):
        if request.content_length > self.max_payload:
            refuse(413, "payload larger than {} bytes".format(self.max_payload))

    def check_registration(self, origin):
        """The device's registration; 404/403 when it cannot be asserted."""
        device = self.registry.device(origin.tenant_id, origin.device)
        if device is None:
            if self.registry.device_elsewhere(origin.device):
                refuse(403, "device does not belong to tenant")
            refuse(404, "device not found")
        if device.get("enabled") is False:
            refuse(403, "device is disabled")
        if origin.gateway is not None:
            gateway = self.registry.device(origin.tenant_id, origin.gateway)
            if gateway is None or gateway.get("enabled") is False:
                refuse(403, "gateway is disabled")
            if origin.gateway not in device.get("via", ()):
                refuse(403, "gateway is not authorized to act for the device")
        return device

    # Telemetry and events.

    async def upload(self, request, kind, uri_tenant=None, uri_device=None):
        try:
            origin = await self.authenticate(request, uri_tenant, uri_device)
            self.check_size(request)
            qos = qos_level(request, kind)
            content_type = check_content(request)
            device = self.check_registration(origin)
        except Refused as exc:
            return exc.response
        ttd = self.ttd(request, origin.tenant)
        msg = Message(kind, origin.tenant_id, origin.device, content_type, request.body, qos,
                         ttd, None, orig_address=request.url,
                         properties=_defaults(origin.tenant, device))
        if kind == EVENT:
            msg.ttl = _ttl(request, origin.tenant, msg.properties)
        start = compat.ticks_ms()
        # Waiting starts before the message leaves: an application that
        # sees the ttd may answer at once.
        waiter = self.waiting.wait(origin.tenant_id, origin.device) if ttd else None
        try:
            try:
                outcome = await self.messages.deliver(msg, self.settle_timeout)
            except NoConsumer:
                return json_error(503, "no consumer available")
            except StoreFull:
                return json_error(503, "event store full")
            if outcome != ACCEPTED:
                if outcome == REJECTED:
                    return json_error(400, "message rejected by the consumer")
                if outcome == RELEASED:
                    return json_error(503, "message released by the consumer")
                return json_error(503, "the consumer did not settle the message in time")
            if self.entities:
                self.to_states(msg)
            if waiter is None:
                return Response("", 202)
            left = ttd * 1000 - compat.ticks_diff(compat.ticks_ms(), start)
            command = await waiter.wait(max(left, 0) / 1000)
        finally:
            if waiter is not None:
                self.waiting.done(origin.tenant_id, origin.device, waiter)
        if command is None:
            return Response("", 202)
        headers = {"hono-command": command.name,
                   "Content-Type": command.content_type or "application/octet-stream"}
        if command.req_id:
            headers["hono-cmd-req-id"] = command.req_id
        if origin.gateway is not None:
            headers["hono-cmd-target-device"] = origin.device
        return Response(command.payload, 200, headers)

    def ttd(self, request, tenant):
        """Seconds the device waits for a command: `hono-ttd` (header before
        query), capped by the tenant's max-ttd and 80% of the idle timeout;
        0 for none or a value that is not an integer."""
        value = request.headers.get("hono-ttd")
        if value is None:
            value = request.args.get("hono-ttd")
        ttd = compat.integer(value) if value is not None else None
        if ttd is None or ttd <= 0:
            return 0
        return max(min(ttd, reg.max_ttd(tenant), request.app.idle_timeout * 4 // 5), 0)

    def to_states(self, msg):
        """A JSON object of numbers and booleans becomes entity states
        `sensor|binary_sensor.hono_<tenant>_<device>_<key>`, within the
        device's and the tenant's share of the entity table."""
        if msg.content_type.split(";")[0].strip() != "application/json":
            return
        try:
            data = _json_object(msg.payload)
        except ValueError:
            return
        states = self.hub.states
        for key in list(data)[:self.max_entities_per_device]:
            value = data[key]
            if isinstance(value, bool):
                entity, value = "binary_sensor", "on" if value else "off"
            elif isinstance(value, (int, float)):
                entity = "sensor"
            else:
                continue
            entity_id = entity + "." + slugify("hono_{}_{}_{}".format(msg.tenant, msg.device, key))
            if states.get(entity_id) is None:
                full = self._no_room(msg.tenant, msg.device)
                if full:
                    states.refused(entity_id, full)
                    return
            try:
                states.set(entity_id, value, {
                    "friendly_name": "{} {}".format(msg.device, key), "device_id": msg.device,
                    "tenant_id": msg.tenant})
            except ValueError:
                return  # too many entities: telemetry still flows

    def _no_room(self, tenant, device):
        """Why `device` of `tenant` may have no new entity; None when it may."""
        of_tenant = of_device = 0
        for state in self.hub.states.unsorted():
            if state.attributes.get("tenant_id") == tenant:
                of_tenant += 1
                of_device += state.attributes.get("device_id") == device
        if of_device >= self.max_entities_per_device:
            return "Device {} of tenant {} has {} entities (Adapter.max_entities_per_device).".format(
                device, tenant, of_device)
        if of_tenant >= self.max_entities_per_tenant:
            return "Tenant {} has {} entities (Adapter.max_entities_per_tenant).".format(tenant, of_tenant)
        return None

    # Command responses.

    async def command_response(self, request, req_id, uri_tenant=None, uri_device=None):
        try:
            origin = await self.authenticate(request, uri_tenant, uri_device)
            self.check_size(request)
            status = request.args.get("hono-cmd-status")
            if status is None or not compat.digits(status) or not (
                    200 <= int(status) <= 299 or 400 <= int(status) <= 599):
                refuse(400, "hono-cmd-status must be a status from 200 to 299 or 400 to 599")
            if not request_id_valid(req_id):
                refuse(400, "malformed command request id")
            self.check_registration(origin)
        except Refused as exc:
            return exc.response
        content_type = request.headers.get("Content-Type") or (
            "application/octet-stream" if request.body else None)
        response = CommandResponse(int(status), content_type, request.body)
        if not self.waiting.respond(origin.tenant_id, origin.device, req_id, response):
            return json_error(400, "no command waits for a response with this request id")
        return Response("", 202)


def qos_level(request, kind):
    value = request.headers.get("QoS-Level")
    if value is None:
        return 1 if kind == EVENT else 0
    if value == "1" or value == "0" and kind == TELEMETRY:
        return int(value)
    raise Refused(Response(BAD_QOS, 400, {"Content-Type": "text/plain"}, reason=BAD_QOS))


def check_content(request):
    """The content type; 400 when it is missing, when the body is empty
    (except for an empty notification) or an empty notification has one."""
    content_type = request.headers.get("Content-Type")
    if not content_type:
        refuse(400, "missing content type")
    empty = content_type.split(";")[0].strip().lower() == EMPTY_NOTIFICATION
    if empty and request.body:
        refuse(400, "an empty notification must have no body")
    if not empty and not request.body:
        refuse(400, "missing request body")
    return content_type


def _defaults(tenant, device):
    """Registered defaults, the device's over the tenant's."""
    props = dict(tenant.get("defaults", {}))
    props.update(device.get("defaults", {}))
    return props


def _ttl(request, tenant, props):
    """An event's time to live in seconds: `hono-ttl`, else the registered
    default, capped by the tenant's max-ttl; None for none."""
    value = request.headers.get("hono-ttl")
    ttl = int(value) if value is not None and compat.digits(value) else props.pop("ttl", None)
    if not isinstance(ttl, int):
        ttl = None
    limit = tenant.get("resource-limits", {}).get("max-ttl")
    if limit:
        ttl = limit if ttl is None else min(ttl, limit)
    return ttl


def _json_object(payload):
    data = jsoninput.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def setup(app, adapter):
    for kind in (TELEMETRY, EVENT):
        _routes(app, adapter, kind)

    @app.post("/command/res/<req_id>")
    async def command_response(request, req_id):
        return await adapter.command_response(request, req_id)

    @app.put("/command/res/<tenant>/<device>/<req_id>")
    async def command_response_for(request, tenant, device, req_id):
        try:
            tenant, device = unquote(tenant), unquote(device)
        except Refused as exc:
            return exc.response
        return await adapter.command_response(request, req_id, tenant, device)

    @app.put("/command/res//<device>/<req_id>")
    async def command_response_gateway(request, device, req_id):
        return await command_response_for(request, "", device, req_id)


def _routes(app, adapter, kind):
    @app.post("/" + kind)
    async def publish(request):
        return await adapter.upload(request, kind)

    @app.put("/" + kind + "/<tenant>/<device>")
    async def publish_for(request, tenant, device):
        try:
            tenant, device = unquote(tenant), unquote(device)
        except Refused as exc:
            return exc.response
        return await adapter.upload(request, kind, tenant, device)

    @app.put("/" + kind + "//<device>")
    async def publish_gateway(request, device):
        return await publish_for(request, "", device)
