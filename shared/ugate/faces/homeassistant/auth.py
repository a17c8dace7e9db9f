"""Home Assistant's sign-in over HTTP: the onboarding of the first user,
the login flow, OAuth2 tokens and the sign-in page (ha-api.md 6.2).

    GET    /auth/providers                     the one provider, or 400 onboarding_required
    GET    /.well-known/oauth-authorization-server
    GET    /auth/authorize                     the sign-in page
    POST   /auth/login_flow                    start a flow: a form for username and password
    POST   /auth/login_flow/<flow_id>          the username and password: an authorization code
    DELETE /auth/login_flow/<flow_id>          abort a flow
    POST   /auth/token                         codes and refresh tokens to access tokens (form-encoded)
    POST   /auth/revoke                        end a refresh token (always 200)
    GET    /api/onboarding, POST /api/onboarding/users    create the owner while no user exists

Status codes and bodies are Home Assistant's. Every answer of 400 or more
from the login flow and the token endpoint counts as a failed login for IP
bans, and so does a wrong password; a successful sign-in resets the count.
The users, tokens and revocations live in the hub (`ugate.hub.auth`).
"""
import asyncio

from microdot import Response

from ugate.base.compat import OrderedDict
from ugate.base.validation import MISSING, Invalid, known_keys
from ugate.faces.homeassistant import indieauth
from ugate.faces.homeassistant.login_flow import AuthCodes, Flow, LoginFlows
from ugate.faces.homeassistant.request_data import json_body, strings
from ugate.hub.users import UserError
from ugate.http.responses import json_message, json_response
from ugate.http.server import remote

PROVIDER_TYPE = "homeassistant"
HANDLER = [PROVIDER_TYPE, None]
#: What GET /.well-known/oauth-authorization-server answers.
METADATA = OrderedDict([
    ("authorization_endpoint", "/auth/authorize"),
    ("token_endpoint", "/auth/token"),
    ("revocation_endpoint", "/auth/revoke"),
    ("response_types_supported", ["code"]),
    ("service_documentation", "https://developers.home-assistant.io/docs/auth_api"),
])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def counted(handler):
    """Home Assistant's `log_invalid_auth`: an answer of 400 or more is a
    failed login for the ban layer."""
    async def wrapper(request, *args, **kwargs):
        res = await handler(request, *args, **kwargs)
        if res.status_code >= 400:
            request.app.login_failed(request)
        return res
    return wrapper


def _form(request):
    """The form-encoded body as a dict of text; {} when it is not one."""
    try:
        form = request.form
    except (ValueError, UnicodeError):  # a bad %-escape or not UTF-8
        return {}
    out = {}
    for key in form or ():
        value = form.get(key)  # the first of repeated keys
        if isinstance(value, str):  # not b'' (a key without '=')
            out[key] = value
    return out


def _oauth_error(status, error, description=None):
    body = OrderedDict([("error", error)])
    if description is not None:
        body["error_description"] = description
    return json_response(body, status)


def _form_step(flow_id, errors):
    return json_response(OrderedDict([
        ("type", "form"), ("flow_id", flow_id), ("handler", HANDLER), ("step_id", "init"),
        ("data_schema", [{"type": "string", "name": "username", "required": True},
                         {"type": "string", "name": "password", "required": True}]),
        ("errors", errors), ("description_placeholders", None), ("last_step", None),
        ("preview", None)]))


def _login_flow_start(data):
    strings(data, ("client_id", "redirect_uri"), ("type",), extra=True)
    known_keys(data, ("client_id", "redirect_uri", "type", "handler"))
    if "handler" not in data:
        raise Invalid("handler", MISSING)
    if not isinstance(data["handler"], (str, list)):
        raise Invalid("handler", "expected str or list", data["handler"])


def _login_flow_step(data):
    strings(data, ("client_id",), extra=True)


def _onboarding_user(data):
    strings(data, ("name", "username", "password", "client_id", "language"))


def setup(app, hub):
    auth = hub.auth
    flows = LoginFlows()
    codes = AuthCodes()
    # One password hash at a time: on a board each takes a second or more
    # of CPU, and a flood of sign-ins must not take it all.
    hashing = asyncio.Lock()
    hub.components.extend(("auth", "onboarding"))

    @app.get("/auth/providers")
    async def providers(request):
        if not auth.onboarded():
            return json_response(OrderedDict([("message", "Onboarding not finished"),
                                              ("code", "onboarding_required")]), 400)
        provider = OrderedDict([("name", "Home Assistant Local"), ("id", None),
                                ("type", PROVIDER_TYPE)])
        return json_response(OrderedDict([
            ("providers", [provider]),
            ("preselect_remember_me", remote(request) in indieauth.LOCAL_NETWORKS)]))

    @app.get("/.well-known/oauth-authorization-server")
    async def metadata(request):
        return json_response(METADATA)

    @app.get("/auth/authorize")
    async def authorize(request):
        from ugate.faces.homeassistant import authorize_page  # on its first request only
        headers = {"Content-Type": "text/html; charset=utf-8",
                   "Content-Security-Policy": authorize_page.CSP}
        headers.update(_NO_STORE)
        return Response(authorize_page.PAGE, 200, headers)

    @app.post("/auth/login_flow")
    @counted
    async def login_flow(request):
        data, error = json_body(request, _login_flow_start)
        if error is not None:
            return error
        if not indieauth.valid_client_id(data["client_id"]):
            return json_message("Invalid client id", 400)
        if data["handler"] != HANDLER:
            return json_message("Invalid handler specified", 404)
        # The redirect_uri is checked at the credentials step (403), as in Home Assistant.
        flow_id = flows.add(Flow(data["client_id"], data["redirect_uri"], remote(request)))
        return _form_step(flow_id, {})

    @app.get("/auth/login_flow/<flow_id>")
    async def login_flow_get(request, flow_id):
        return json_message("Invalid flow specified", 404)

    @app.post("/auth/login_flow/<flow_id>")
    @counted
    async def login_flow_step(request, flow_id):
        data, error = json_body(request, _login_flow_step)
        if error is not None:
            return error
        client_id = data["client_id"]
        if not indieauth.valid_client_id(client_id):
            return json_message("Invalid client id", 400)
        # Taken while the password is checked, so one flow ends in one code.
        entry = flows.take(flow_id)
        if entry is None:
            return json_message("Invalid flow specified", 404)
        flow = entry[1]
        if flow.address != remote(request):
            flows.put_back(flow_id, entry)
            return json_message("IP address changed", 400)
        if not indieauth.allowed_redirect(client_id, flow.redirect_uri):
            flows.put_back(flow_id, entry)
            return json_message("Invalid redirect URI", 403)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            flows.put_back(flow_id, entry)
            return json_message("User input malformed", 400)
        async with hashing:
            user = await auth.users.check(username, password) if auth.onboarded() else None
        if user is None:
            flows.put_back(flow_id, entry)
            request.app.login_failed(request)
            return _form_step(flow_id, {"base": "invalid_auth"})
        request.app.login_succeeded(request)
        return json_response(OrderedDict([
            ("type", "create_entry"), ("flow_id", flow_id), ("handler", HANDLER),
            ("version", 1), ("minor_version", 1), ("title", user["username"]),
            ("description", None), ("description_placeholders", None),
            ("result", codes.create(client_id, user["id"]))]))

    @app.delete("/auth/login_flow/<flow_id>")
    async def login_flow_abort(request, flow_id):
        if flows.take(flow_id) is None:
            return json_message("Invalid flow specified", 404)
        return json_message("Flow aborted")

    def tokens_answer(access, refresh=None):
        body = OrderedDict([("access_token", access), ("token_type", "Bearer")])
        if refresh is not None:
            body["refresh_token"] = refresh
        body["expires_in"] = auth.access_lifetime
        if refresh is not None:
            body["ha_auth_provider"] = PROVIDER_TYPE
        return json_response(body, 200, dict(_NO_STORE))

    def from_code(request, form):
        client_id = form.get("client_id")
        if not indieauth.valid_client_id(client_id):
            return _oauth_error(400, "invalid_request", "Invalid client id")
        user_id = codes.redeem(client_id, form.get("code"))
        if user_id is None:
            return _oauth_error(400, "invalid_request", "Invalid code")
        user = auth.user(user_id)
        if user is None:  # removed since it signed in
            return _oauth_error(403, "access_denied", "User is not active")
        access, refresh = auth.sign_in(user.id, client_id, remote(request))
        return tokens_answer(access, refresh)

    def from_refresh_token(request, form):
        client_id = form.get("client_id")
        if client_id is not None and not indieauth.valid_client_id(client_id):
            return _oauth_error(400, "invalid_request", "Invalid client id")
        token = form.get("refresh_token")
        if token is None:
            return _oauth_error(400, "invalid_request")
        record = auth.find_refresh_token(token)
        if record is None:
            return _oauth_error(400, "invalid_grant")
        if record["client_id"] != client_id:
            return _oauth_error(400, "invalid_request")
        if auth.user(record["user_id"]) is None:
            return _oauth_error(403, "access_denied", "User is not active")
        return tokens_answer(auth.refresh(record, remote(request)))

    def revoke(form):
        # RFC 7009: 200 whether or not there was such a token.
        auth.revoke_refresh_token(form.get("token"))
        return Response("", 200)

    @app.post("/auth/token")
    @counted
    async def token(request):
        form = _form(request)
        if form.get("action") == "revoke":  # deprecated; the iOS app still sends it
            return revoke(form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return from_code(request, form)
        if grant_type == "refresh_token":
            return from_refresh_token(request, form)
        return _oauth_error(400, "unsupported_grant_type")

    @app.post("/auth/revoke")
    async def revoke_token(request):
        return revoke(_form(request))

    @app.get("/api/onboarding")
    async def onboarding(request):
        return json_response([OrderedDict([("step", "user"), ("done", auth.onboarded())])])

    @app.post("/api/onboarding/users")
    async def onboarding_user(request):
        data, error = json_body(request, _onboarding_user)
        if error is not None:
            return error
        async with hashing:
            if auth.onboarded():
                return json_message("User step already done", 403)
            try:
                user = await auth.users.create(data["name"], data["username"], data["password"])
            except UserError as exc:
                return json_message(str(exc), 400)
        return json_response({"auth_code": codes.create(data["client_id"], user["id"])})
