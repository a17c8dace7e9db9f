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


def requires_auth(tokens):
    """Decorator factory: the route runs with `request.g.user` set, or the
    request gets 401."""
    def decorator(handler):
        @wraps(handler)
        async def wrapper(request, *args, **kwargs):
            user = tokens.validate(bearer_token(request))
            if user is None:
                return unauthorized(request)
            request.g.user = user
            return await handler(request, *args, **kwargs)
        return wrapper
    return decorator
