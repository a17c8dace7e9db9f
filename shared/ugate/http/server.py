"""The Microdot application ugate serves: HTTP/1.1 connections kept alive,
their limits, and a stack of layers run around every request, like Home
Assistant's http middlewares.

A layer is an object with `async before(request)`, which may answer the
request itself by returning a Response, and `after(request, response)`, which
may change the response. Layers run in list order before the route, in the
same order after it. `after` sees every response, with request None for one
that could not be parsed (400, 431).

Microdot's own connection loop answers one request in HTTP/1.0 and closes;
this one keeps the connection for the next request when the client allows
it, which Home Assistant's clients (aiohttp, the companion apps) expect.
"""
import asyncio

from microdot import Microdot, Request, Response
from microdot.microdot import NoCaseDict

from ugate.base import compat, log
from ugate.http.headers import SECURITY_HEADERS
from ugate.http.responses import REASONS, error_response

_log = log.get("http")

# setsockopt(IPPROTO_TCP, TCP_NODELAY): the same numbers on Linux and lwIP;
# MicroPython's socket module does not name them.
_IPPROTO_TCP, _TCP_NODELAY = 6, 1


def remote(request):
    """The client address after X-Forwarded-For processing."""
    return request.g.remote


def header_count(request, name):
    """How many times the header `name` (lowercase) came in the request:
    Microdot's header dict keeps only the last of repeated headers."""
    return request.g.header_counts.get(name, 0)


class BadHead(Exception):
    """A request head that is refused with `status` (400, or 431 when it
    has too many header lines or bytes)."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


class _HeadReader:
    """A connection's input as the server and Microdot read it. The head of
    each request is read in chunks up to its blank line, never more than
    the server's bounds in memory (MicroPython's readline has no bound);
    what was read past it (a body, the next request) is handed out first."""
    chunk = 512

    def __init__(self, reader):
        self.reader = reader
        self.buf = b""

    async def head(self, server):
        """The next request head as a list of lines (bytes, without line
        ends); None when the client closed the connection before sending
        one. BadHead when it breaks a bound."""
        buf = self.buf
        while True:
            end = buf.find(b"\n\r\n")
            skip = 3
            if end < 0:
                end = buf.find(b"\n\n")
                skip = 2
            if end >= 0:
                break
            if len(buf) > server.max_head_bytes:
                raise BadHead(431, "head over {} bytes".format(server.max_head_bytes))
            if len(buf) - buf.rfind(b"\n") > Request.max_readline:
                raise BadHead(400, "line too long")
            data = await self.reader.read(self.chunk)
            if not data:
                if buf.strip():
                    raise BadHead(400, "head cut short")
                return None
            buf += data
            self.buf = buf
        self.buf = buf[end + skip:]
        if end > server.max_head_bytes:
            raise BadHead(431, "head over {} bytes".format(server.max_head_bytes))
        lines = buf[:end + 1].split(b"\n")
        lines.pop()  # the empty end of the last line
        if len(lines) > server.max_header_lines + 1:
            raise BadHead(431, "more than {} header lines".format(server.max_header_lines))
        for line in lines:
            if len(line) > Request.max_readline:
                raise BadHead(400, "line too long")
        return lines

    async def read(self, n=-1):
        if not self.buf:
            return await self.reader.read(n)
        if n < 0:  # everything up to the end of input
            data, self.buf = self.buf, b""
            return data + await self.reader.read(-1)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def readline(self, limit):
        """One line with its end; ValueError past `limit` bytes or when the
        input ends first (a chunked body's size and trailer lines)."""
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("line too long")
            data = await self.reader.read(self.chunk)
            if not data:
                raise ValueError("cut short")
            self.buf += data
        end = self.buf.index(b"\n") + 1
        if end > limit:
            raise ValueError("line too long")
        line, self.buf = self.buf[:end], self.buf[end:]
        return line

    async def readexactly(self, n):
        data = self.buf[:n]
        self.buf = self.buf[len(data):]
        if len(data) < n:
            data += await self.reader.readexactly(n - len(data))
        return data

    def __getattr__(self, name):
        return getattr(self.reader, name)


def parse_head(server, lines, sock, client_addr):
    """A Request (body not read yet) from the head's lines; BadHead(400)
    when they are not HTTP. Header names are counted and kept lowercase
    (Microdot's NoCaseDict finds them in any case)."""
    try:
        method, url, version = lines[0].decode().split()
        if not version.startswith("HTTP/"):
            raise ValueError(version)
        headers = {}
        counts = {}
        for line in lines[1:]:
            name, value = line.decode().split(":", 1)
            name = name.strip().lower()
            headers[name] = value.strip()
            counts[name] = counts.get(name, 0) + 1
        req = Request(server, client_addr, method, url, version[5:], NoCaseDict(headers),
                      body=b"", sock=sock)
    except (ValueError, UnicodeError) as exc:
        raise BadHead(400, repr(exc))
    if req.content_length < 0:
        raise BadHead(400, "negative Content-Length")
    req.g.header_counts = counts
    req.g.body_read = False
    return req


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


def no_delay(writer):
    """Send small writes at once (TCP_NODELAY). Without it a WebSocket
    answer written as header and payload waits for the client's delayed ACK
    (40 ms on Linux) on MicroPython; CPython's asyncio sets it already."""
    sock = getattr(writer, "s", None) or writer.get_extra_info("socket")
    try:
        sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except (AttributeError, OSError, TypeError):
        pass  # TLS sockets on MicroPython, stacks without the option


class Connection:
    """One client connection as the server tracks it: idle since `since`
    (ticks_ms; None while a request is being answered), writing since
    `writing` (None when not), how many requests it had."""

    def __init__(self, writer, reserved):
        self.writer = writer
        self.remote = peer_address(writer)
        self.task = asyncio.current_task()
        self.reserved = reserved
        self.since = compat.ticks_ms()
        self.writing = None
        self.requests = 0
        self.closed = False

    def close(self):
        """End the connection now, wherever its task is waiting."""
        self.closed = True
        abort(self.writer, self.task)


async def _read_chunked(stream, limit):
    """A body sent with `Transfer-Encoding: chunked` (as clients that stream
    a body do), joined; ValueError("too large") past `limit` bytes, another
    ValueError when it is not chunked encoding. Trailers are read and
    dropped. The connection is closed after the answer all the same."""
    parts, size = [], 0
    while True:
        line = await stream.readline(Request.max_readline)
        try:
            n = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ValueError("bad chunk size")
        if n < 0:
            raise ValueError("bad chunk size")
        if n == 0:
            break
        size += n
        if size > limit:
            raise ValueError("too large")
        parts.append(await stream.readexactly(n))
        if await stream.readexactly(2) != b"\r\n":
            raise ValueError("bad chunk end")
    while (await stream.readline(Request.max_readline)).strip():
        pass  # trailer fields
    return b"".join(parts)


class Server(Microdot):
    #: Simultaneous connections served; when all are taken, the one idle
    #: longest (no complete request yet, or waiting between requests) is
    #: closed for a newcomer, and without one the newcomer gets 503.
    max_connections = 64
    #: Seconds a client may take to send a request (line, headers, body)
    #: on a new connection.
    idle_timeout = 30
    #: Seconds a kept-alive connection may wait for its next request.
    keepalive_timeout = 60
    #: Requests answered on one connection before it is closed.
    max_keepalive_requests = 1000
    #: Seconds one write of an answer may take (a client that does not read).
    write_timeout = 30
    #: Header lines and bytes of one request head; more get 431.
    max_header_lines = 100
    max_head_bytes = 32 * 1024
    #: Bodies up to this size are read before the route and credentials are
    #: checked; a larger body is read only for a route that exists and a
    #: request whose credentials `body_gates` accept.
    max_unchecked_body = 1024
    #: Connections beyond `max_connections` kept for requests that `reserved`
    #: accepts (Hono's settle calls: the devices they settle hold the
    #: other slots while they wait).
    reserved_slots = 1
    #: Bytes of an answer's body gathered into one write (a board's heap
    #: may not have a larger block in one piece).
    write_bytes = 32 * 1024
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
        self.open_connections = []
        self.stopping = False
        #: Called with (request) for each request with invalid credentials,
        #: and for each successful WebSocket login; the ban layer counts them.
        self.on_login_failure = []
        self.on_login_success = []
        #: (path prefix, async check(request) -> refusal Response or None)
        #: run before a body over `max_unchecked_body` is read; the first
        #: prefix that matches decides, `default_body_gate` when none does.
        self.body_gates = []
        self.default_body_gate = None
        #: Predicates (request -> bool): the requests a reserved slot serves.
        self.reserved = []
        # Home Assistant's web server (aiohttp) answers unknown paths and
        # methods with plain text and, for 405, the methods the path takes.
        self.errorhandler(404)(_not_found)
        self.errorhandler(405)(self._method_not_allowed)

    @property
    def connections(self):
        return len(self.open_connections)

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

    def shutdown(self):
        self.stopping = True
        for conn in list(self.open_connections):
            if conn.since is not None:  # waiting for a request: nothing is lost
                conn.close()
        super().shutdown()

    def close_connections(self):
        """End every connection now, busy or not: on a restart, streams and
        WebSocket clients reconnect to the gateway that follows."""
        for conn in list(self.open_connections):
            conn.close()

    # Connections: admission, timeouts.

    def _admit(self, writer):
        """A Connection for a newcomer, or None when every slot is busy."""
        conns = self.open_connections
        reserved = False
        if len(conns) >= self.max_connections:
            victim = self._idlest()
            if victim is not None:
                self._drop(victim)
            elif sum(1 for c in conns if c.reserved) < self.reserved_slots:
                reserved = True
            else:
                return None
        conn = Connection(writer, reserved)
        conns.append(conn)
        return conn

    def _idlest(self):
        """The connection to close for a newcomer: idle, from the address
        holding the most connections (one client cannot crowd out the
        others), idle longest among those."""
        idle = [c for c in self.open_connections if c.since is not None and not c.closed]
        if not idle:
            return None
        shares = {}
        for c in idle:
            shares[c.remote] = shares.get(c.remote, 0) + 1
        most = max(shares.values())
        now = compat.ticks_ms()
        return max((c for c in idle if shares[c.remote] == most),
                   key=lambda c: compat.ticks_diff(now, c.since))

    def _drop(self, conn):
        if conn in self.open_connections:
            self.open_connections.remove(conn)
        if not conn.closed:
            conn.close()

    async def start_server(self, *args, **kwargs):
        # One task for the server's life, made before any request: a task
        # made and ended with each burst of connections would be left in
        # the holes of a board's heap that requests need whole.
        sweeper = asyncio.create_task(self._sweep())
        try:
            return await super().start_server(*args, **kwargs)
        finally:
            sweeper.cancel()

    async def _sweep(self):
        """Close connections past their idle or write timeout, twice a
        second (one task, not a timer per request)."""
        while True:
            await asyncio.sleep(0.5)
            if self.open_connections:
                now = compat.ticks_ms()
                for conn in list(self.open_connections):
                    if conn.since is not None:
                        limit = self.keepalive_timeout if conn.requests else self.idle_timeout
                        late = compat.ticks_diff(now, conn.since) > limit * 1000
                    else:
                        late = (conn.writing is not None and
                                compat.ticks_diff(now, conn.writing) > self.write_timeout * 1000)
                    if late:
                        self._drop(conn)

    async def handle_request(self, reader, writer):
        no_delay(writer)
        conn = self._admit(writer)
        try:
            if conn is None:
                await _refuse(reader, writer)
            else:
                await self._serve(conn, _HeadReader(reader), writer)
            await _close(writer)
        except asyncio.CancelledError:
            # Closed for a newcomer or past a timeout, or the gateway stops
            # (CPython's loop would log each cancelled connection as an error).
            if not (self.stopping or conn is not None and conn.closed):
                raise
        finally:
            if conn is not None:
                self._drop(conn)

    async def _serve(self, conn, head, writer):
        while True:
            try:
                lines = await head.head(self)
                if lines is None or conn.closed:
                    return  # the client closed between requests, or was closed
                req = parse_head(self, lines, (head, writer), writer.get_extra_info("peername"))
            except BadHead as exc:
                if not conn.closed:
                    _log.debug("bad request from {}: {}".format(conn.remote, exc))
                    await self._answer_early(conn, head, writer, exc.status)
                return
            except OSError:
                return
            req.g.remote = conn.remote
            req.g.connection = conn
            conn.requests += 1
            if conn.reserved and not any(accepts(req) for accepts in self.reserved):
                await self._answer_early(conn, head, writer, 503)
                return
            keep = (not self.stopping and conn.requests < self.max_keepalive_requests
                    and wants_keep_alive(req) and "Transfer-Encoding" not in req.headers)
            try:
                res = await self.dispatch_request(req)
                if res is Response.already_handled:
                    return  # a WebSocket: the connection was its
                if req.content_length and not req.g.body_read:
                    keep = False  # its body is still on the wire
                keep = await self._write(conn, req, res, writer, keep)
            except OSError:
                return  # the client went away
            except Exception as exc:  # a bug in a layer or a body: this connection only, not the server
                _log.error("{} {} failed: {!r}".format(req.method, req.path, exc))
                return
            if not keep:
                if (req.content_length or "Transfer-Encoding" in req.headers) and not req.g.body_read:
                    await _discard(head, self.max_discard)
                return
            # Nothing of this request stays alive while the connection waits.
            req = res = None
            conn.since = compat.ticks_ms()

    async def _answer_early(self, conn, head, writer, status):
        """Answer `status` without dispatching (a head that cannot be
        parsed, a request a reserved connection does not serve); the
        connection then ends."""
        conn.since = None
        res = error_response(status)
        if status == 503:
            res.headers["Retry-After"] = "1"
        for layer in self.layers:
            layer.after(None, res)
        try:
            await self._write(conn, None, res, writer, False)
        except OSError:
            pass
        await _discard(head, self.max_discard)

    # Requests.

    async def dispatch_request(self, req):
        res = None
        if req is not None:
            for layer in self.layers:
                res = await layer.before(req)
                if res is not None:
                    break
            if res is None:
                res = await self._read_body(req)
            req.g.connection.since = None  # a complete request: busy, not idle
        if res is None:
            res = await super().dispatch_request(req)
        if res is not Response.already_handled:
            for layer in self.layers:
                layer.after(req, res)
        return res

    async def _read_body(self, req):
        """Read the request's body (`req.g.body_read`), unless it is over
        the limit (Microdot answers 413), or is large and the route does not
        exist (404/405 follow) or a body gate refuses it (its answer)."""
        chunked = "chunked" in req.headers.get("Transfer-Encoding", "").lower()
        n = req.content_length
        if n > Request.max_body_length:
            return None
        if chunked or n > self.max_unchecked_body:  # a chunked body's size is not known yet
            if not callable(self.find_route(req)[0]):
                return None
            gate = self.default_body_gate
            for prefix, check in self.body_gates:
                if req.path.startswith(prefix):
                    gate = check
                    break
            refusal = await gate(req) if gate is not None else None
            if refusal is not None:
                return refusal
        if n or chunked:
            stream, writer = req.sock
            if req.headers.get("Expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            if chunked:
                try:
                    req._body = await _read_chunked(stream, Request.max_body_length)
                except (ValueError, EOFError) as exc:  # EOFError: the body was cut short
                    return error_response(413 if str(exc) == "too large" else 400)
                req.content_length = len(req._body)
            else:
                req._body = await stream.readexactly(n)
        req.g.body_read = True
        return None

    # Answers.

    async def _write(self, conn, req, res, writer, keep):
        """Write the answer; returns whether the connection may be kept for
        another request. The head goes out with the body, or its first
        piece (see `_send`). A body of unknown length is sent chunked, or
        delimited by closing the connection for an HTTP/1.0 client, a
        stream (server-sent events) and a HEAD request's."""
        if res.reason is None:
            res.reason = REASONS.get(res.status_code, "Unknown")
        res.complete()
        headers = res.headers
        if isinstance(res.body, bytearray) and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(res.body))
        body = res.body
        version = "1.1" if req is not None and req.http_version == "1.1" else "1.0"
        streaming = hasattr(body, "__anext__")
        chunked = False
        if streaming:
            keep = False
        elif "Content-Length" not in headers:
            if keep and version == "1.1":
                chunked = True
                headers["Transfer-Encoding"] = "chunked"
            else:
                keep = False
        if keep:
            if version == "1.0":
                headers["Connection"] = "keep-alive"
        else:
            headers["Connection"] = "close"
        parts = ["HTTP/{} {} {}\r\n".format(version, res.status_code, res.reason)]
        for name, value in headers.items():
            for value in value if isinstance(value, list) else (value,):
                parts.append("{}: {}\r\n".format(name, value))
        parts.append("\r\n")
        data = "".join(parts).encode()
        if res.is_head:
            await self._send(conn, writer, (data,))
            return keep
        if isinstance(body, (bytes, bytearray)):
            await self._send(conn, writer, (data, body))
            return keep
        if streaming:
            await self._send(conn, writer, (data,))
            try:
                async for piece in body:
                    await self._send(conn, writer, (piece,))
            finally:
                if hasattr(body, "aclose"):
                    await body.aclose()
            return keep
        try:
            await self._write_pieces(conn, writer, data,
                                     _file_pieces(body, self.write_bytes) if hasattr(body, "read") else body,
                                     chunked)
        finally:
            if hasattr(body, "close"):
                body.close()
        return keep

    async def _write_pieces(self, conn, writer, head, pieces, chunked):
        """Write the head, then the pieces (text or bytes) gathered into
        writes of at most write_bytes (a larger piece goes alone): each
        write is a system call, and a body may come in many small pieces.
        The head goes out with the first write, the end of a chunked body
        with the last."""
        batch, size = [], 0
        for piece in pieces:
            if not piece:
                continue
            if batch and (size + len(piece) > self.write_bytes
                          or isinstance(piece, str) != isinstance(batch[0], str)):
                head = await self._flush(conn, writer, head, batch, chunked, False)
                batch, size = [], 0
            batch.append(piece)
            size += len(piece)
        await self._flush(conn, writer, head, batch, chunked, True)

    async def _flush(self, conn, writer, head, batch, chunked, last):
        parts = [head] if head else []
        if batch:
            try:
                # Text pieces are joined, then encoded once.
                joined = [batch[0] if len(batch) == 1 else ("" if isinstance(batch[0], str) else b"").join(batch)]
            except MemoryError:
                # A fragmented board heap may have the bytes free but not in
                # one block of write_bytes: the pieces go one by one.
                joined = batch
            for data in joined:
                if isinstance(data, str):
                    data = data.encode()
                if chunked:
                    parts.extend(("{:x}\r\n".format(len(data)).encode(), data, b"\r\n"))
                else:
                    parts.append(data)
        if last and chunked:
            parts.append(b"0\r\n\r\n")
        if parts:
            await self._send(conn, writer, parts)
        return b""

    async def _send(self, conn, writer, parts):
        """Write the byte strings `parts` as one write where the runtime
        can (CPython joins them; MicroPython sends each as it comes, which
        spares a board's heap a block the size of them all)."""
        conn.writing = compat.ticks_ms()
        if hasattr(writer, "writelines"):
            writer.writelines(parts)
        else:
            for part in parts:
                writer.write(part)
        # MicroPython's write sends at once what the socket takes and keeps
        # the rest in `out_buf`; its drain() yields to the scheduler even
        # when nothing is left (a round of the event loop per write).
        # CPython's drain returns at once below the high-water mark.
        if getattr(writer, "out_buf", True):
            await writer.drain()
        conn.writing = None


def _file_pieces(body, size):
    while True:
        piece = body.read(size)
        if not piece:
            return
        yield piece


def wants_keep_alive(req):
    """HTTP/1.1 unless the client says `Connection: close`; HTTP/1.0 only
    when it says `Connection: keep-alive`."""
    tokens = req.headers.get("Connection", "").lower()
    if req.http_version == "1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


async def _not_found(request):
    return error_response(404)


_REFUSED = ("HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
            "Connection: close\r\n"
            + "".join("{}: {}\r\n".format(n, v) for n, v in SECURITY_HEADERS) + "\r\n").encode()


async def _refuse(reader, writer):
    try:
        writer.write(_REFUSED)
        await writer.drain()
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
            data = await asyncio.wait_for(reader.read(min(limit, 512)), 0.5)
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
    if task is not None and task is not asyncio.current_task():
        task.cancel()
    asyncio.create_task(_close(writer))
