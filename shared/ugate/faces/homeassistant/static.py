"""Static files: `<config_dir>/www/` served at `/local/` without
authentication (ha-api.md 2.5). A path that could leave the folder, or a file
that is not there, is 404. Files are streamed in small chunks, never read
whole, so a board can serve files larger than its heap."""
import os

from microdot import Response

from ugate.base import store
from ugate.http.responses import error_response
from ugate.http.url import unquote

URL_PREFIX = "/local/"
FOLDER = "www"
CACHE_CONTROL = "public, max-age=2678400"  # 31 days, as Home Assistant

CONTENT_TYPES = {
    "html": "text/html", "htm": "text/html", "css": "text/css", "txt": "text/plain",
    "csv": "text/csv", "xml": "application/xml", "js": "application/javascript",
    "mjs": "application/javascript", "json": "application/json", "map": "application/json",
    "pdf": "application/pdf", "wasm": "application/wasm", "png": "image/png",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
    "webp": "image/webp", "ico": "image/x-icon", "mp3": "audio/mpeg", "wav": "audio/wav",
    "ogg": "audio/ogg", "mp4": "video/mp4", "webm": "video/webm", "woff": "font/woff",
    "woff2": "font/woff2",
}

_S_IFMT = 0o170000
_S_IFREG = 0o100000


def safe_parts(path):
    """The relative path's names, or None when it is absolute, goes up or
    holds anything a file name in the folder cannot (after decoding)."""
    try:
        path = unquote(path)
    except ValueError:
        return None
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or "\0" in part:
            return None
    return parts


def content_type(name):
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


def setup(app, hub):
    root = store.join(hub.config_dir, FOLDER)

    @app.get(URL_PREFIX + "<path:path>")
    async def local_file(request, path):
        parts = safe_parts(path)
        if parts is None:
            return error_response(404)
        filename = store.join(root, *parts)
        try:
            st = os.stat(filename)
        except OSError:
            return error_response(404)
        if st[0] & _S_IFMT != _S_IFREG:
            return error_response(404)  # a folder or a device, not a file
        headers = {"Content-Type": content_type(parts[-1]), "Cache-Control": CACHE_CONTROL,
                   "Content-Length": str(st[6])}
        if request.method == "HEAD":
            return Response(b"", headers=headers)  # no file left open for a body never sent
        return Response(open(filename, "rb"), headers=headers)
