"""IndieAuth's rules for OAuth2 clients, as Home Assistant applies them.

A client is known by its `client_id`, the URL of its home page: http or
https, no fragment, no user name or password, no `.` or `..` path segment,
a valid port, and a host that is a domain name or a local address (Home
Assistant widens IndieAuth's loopback-only rule to every private address).
A `redirect_uri` is allowed when it has the client_id's scheme and host, or
is one of the official companion apps' callbacks. Home Assistant would then
fetch the client_id page for `<link rel="redirect_uri">`; ugate does not
(a gateway may have no internet), so any other redirect_uri is refused.
"""
from ugate.base import compat, ipnet

#: The companion apps' callbacks, allowed without the client_id page.
APP_REDIRECTS = {
    "https://home-assistant.io/iOS": ("homeassistant://auth-callback",),
    "https://home-assistant.io/android": (
        "homeassistant://auth-callback",
        "https://wear.googleapis.com/3p_auth/io.homeassistant.companion.android",
        "https://wear.googleapis-cn.com/3p_auth/io.homeassistant.companion.android",
    ),
}

LOCAL_NETWORKS = ipnet.Networks(["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                 "169.254.0.0/16", "::1", "fc00::/7", "fe80::/10"])


def _first(text, marks):
    """Where the first of `marks` is in `text`, or its length."""
    found = [i for i in (text.find(m) for m in marks) if i >= 0]
    return min(found) if found else len(text)


def parse(url):
    """(scheme, netloc, path, fragment) as Python's urlparse splits a URL,
    canonicalized as IndieAuth says: lowercase scheme and host, '/' for an
    empty path."""
    scheme, rest = "", url
    colon = url.find(":")
    if colon > 0 and all(c.isalpha() or c in "+-." for c in url[:colon]):
        scheme, rest = url[:colon].lower(), url[colon + 1:]
    netloc = ""
    if rest.startswith("//"):
        end = _first(rest[2:], "/?#") + 2
        netloc, rest = rest[2:end].lower(), rest[end:]
    rest, _, fragment = rest.partition("#")
    path = rest.partition("?")[0]
    return scheme, netloc, path or "/", fragment


def _host_and_port(netloc):
    if netloc.startswith("["):
        host, _, port = netloc[1:].partition("]")
        return host, port[1:] if port.startswith(":") else port
    host, _, port = netloc.partition(":")
    return host, port


def valid_client_id(client_id):
    if not isinstance(client_id, str):
        return False
    scheme, netloc, path, fragment = parse(client_id)
    if scheme not in ("http", "https") or fragment or "@" in netloc:
        return False
    if any(segment in (".", "..") for segment in path.split("/")):
        return False
    host, port = _host_and_port(netloc)
    if port and not (compat.digits(port) and int(port) <= 65535):
        return False
    try:
        ipnet.parse_address(host)
    except ValueError:
        return bool(host)  # a domain name
    return host in LOCAL_NETWORKS


def allowed_redirect(client_id, redirect_uri):
    """Whether a client may be sent back to `redirect_uri`."""
    if not valid_client_id(client_id) or not isinstance(redirect_uri, str):
        return False
    if parse(client_id)[:2] == parse(redirect_uri)[:2]:
        return True
    return redirect_uri in APP_REDIRECTS.get(client_id, ())
