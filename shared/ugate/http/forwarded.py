"""X-Forwarded-For behind a reverse proxy (ha-api.md 2.2).

The client address becomes `request.g.remote` for every layer and route after
this one (bans, login notifications). Each refusal is a 400 with a warning
that says what the proxy sent, because reverse-proxy 400s are otherwise hard
to diagnose.
"""
from ugate.base import ipnet, log
from ugate.http.responses import error_response
from ugate.http.server import header_count

_log = log.get("http.forwarded")


class Forwarded:
    def __init__(self, use_x_forwarded_for, trusted_proxies):
        self.enabled = use_x_forwarded_for
        self.proxies = ipnet.Networks(trusted_proxies)

    async def before(self, request):
        forwarded_for = request.headers.get("X-Forwarded-For")
        if forwarded_for is None:
            return None  # X-Forwarded-Proto and -Host mean nothing alone
        peer = request.g.remote
        problem = self._client(request, peer, forwarded_for)
        if problem:
            _log.warning("400 for {} {} from {}: {}".format(
                request.method, request.path, peer, problem))
            return error_response(400)
        return None

    def _client(self, request, peer, forwarded_for):
        """Set the client address, scheme and host from the headers; return
        what is wrong with them, or None."""
        if not self.enabled:
            return ("X-Forwarded-For received but use_x_forwarded_for is off "
                    "(set it and trusted_proxies to serve behind a reverse proxy)")
        if peer not in self.proxies:
            return "X-Forwarded-For received from {}, which is not in trusted_proxies".format(peer)
        if header_count(request, "x-forwarded-for") > 1:
            return "more than one X-Forwarded-For header"
        # Right to left: the proxies closest to us come last.
        chain = [part.strip() for part in forwarded_for.split(",")]
        chain.reverse()
        for address in chain:
            try:
                ipnet.parse_address(address)
            except ValueError:
                return "invalid address {!r} in X-Forwarded-For: {!r}".format(
                    address, forwarded_for)
        index = len(chain) - 1  # all trusted: the left-most is the client
        for i, address in enumerate(chain):
            if address not in self.proxies:
                index = i
                break
        client = chain[index]

        proto = request.headers.get("X-Forwarded-Proto")
        if proto is not None:
            if header_count(request, "x-forwarded-proto") > 1:
                return "more than one X-Forwarded-Proto header"
            protos = [part.strip() for part in proto.split(",")]
            protos.reverse()
            if "" in protos:
                return "empty element in X-Forwarded-Proto: {!r}".format(proto)
            if len(protos) not in (1, len(chain)):
                return ("X-Forwarded-Proto has {} elements, expected 1 or {} "
                        "(as X-Forwarded-For)".format(len(protos), len(chain)))
            request.scheme = protos[index] if len(protos) > 1 else protos[0]

        host = request.headers.get("X-Forwarded-Host")
        if host is not None:
            if header_count(request, "x-forwarded-host") > 1:
                return "more than one X-Forwarded-Host header"
            if not host.strip():
                return "empty X-Forwarded-Host header"
            request.headers["Host"] = host.strip()

        request.g.remote = client
        return None

    def after(self, request, response):
        pass
