"""The responses routes and layers answer with: JSON, and the plain-text
error Home Assistant's web server (aiohttp) sends for a refused request."""
import json

from microdot import Response

from ugate.base.compat import OrderedDict

REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 413: "Payload Too Large",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 503: "Service Unavailable",
}


def json_response(obj, status=200, headers=None):
    """A JSON response; OrderedDicts keep Home Assistant's field order. `obj`
    may also be an iterator of JSON text chunks (`ugate.base.jsonstream`),
    sent as produced (the server gathers them into writes of
    `Server.write_bytes`)."""
    res = Response(obj if hasattr(obj, "__next__") else json.dumps(obj), status, headers)
    res.headers["Content-Type"] = "application/json"
    return res


def json_text(text, status=200, headers=None):
    """A JSON response from text already encoded (a state's, built once)."""
    res = Response(text, status, headers)
    res.headers["Content-Type"] = "application/json"
    return res


def json_message(message, status=200):
    return json_response(OrderedDict([("message", message)]), status)


def error_response(status):
    """aiohttp's answer to a refused request: '<code>: <Reason>' as plain
    text, e.g. '404: Not Found'."""
    return Response("{}: {}".format(status, REASONS[status]), status, {"Content-Type": "text/plain"})


def json_error(status, message):
    """Hono's error answer, `{"error": message}`; a 503 says when to retry."""
    res = json_response({"error": message}, status)
    if status == 503:
        res.headers["Retry-After"] = "2"
    return res
