"""The gateway's own web page at `/` and the APIs only the page uses: the
recent values for its sparklines (`/api/history/period`, from
`ugate.hub.history`) and the owner's API (`/api/ugate/owner/...`: the
gateway's figures, config.json, restart, bans). The page signs in as an
OAuth2 client of this gateway and reads everything else through the Home
Assistant APIs.

Only the routes are here; their views (`files`, `history`, `owner`) are
imported on the first request, so a board whose page is never opened holds
four routes (about 0.7 KB each).
`disabled_faces: ["page"]` leaves it all out, `["history"]` the history.
"""
from microdot.helpers import wraps  # functools.wraps, or a no-op on MicroPython

from ugate.base import compat
from ugate.http.auth import requires_auth
from ugate.http.responses import json_message


def requires_owner(auth):
    """`requires_auth`, and the user must be the owner (what changes the
    gateway itself: its config, bans, restarts); anyone else gets 403."""
    def decorator(handler):
        @wraps(handler)
        async def owner_only(request, *args, **kwargs):
            if not request.g.user.is_owner:
                return json_message("Only the owner may do this.", 403)
            return await handler(request, *args, **kwargs)
        return requires_auth(auth)(owner_only)
    return decorator


def setup(app, hub):
    hub.started = compat.now_us()  # for the owner's figures: the uptime

    @app.get("/")
    async def page(request):
        from ugate.faces.page import files
        return files.respond(request, "index.html")

    @app.get("/page/<name>")
    async def page_file(request, name):
        from ugate.faces.page import files
        return files.asset(request, name)

    if getattr(hub, "history", None) is not None:
        @app.get("/api/history/<path:path>")
        @requires_auth(hub.auth)
        async def history(request, path):
            from ugate.faces.page import history
            return await history.view(hub, request, path)

    @app.route("/api/ugate/owner/<path:path>", methods=["GET", "POST", "DELETE"])
    @requires_owner(hub.auth)
    async def owner(request, path):
        from ugate.faces.page import owner
        return await owner.dispatch(hub, request, path)
