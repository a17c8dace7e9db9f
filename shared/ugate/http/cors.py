"""CORS for browsers calling the API from other origins (ha-api.md 2.4), one
layer for every route.

A configured origin is echoed on exact match only; other origins, and all
origins when none is configured, get no CORS headers (the browser then
refuses the response). A face or source opens its own paths to any origin
with `open` (Hono's device API), as Home Assistant's views do with
`cors_allowed`.
"""
from microdot import Response

ALLOWED_HEADERS = "Origin, Accept, X-Requested-With, Content-Type, Authorization"


class OpenPath:
    """A path (and what lies below it) any origin may call."""

    def __init__(self, path, methods, allow_headers, expose_headers, max_age):
        self.path = path
        self.preflight = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": methods,
                          "Access-Control-Allow-Headers": allow_headers,
                          "Access-Control-Max-Age": str(max_age)}
        self.expose_headers = expose_headers

    def matches(self, path):
        return path == self.path or path.startswith(self.path + "/")


class Cors:
    def __init__(self, allowed_origins):
        self.origins = set(allowed_origins)
        self.open_paths = []

    def open(self, path, methods, allow_headers, expose_headers, max_age=86400):
        self.open_paths.append(OpenPath(path, methods, allow_headers, expose_headers, max_age))

    def _open_path(self, request):
        for open_path in self.open_paths:
            if open_path.matches(request.path):
                return open_path
        return None

    def _allowed(self, request):
        """The request's Origin when it is a configured one, else None."""
        origin = request.headers.get("Origin")
        return origin if origin in self.origins else None

    async def before(self, request):
        """Answer a preflight (OPTIONS with Access-Control-Request-Method)
        from an allowed origin, without authentication."""
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        open_path = self._open_path(request)
        if open_path is not None:
            return Response("", 204, dict(open_path.preflight))
        origin = self._allowed(request)
        if origin is None:
            return None
        methods = request.app.default_options_handler(request)["Allow"]
        return Response(headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        })

    def after(self, request, response):
        if request is None or "Origin" not in request.headers:
            return
        open_path = self._open_path(request)
        if open_path is not None:
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = open_path.expose_headers
            return
        origin = self._allowed(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
