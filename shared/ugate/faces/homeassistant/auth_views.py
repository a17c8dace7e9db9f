"""The sign-in views (see `ugate.faces.homeassistant.auth` for the routes),
imported for each sign-in request and unloaded after it: they are seldom
used (a sign-in, a refresh every half hour) and a board's heap is small.
What lasts between requests is in `login_flow.SignIn`.

Status codes and bodies are Home Assistant's. Every answer of 400 or more
from the login flow and the token endpoint counts as a failed login for IP
bans, and so does a wrong password; a successful sign-in resets the count.
The users, tokens and revocations live in the hub (`ugate.hub.auth`).
"""
from microdot import Response

from ugate.base.compat import OrderedDict
from ugate.base.validation import MISSING, Invalid, known_keys
from ugate.faces.homeassistant import indieauth
from ugate.faces.homeassistant.login_flow import Flow
from ugate.faces.homeassistant.request_data import json_body, strings
from ugate.hub import sessions
from ugate.hub.users import UserError
from ugate.http.responses import error_response, json_message, json_response
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


def counted(view):
    """Home Assistant's `log_invalid_auth`: an answer of 400 or more is a
    failed login for the ban layer."""
    async def wrapper(state, request, rest):
        res = await view(state, request, rest)
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


async def handle(state, request):
    """Answer a request to one of the sign-in's paths: 404 for a path it
    does not have, 405 (with Allow) for a method a path does not take."""
    path, rest = request.path, ""
    if path.startswith("/auth/login_flow/") and "/" not in path[17:]:
        path, rest = "/auth/login_flow/", path[17:]
    method = "GET" if request.method == "HEAD" else request.method
    view = VIEWS.get((method, path))
    if view is not None:
        return await view(state, request, rest)
    allowed = sorted(m for m, p in VIEWS if p == path)
    if not allowed:
        return error_response(404)
    res = error_response(405)
    res.headers["Allow"] = ",".join(allowed + (["HEAD"] if "GET" in allowed else []))
    return res

async def providers(state, request, rest):
    if not state.auth.onboarded():
        return json_response(OrderedDict([("message", "Onboarding not finished"),
                                          ("code", "onboarding_required")]), 400)
    provider = OrderedDict([("name", "Home Assistant Local"), ("id", None),
                            ("type", PROVIDER_TYPE)])
    return json_response(OrderedDict([
        ("providers", [provider]),
        ("preselect_remember_me", remote(request) in indieauth.LOCAL_NETWORKS)]))

async def metadata(state, request, rest):
    return json_response(METADATA)

async def login_flow(state, request, rest):
    data, error = json_body(request, _login_flow_start)
    if error is not None:
        return error
    if not indieauth.valid_client_id(data["client_id"]):
        return json_message("Invalid client id", 400)
    if data["handler"] != HANDLER:
        return json_message("Invalid handler specified", 404)
    # The redirect_uri is checked at the credentials step (403), as in Home Assistant.
    flow_id = state.flows.add(Flow(data["client_id"], data["redirect_uri"], remote(request)))
    return _form_step(flow_id, {})

async def login_flow_get(state, request, flow_id):
    return json_message("Invalid flow specified", 404)

async def login_flow_step(state, request, flow_id):
    data, error = json_body(request, _login_flow_step)
    if error is not None:
        return error
    client_id = data["client_id"]
    if not indieauth.valid_client_id(client_id):
        return json_message("Invalid client id", 400)
    # Taken while the password is checked, so one flow ends in one code.
    entry = state.flows.take(flow_id)
    if entry is None:
        return json_message("Invalid flow specified", 404)
    user, refusal = await _credentials(state, request, client_id, entry[1], data)
    if user is None:
        state.flows.put_back(flow_id, entry)
        return refusal or _form_step(flow_id, {"base": "invalid_auth"})
    return json_response(OrderedDict([
        ("type", "create_entry"), ("flow_id", flow_id), ("handler", HANDLER),
        ("version", 1), ("minor_version", 1), ("title", user["username"]),
        ("description", None), ("description_placeholders", None),
        ("result", state.codes.create(client_id, user["id"]))]))

async def _credentials(state, request, client_id, flow, data):
    """(the user signing in, None), or (None, the refusal to answer;
    None for a wrong username or password)."""
    if flow.address != remote(request):
        return None, json_message("IP address changed", 400)
    if not indieauth.allowed_redirect(client_id, flow.redirect_uri):
        return None, json_message("Invalid redirect URI", 403)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return None, json_message("User input malformed", 400)
    async with state.hashing:
        user = await state.auth.users.check(username, password) if state.auth.onboarded() else None
    if user is None:
        request.app.login_failed(request)
    else:
        request.app.login_succeeded(request)
    return user, None

async def login_flow_abort(state, request, flow_id):
    if state.flows.take(flow_id) is None:
        return json_message("Invalid flow specified", 404)
    return json_message("Flow aborted")

def _tokens(state, access, refresh=None):
    body = OrderedDict([("access_token", access), ("token_type", "Bearer")])
    if refresh is not None:
        body["refresh_token"] = refresh
    body["expires_in"] = state.auth.access_lifetime
    if refresh is not None:
        body["ha_auth_provider"] = PROVIDER_TYPE
    return json_response(body, 200, dict(_NO_STORE))

def _from_code(state, request, form):
    client_id = form.get("client_id")
    if not indieauth.valid_client_id(client_id):
        return _oauth_error(400, "invalid_request", "Invalid client id")
    user_id = state.codes.redeem(client_id, form.get("code"))
    if user_id is None:
        return _oauth_error(400, "invalid_request", "Invalid code")
    user = state.auth.user(user_id)
    if user is None:  # removed since it signed in
        return _oauth_error(403, "access_denied", "User is not active")
    access, refresh = sessions.sign_in(state.auth, user.id, client_id, remote(request))
    return _tokens(state, access, refresh)

def _from_refresh_token(state, request, form):
    client_id = form.get("client_id")
    if client_id is not None and not indieauth.valid_client_id(client_id):
        return _oauth_error(400, "invalid_request", "Invalid client id")
    token = form.get("refresh_token")
    if token is None:
        return _oauth_error(400, "invalid_request")
    record = sessions.find_refresh_token(state.auth, token)
    if record is None:
        return _oauth_error(400, "invalid_grant")
    if record["client_id"] != client_id:
        return _oauth_error(400, "invalid_request")
    if state.auth.user(record["user_id"]) is None:
        return _oauth_error(403, "access_denied", "User is not active")
    return _tokens(state, state.auth.refresh_tokens.issue(record, remote(request)))

def _revoke(state, form):
    # RFC 7009: 200 whether or not there was such a token.
    sessions.revoke_refresh_token(state.auth, form.get("token"))
    return Response("", 200)

async def token(state, request, rest):
    form = _form(request)
    if form.get("action") == "revoke":  # deprecated; the iOS app still sends it
        return _revoke(state, form)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _from_code(state, request, form)
    if grant_type == "refresh_token":
        return _from_refresh_token(state, request, form)
    return _oauth_error(400, "unsupported_grant_type")

async def revoke_token(state, request, rest):
    return _revoke(state, _form(request))

async def onboarding(state, request, rest):
    return json_response([OrderedDict([("step", "user"), ("done", state.auth.onboarded())])])

async def onboarding_user(state, request, rest):
    data, error = json_body(request, _onboarding_user)
    if error is not None:
        return error
    async with state.hashing:
        if state.auth.onboarded():
            return json_message("User step already done", 403)
        try:
            user = await state.auth.users.create(data["name"], data["username"], data["password"])
        except UserError as exc:
            return json_message(str(exc), 400)
    return json_response({"auth_code": state.codes.create(data["client_id"], user["id"])})


#: (method, path or path prefix ending in '/') -> view(state, request, rest)
VIEWS = {
    ("GET", "/auth/providers"): providers,
    ("GET", "/.well-known/oauth-authorization-server"): metadata,
    ("GET", "/auth/authorize"): None,  # its own route (auth.py): here for the 405 of other methods
    ("POST", "/auth/login_flow"): counted(login_flow),
    ("GET", "/auth/login_flow/"): login_flow_get,
    ("POST", "/auth/login_flow/"): counted(login_flow_step),
    ("DELETE", "/auth/login_flow/"): login_flow_abort,
    ("POST", "/auth/token"): counted(token),
    ("POST", "/auth/revoke"): revoke_token,
    ("GET", "/api/onboarding"): onboarding,
    ("POST", "/api/onboarding/users"): onboarding_user,
}
