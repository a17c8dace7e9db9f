"""IPv4/IPv6 addresses and networks as integers (MicroPython has no
`ipaddress`). Used by trusted proxies, trusted networks and IP bans."""
from ugate.base import compat


def parse_address(text):
    """'10.0.0.1' or '::1' -> (version, int). Raises ValueError."""
    if not isinstance(text, str) or not text:
        raise ValueError("not an IP address")
    if ":" in text:
        return 6, _parse_v6(text)
    return 4, _parse_v4(text)


def _parse_v4(text):
    parts = text.split(".")
    if len(parts) != 4:
        raise ValueError("not an IPv4 address")
    n = 0
    for p in parts:
        if not compat.digits(p) or len(p) > 3 or int(p) > 255:
            raise ValueError("not an IPv4 address")
        n = n << 8 | int(p)
    return n


def _parse_v6(text):
    if "%" in text:  # zone index, e.g. fe80::1%eth0
        text = text.split("%", 1)[0]
    tail4 = None
    if "." in text:  # ::ffff:1.2.3.4
        head, _, v4 = text.rpartition(":")
        tail4 = _parse_v4(v4)
        text = head + ":0:0"
    if text.count("::") > 1:
        raise ValueError("not an IPv6 address")
    if "::" in text:
        left, right = text.split("::")
        left = left.split(":") if left else []
        right = right.split(":") if right else []
        missing = 8 - len(left) - len(right)
        if missing < 1:
            raise ValueError("not an IPv6 address")
        groups = left + ["0"] * missing + right
    else:
        groups = text.split(":")
    if len(groups) != 8:
        raise ValueError("not an IPv6 address")
    n = 0
    for g in groups:
        # Hex digits only: int() also takes '-1', '+f' and (CPython) '1_0'.
        if not 1 <= len(g) <= 4 or not compat.only(g, compat.HEX):
            raise ValueError("not an IPv6 address")
        n = n << 16 | int(g, 16)
    if tail4 is not None:
        n = (n & ~0xFFFFFFFF) | tail4
    return n


def parse_network(text):
    """'192.168.0.0/16', '::1' or '10.0.0.1' -> (version, network int, prefix)."""
    if not isinstance(text, str):
        raise ValueError("not a network")
    addr, _, prefix = text.partition("/")
    version, n = parse_address(addr)
    bits = 32 if version == 4 else 128
    if prefix:
        if not compat.digits(prefix) or int(prefix) > bits:
            raise ValueError("bad prefix length")
        plen = int(prefix)
    else:
        plen = bits
    mask = ((1 << plen) - 1) << (bits - plen)
    return version, n & mask, plen


def normalize(text):
    """An IPv4-mapped IPv6 peer ('::ffff:1.2.3.4') is the IPv4 address."""
    if text.startswith("::ffff:") and "." in text:
        return text[7:]
    return text


class Networks:
    """A set of networks to test addresses against."""

    def __init__(self, texts):
        self.nets = [parse_network(t) for t in texts]

    def __contains__(self, address):
        try:
            version, n = parse_address(normalize(address))
        except ValueError:
            return False
        bits = 32 if version == 4 else 128
        for v, net, plen in self.nets:
            if v == version and (n >> (bits - plen)) == (net >> (bits - plen)):
                return True
        return False
