"""CORS for browsers calling the API from other origins (ha-api.md 2.4).

A configured origin is echoed on exact match only; other origins, and all
origins when none is configured, get no CORS headers (the browser then
refuses the response). Webhooks take calls from any origin.
"""
from microdot import Response

ALLOWED_HEADERS = "Origin, Accept, X-Requested-With, Content-Type, Authorization"
ANY_ORIGIN_PREFIX = "/api/webhook/"


class Cors:
    def __init__(self, allowed_origins):
        self.origins = set(allowed_origins)

    def _allowed(self, request):
        """The request's Origin when it may have CORS headers, else None."""
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        if origin in self.origins or request.path.startswith(ANY_ORIGIN_PREFIX):
            return origin
        return None

    async def before(self, request):
        """Answer a preflight (OPTIONS with Access-Control-Request-Method)
        from an allowed origin, without authentication."""
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
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
        if request is None:
            return
        origin = self._allowed(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
