"""The page's files: `index.html`, `page.js` and `page.css`, next to this
module, hand-written. The files are sent from the filesystem in pieces
by Microdot (a board never holds one whole), gzip-compressed when
`<name>.gz` is there and no older than the source: `tools/page_gzip.py`
writes them (`make venv`, and `tools/build.py` puts only the `.gz` into a
board's tree). `ETag` with `Cache-Control: no-cache`: a browser asks
again on each load and gets 304 while the file is unchanged.
"""
import os

from microdot import Response

from ugate.http.responses import error_response

FILES = {"index.html": "text/html; charset=utf-8", "page.js": "application/javascript; charset=utf-8",
         "page.css": "text/css; charset=utf-8"}
#: What the page may load and connect to: itself alone (nothing from the internet).
CSP = ("default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
HERE = __file__.rpartition("/")[0]


def _stat(path):
    try:
        st = os.stat(path)
        return st[8], st[6]  # mtime, size
    except OSError:
        return None


def _newest(name):
    """(path, gzipped, mtime, size) of the best file to send for `name`, or
    None when neither is there. A `.gz` older than its source is stale (the
    page was edited) and skipped."""
    plain = HERE + "/" + name
    source = _stat(plain)
    packed = _stat(plain + ".gz")
    if packed is not None and (source is None or packed[0] >= source[0]):
        return plain + ".gz", True, packed[0], packed[1]
    if source is None:
        return None
    return plain, False, source[0], source[1]


def respond(request, name):
    found = _newest(name)
    if found is None:
        return error_response(404)
    path, gzipped, mtime, size = found
    etag = '"{:x}-{:x}{}"'.format(int(mtime), size, "g" if gzipped else "")
    headers = {"Content-Type": FILES[name], "Cache-Control": "no-cache", "ETag": etag,
               "Vary": "Accept-Encoding"}
    if name == "index.html":
        headers["Content-Security-Policy"] = CSP
    if gzipped:
        if "gzip" not in request.headers.get("Accept-Encoding", ""):
            return error_response(406)  # every browser accepts gzip; a board keeps no plain copy
        headers["Content-Encoding"] = "gzip"
    if request.headers.get("If-None-Match") == etag:
        return Response(b"", 304, headers)
    headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(b"", headers=headers)  # no file left open for a body never sent
    return Response(open(path, "rb"), headers=headers)


def asset(request, name):
    """/page/<name>: the script or the stylesheet."""
    if name not in FILES or name == "index.html":
        return error_response(404)
    return respond(request, name)
