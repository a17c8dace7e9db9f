"""The Microdot application ugate serves, with connection limits and a stack
of layers run around every request, like Home Assistant's http middlewares.

A layer is an object with `async before(request)`, which may answer the
request itself by returning a Response, and `after(request, response)`, which
may change the response. Layers run in list order before the route, in the
same order after it. `after` sees every response, with request None for one
that could not be parsed (400).
"""
import asyncio

from microdot import Microdot, Request, Response

from ugate.base import log
from ugate.http.headers import SECURITY_HEADERS
from ugate.http.responses import REASONS, error_response

_log = log.get("http")


def remote(request):
    """The client address after X-Forwarded-For processing."""
    return request.g.remote


def header_count(request, name):
    """How many times the header `name` (lowercase) came in the request:
    Microdot's header dict keeps only the last of repeated headers."""
    return request.g.header_counts.get(name, 0)


class _HeadReader:
    """The client stream as Microdot reads it. The request head is read in
    chunks, so a line is never longer in memory than `Request.max_readline`
    plus a chunk (MicroPython's readline has no bound), and header names are
    counted; what was read past the head is handed out first."""
    chunk = 512

    def __init__(self, reader):
        self.reader = reader
        self.buf = b""
        self.counts = {}
        self.lines = 0  # lines of the head read so far; None once it ended

    async def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > Request.max_readline:
                raise ValueError("line too long")
            data = await self.reader.read(self.chunk)
            if not data:
                break
            self.buf += data
        end = self.buf.find(b"\n") + 1 or len(self.buf)
        line, self.buf = self.buf[:end], self.buf[end:]
        if self.lines is not None:
            if self.lines and not line.strip():
                self.lines = None
            else:
                if self.lines:
                    name = line.split(b":", 1)[0].strip().lower().decode()
                    self.counts[name] = self.counts.get(name, 0) + 1
                self.lines += 1
        return line

    async def read(self, n=-1):
        if not self.buf:
            return await self.reader.read(n)
        if n < 0:  # everything up to the end of input
            data, self.buf = self.buf, b""
            return data + await self.reader.read(-1)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readexactly(self, n):
        data = self.buf[:n]
        self.buf = self.buf[len(data):]
        if len(data) < n:
            data += await self.reader.readexactly(n - len(data))
        return data

    def __getattr__(self, name):
        return getattr(self.reader, name)


def peer_address(writer):
    """The IP address of the connected socket as text, on both runtimes."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple):
        return peer[0]
    if isinstance(peer, (bytes, bytearray)) and len(peer) >= 8:
        # MicroPython hands back a raw sockaddr; family is the first 2 bytes.
        if peer[0] == 2 or peer[1] == 2:  # AF_INET
            return "{}.{}.{}.{}".format(peer[4], peer[5], peer[6], peer[7])
        if len(peer) >= 24:  # AF_INET6: address at offset 8
            a = peer[8:24]
            return ":".join("{:x}".format(a[i] << 8 | a[i + 1]) for i in range(0, 16, 2))
    return "0.0.0.0"


class Server(Microdot):
    #: Simultaneous connections served; more are answered 503 at once.
    max_connections = 64
    #: Seconds a client may take to send its request line and headers.
    idle_timeout = 30
    #: Bytes of a request left unread (a refused body, a malformed or
    #: refused request) read and dropped before closing: closing a socket with
    #: unread data resets the connection, and the client loses the answer.
    max_discard = 64 * 1024

    def __init__(self):
        super().__init__()
        self.layers = []
        #: The CORS layer (`ugate.http.cors`), where a part opens its paths
        #: to any origin.
        self.cors = None
        self.connections = 0
        #: Called with (request) for each request with invalid credentials,
        #: and for each successful WebSocket login; the ban layer counts them.
        self.on_login_failure = []
        self.on_login_success = []
        # Home Assistant's web server (aiohttp) answers unknown paths and
        # methods with plain text and, for 405, the methods the path takes.
        self.errorhandler(404)(_not_found)
        self.errorhandler(405)(self._method_not_allowed)

    def set_limits(self, max_body_bytes, max_header_line, max_connections, idle_timeout):
        Request.max_content_length = max_body_bytes
        # Bodies up to the limit are read whole; larger ones are refused (413).
        Request.max_body_length = max_body_bytes
        Request.max_readline = max_header_line
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout

    async def _method_not_allowed(self, request):
        methods = []
        for route_methods, pattern, _, _, _ in self.url_map:
            if pattern.match(request.path) is not None:
                methods.extend(route_methods)
        if "GET" in methods:
            methods.append("HEAD")
        res = error_response(405)
        res.headers["Allow"] = ",".join(sorted(methods))
        return res

    def login_failed(self, request):
        for callback in self.on_login_failure:
            callback(request)

    def login_succeeded(self, request):
        for callback in self.on_login_success:
            callback(request)

    async def handle_request(self, reader, writer):
        if self.connections >= self.max_connections:
            await _refuse(reader, writer)
            return
        self.connections += 1
        try:
            await self._serve(reader, writer)
        finally:
            self.connections -= 1

    async def _serve(self, reader, writer):
        head = _HeadReader(reader)
        try:
            req = await asyncio.wait_for(
                Request.create(self, head, writer, writer.get_extra_info("peername")),
                self.idle_timeout)
        except asyncio.TimeoutError:
            await _close(writer)
            return
        except Exception as exc:  # malformed request line or headers: 400
            _log.debug("bad request from {}: {!r}".format(peer_address(writer), exc))
            req = None
        if req is not None:
            req.g.remote = peer_address(writer)
            req.g.header_counts = head.counts
        try:
            res = await self.dispatch_request(req)
            if res is not Response.already_handled:
                if res.reason is None:
                    res.reason = REASONS.get(res.status_code, "Unknown")
                await res.write(writer)
        except OSError:
            pass  # the client went away
        except Exception as exc:  # a bug in a layer or a body: this connection only, not the server
            _log.error("{} {} failed: {!r}".format(req.method if req else "-", req.path if req else "-", exc))
        if req is None or req.content_length > Request.max_body_length:
            await _discard(reader, self.max_discard)
        await _close(writer)

    async def dispatch_request(self, req):
        res = None
        for layer in self.layers if req is not None else ():
            res = await layer.before(req)
            if res is not None:
                break
        if res is None:
            res = await super().dispatch_request(req)
        if res is not Response.already_handled:
            for layer in self.layers:
                layer.after(req, res)
        return res


async def _not_found(request):
    return error_response(404)


_REFUSED = ("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
            + "".join("{}: {}\r\n".format(n, v) for n, v in SECURITY_HEADERS) + "\r\n").encode()


async def _refuse(reader, writer):
    try:
        await writer.awrite(_REFUSED)
    except OSError:
        pass
    await _discard(reader, 4096)
    await _close(writer)


async def _discard(reader, limit):
    """Read and drop up to `limit` bytes while the client keeps sending."""
    try:
        while limit > 0:
            # Small reads: a 4 KiB block is often more than a board's
            # fragmented heap has in one piece.
            data = await asyncio.wait_for(reader.read(min(limit, _HeadReader.chunk)), 0.5)
            if not data:
                break
            limit -= len(data)
    except (asyncio.TimeoutError, OSError, ValueError):
        pass


async def _close(writer):
    try:
        await writer.aclose()
    except OSError:
        pass


def abort(writer, task=None):
    """Close a connection now, dropping unsent data, and end `task`, which
    may be blocked writing to it (a client that stopped reading).

    CPython: close() would wait for the client to take the buffered bytes;
    transport.abort() also fails the blocked write. MicroPython: closing a
    socket does not wake a write blocked on it and Stream.close() does
    nothing, so the task is cancelled and the socket closed by aclose()."""
    transport = getattr(writer, "transport", None)
    if transport is not None:
        transport.abort()
        return
    if task is not None:
        task.cancel()
    asyncio.create_task(_close(writer))
