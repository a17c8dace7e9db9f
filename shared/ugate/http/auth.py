"""Bearer authentication (ha-api.md 2.1): `Authorization: Bearer <token>`,
the scheme spelled exactly so. Routes that need a user are wrapped in
`requires_auth`; a failure answers 401 and is reported to the app, where the
ban layer counts it."""
from microdot.helpers import wraps  # functools.wraps, or a no-op on MicroPython

from ugate.http.responses import error_response


def bearer_token(request):
    header = request.headers.get("Authorization")
    if not header or not header.startswith("Bearer "):
        return None
    return header[7:].strip()


def unauthorized(request):
    request.app.login_failed(request)
    return error_response(401)


def body_gate(auth):
    """The server's check before it reads a large body (`Server.body_gates`):
    401 unless the request carries a valid token, as the route would answer."""
    async def gate(request):
        if auth.validate(bearer_token(request)) is None:
            return unauthorized(request)
        return None
    return gate


def requires_auth(auth):
    """Decorator factory: the route runs with `request.g.user` set (the
    user of a long-lived or an access token, checked by `auth`, the hub's
    `ugate.hub.auth.Auth`), or the request gets 401."""
    def decorator(handler):
        @wraps(handler)
        async def wrapper(request, *args, **kwargs):
            user = auth.validate(bearer_token(request))
            if user is None:
                return unauthorized(request)
            request.g.user = user
            return await handler(request, *args, **kwargs)
        return wrapper
    return decorator


def watch_revocation(auth, request):
    """For a stream opened by an authenticated request: `watch(end)` calls
    `end()` when the request's credential is revoked, and returns the
    function that stops watching."""
    user = request.g.user
    return lambda end: auth.watch(user, end)
