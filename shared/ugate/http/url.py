"""URL path segments: as clients send them (Microdot hands out the raw path),
and as the gateway sends them when it is the client."""
from ugate.base import compat

_HEX = "0123456789abcdefABCDEF"


def unquote(text):
    """Percent-decoding of a URL path ('+' stays '+'); ValueError when an
    escape or the UTF-8 it spells is bad."""
    if "%" not in text:
        return text
    parts = text.split("%")
    out = bytearray(parts[0].encode())
    for part in parts[1:]:
        code = part[:2]
        if len(code) != 2 or code[0] not in _HEX or code[1] not in _HEX:
            raise ValueError("bad percent escape")
        out.append(int(code, 16))
        out.extend(part[2:].encode())
    try:
        return compat.decode(bytes(out))
    except UnicodeError:
        raise ValueError("not UTF-8")


def _unreserved(b):
    """RFC 3986's unreserved characters, as UTF-8 bytes: letters, digits, - . _ ~"""
    return 97 <= b <= 122 or 65 <= b <= 90 or 48 <= b <= 57 or b in (45, 46, 95, 126)


def quote(text):
    """Percent-encoding of one path segment: everything but RFC 3986's
    unreserved characters, '/' included."""
    # Byte by byte (compat.only says why not character by character): each
    # byte of a character beyond ASCII is escaped, as its own %XX.
    out = bytearray()
    for b in text.encode():
        if _unreserved(b):
            out.append(b)
        else:
            out += "%{:02X}".format(b).encode()
    return out.decode()
