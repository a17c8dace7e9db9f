"""`GET /api/error_log`: the log file as plain text. The route exists only
when `log_file` is configured (Home Assistant registers it only with a log
file). The file (bounded by `ugate.base.log`, but larger than a board's heap)
is streamed, never read whole."""
from microdot import Response

from ugate.http.auth import requires_auth


def setup(app, hub):
    path = hub.config["log_file"]
    if not path:
        return

    @app.get("/api/error_log")
    @requires_auth(hub.auth)
    async def api_error_log(request):
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if request.method == "HEAD":
            return Response(b"", headers=headers)  # no file left open for a body never sent
        try:
            body = open(path, "rb")
        except OSError:  # nothing logged yet
            body = b""
        return Response(body, headers=headers)
