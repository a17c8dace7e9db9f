"""Strict UTF-8 (RFC 3629), checked byte by byte where the runtime's own
decoder is lenient (MicroPython's takes overlong forms, surrogates and code
points past U+10FFFF); `compat.decode` loads it on MicroPython only."""


def _lead(b):
    """(continuation bytes, lowest and highest first continuation byte) of
    the lead byte `b`; None when `b` cannot start a character."""
    if 0xC2 <= b <= 0xDF:
        return 1, 0x80, 0xBF
    if b == 0xE0:
        return 2, 0xA0, 0xBF  # no overlong three-byte forms
    if b == 0xED:
        return 2, 0x80, 0x9F  # no surrogates
    if 0xE1 <= b <= 0xEF:
        return 2, 0x80, 0xBF
    if b == 0xF0:
        return 3, 0x90, 0xBF  # no overlong four-byte forms
    if 0xF1 <= b <= 0xF3:
        return 3, 0x80, 0xBF
    if b == 0xF4:
        return 3, 0x80, 0x8F  # nothing past U+10FFFF
    return None


def check(data):
    """UnicodeError unless the bytes `data` are UTF-8."""
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        lead = _lead(b)
        if lead is None or i + lead[0] >= n or not lead[1] <= data[i + 1] <= lead[2]:
            raise UnicodeError("invalid UTF-8")
        for j in range(i + 2, i + 1 + lead[0]):
            if not 0x80 <= data[j] <= 0xBF:
                raise UnicodeError("invalid UTF-8")
        i += 1 + lead[0]
