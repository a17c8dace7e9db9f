"""A small HTTP/1.1 client on asyncio streams, for the forwarders (the
gateway as a client of Home Assistant and Hono). No asyncio HTTP client is
installable for MicroPython from the registries a build uses, and one
implementation on both runtimes is one to test.

One request per connection (`Connection: close`); the answer's body is read
up to `Client.max_body_bytes`, by Content-Length, chunks or the end of the
connection. Every failure to get an answer (DNS, refused, reset, TLS, a
timeout, a malformed answer) is a ClientError: to a forwarder they all mean
"the target is unreachable now, try again later".
"""
import asyncio

from ugate.base.compat import digits


class ClientError(Exception):
    pass


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body


def split_url(url):
    """'https://host:8443/base' -> (scheme, host, port, path prefix)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError("expected an http:// or https:// URL")
    netloc, slash, path = rest.partition("/")
    host, port = netloc, 443 if scheme == "https" else 80
    if netloc.startswith("["):  # [IPv6]:port
        end = netloc.find("]")
        host, rest_port = netloc[1:end], netloc[end + 1:]
        if rest_port:
            port = _port(rest_port[1:])
    elif ":" in netloc:
        host, _, text = netloc.rpartition(":")
        port = _port(text)
    if not host:
        raise ValueError("the URL names no host")
    return scheme, host, port, (slash + path).rstrip("/")


def _port(text):
    if not digits(text) or not 0 < int(text) < 65536:
        raise ValueError("bad port in the URL")
    return int(text)


class Client:
    """Requests to one base URL (`http[s]://host[:port][/prefix]`)."""
    #: Seconds a request may take, connection and answer included.
    timeout = 10
    #: Largest answer body read; a larger one is a ClientError.
    max_body_bytes = 64 * 1024
    #: Longest status or header line of an answer.
    max_line = 4096

    def __init__(self, url, ssl_context=None):
        self.scheme, self.host, self.port, self.prefix = split_url(url)
        self.ssl = ssl_context if self.scheme == "https" else None

    async def request(self, method, path, headers=None, body=b""):
        """The Answer to `method` `prefix + path` (path already quoted)."""
        try:
            return await asyncio.wait_for(self._request(method, path, headers or {}, body),
                                          self.timeout)
        except asyncio.TimeoutError:
            raise ClientError("no answer within {} s".format(self.timeout))
        except (OSError, ValueError, IndexError) as exc:  # refused, reset, TLS, a bad answer
            raise ClientError(str(exc) or exc.__class__.__name__)

    async def _request(self, method, path, headers, body):
        if self.ssl is not None:
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl,
                                                           server_hostname=self.host)
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            head = "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n".format(
                method, self.prefix + path, self._host_header(), len(body))
            for name, value in headers.items():
                head += "{}: {}\r\n".format(name, value)
            writer.write((head + "\r\n").encode())
            if body:
                writer.write(body)
            await writer.drain()
            return await self._answer(reader)
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:  # the connection is gone already; nothing to release
                pass

    def _host_header(self):
        host = "[{}]".format(self.host) if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else "{}:{}".format(host, self.port)

    async def _line(self, reader):
        line = await reader.readline()
        if len(line) > self.max_line:
            raise ValueError("answer line too long")
        return line.decode().rstrip("\r\n")

    async def _answer(self, reader):
        status_line = await self._line(reader)
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not digits(parts[1]):
            raise ValueError("not an HTTP answer: {!r}".format(status_line[:40]))
        headers = {}
        while True:
            line = await self._line(reader)
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if len(headers) > 100:
                raise ValueError("too many header lines in the answer")
        return Answer(int(parts[1]), headers, await self._body(reader, headers))

    async def _body(self, reader, headers):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self._line(reader)).split(";")[0].strip() or "x", 16)
                if size == 0:
                    return body
                if len(body) + size > self.max_body_bytes:
                    raise ValueError("answer larger than {} bytes".format(self.max_body_bytes))
                body += await reader.readexactly(size)
                await reader.readexactly(2)  # the chunk's CRLF
        length = headers.get("content-length")
        if length is not None:
            if not digits(length) or int(length) > self.max_body_bytes:
                raise ValueError("bad or too large Content-Length in the answer")
            return await reader.readexactly(int(length)) if int(length) else b""
        body = b""
        while True:  # until the server closes the connection
            chunk = await reader.read(512)
            if not chunk:
                return body
            body += chunk
            if len(body) > self.max_body_bytes:
                raise ValueError("answer larger than {} bytes".format(self.max_body_bytes))
