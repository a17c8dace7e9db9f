"""`GET /api/error_log`: the log file as plain text. The route exists only
when `log_file` is configured (Home Assistant registers it only with a log
file); `ugate.log` keeps the file bounded, so it is read whole."""
from microdot import Response

from ugate import store
from ugate.http.auth import requires_auth


def setup(app, hub):
    path = hub.config["log_file"]
    if not path:
        return

    @app.get("/api/error_log")
    @requires_auth(hub.tokens)
    async def api_error_log(request):
        try:
            text = store.read_text(path)
        except OSError:  # nothing logged yet
            text = ""
        return Response(text, headers={"Content-Type": "text/plain; charset=utf-8"})
