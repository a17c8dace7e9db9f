"""CORS for the adapter's endpoints (reference section 7): a preflight
answers 204 for any origin; answers to a cross-origin request expose the
command headers. A layer placed before `ugate.http.cors`, whose configured
origins are for the Home Assistant API."""
from microdot import Response

ENDPOINTS = ("/telemetry", "/event", "/command/res")
#: Access-Control-Allow-Headers of a preflight, by endpoint.
CORS_HEADERS = {"/telemetry": "authorization, content-type, QoS-Level, hono-ttd",
                "/event": "authorization, content-type, hono-ttd",
                "/command/res": "authorization, content-type, hono-cmd-status"}
EXPOSED_HEADERS = "hono-command, hono-cmd-req-id, hono-cmd-target-device"


class Preflight:
    async def before(self, request):
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        allowed = _cors_headers(request.path)
        if allowed is None:
            return None
        return Response("", 204, {"Access-Control-Allow-Origin": "*",
                                  "Access-Control-Allow-Methods": "POST, PUT",
                                  "Access-Control-Allow-Headers": allowed,
                                  "Access-Control-Max-Age": "86400"})

    def after(self, request, response):
        if request is not None and "Origin" in request.headers and _cors_headers(request.path):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def _cors_headers(path):
    for endpoint in ENDPOINTS:
        if path == endpoint or path.startswith(endpoint + "/"):
            return CORS_HEADERS[endpoint]
    return None
