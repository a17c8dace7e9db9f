"""JSON that comes from outside (request bodies, WebSocket messages, device
payloads, serial lines), read the same way on both runtimes before anything
is stored or delivered:

- strict UTF-8 (`compat.decode`);
- at most `MAX_DEPTH` levels of arrays and objects. CPython's json raises
  RecursionError past about a thousand; MicroPython's parses thousands of
  levels, but then json.dumps cannot write them back, so every later answer
  holding the value would fail. The text is scanned before it is parsed, so a
  deep one costs no memory either;
- an escaped surrogate pair (`\\ud83d\\ude00`, as encoders that escape
  non-ASCII write it) is the one character it encodes: MicroPython's json
  would keep each half as a code point of its own, which is not UTF-8. A
  lone escaped surrogate is refused.

Each problem is a ValueError, whose text says which it is."""
import json

from ugate.base import compat

#: Arrays and objects nested deeper than this are refused. Home Assistant's
#: state attributes and service data are a few levels deep, and a board's C
#: stack must hold json.dumps of a value inside the event that carries it.
MAX_DEPTH = 20


def loads(data):
    """The JSON value in `data` (bytes or str); ValueError when it is not
    UTF-8, not JSON, nested deeper than MAX_DEPTH or escapes a lone
    surrogate."""
    text = data
    if not isinstance(data, str):
        try:
            text = compat.decode(data)
        except UnicodeError:
            raise ValueError("not UTF-8")
    if text.count("[") + text.count("{") > MAX_DEPTH:
        check_depth(text)
    if "\\ud" in text or "\\uD" in text:
        data = _join_surrogates(text)
    elif text[:1] == "\ufeff":  # json reads a BOM in bytes (CPython), not in text
        data = text
    # Bytes are parsed as they are, the text let go: a body is not held
    # three times at once (bytes, text, parsed) on a board's small heap.
    text = None
    try:
        return json.loads(data)
    except (ValueError, RuntimeError):  # RuntimeError: CPython's RecursionError
        raise ValueError("invalid JSON")


def check_depth(text):
    """ValueError when arrays and objects in `text` nest deeper than
    MAX_DEPTH (brackets inside strings do not count)."""
    depth = 0
    in_string = escaped = False
    # Over UTF-8 bytes (compat.only says why); no byte of a non-ASCII
    # character is a quote, backslash or bracket.
    for c in text.encode():
        if in_string:
            if escaped:
                escaped = False
            elif c == 92:  # \
                escaped = True
            elif c == 34:  # "
                in_string = False
        elif c == 34:
            in_string = True
        elif c == 91 or c == 123:  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError("JSON nested deeper than {} levels".format(MAX_DEPTH))
        elif c == 93 or c == 125:  # ] }
            depth -= 1


def _hex4(text, i):
    code = text[i:i + 4]
    if len(code) == 4 and compat.only(code, compat.HEX):
        return int(code, 16)
    return None


def _utf8(code):
    """The character `code` (beyond U+FFFF), as chr(code) but not interned
    (chr() interns on MicroPython: compat.only says why that matters)."""
    return bytes((0xF0 | code >> 18, 0x80 | code >> 12 & 63, 0x80 | code >> 6 & 63, 0x80 | code & 63)).decode()


def _join_surrogates(text):
    """`text` with each escaped surrogate pair written as its character;
    ValueError for a lone one. Only escapes count: a backslash always
    starts one (outside strings json.loads refuses it anyway)."""
    out = []
    start = 0
    i = text.find("\\")
    while i >= 0:
        end = i + 2
        if text[i + 1:i + 2] == "u":
            code = _hex4(text, i + 2)
            end = i + 6
            if code is not None and 0xD800 <= code <= 0xDFFF:
                low = _hex4(text, i + 8) if text[i + 6:i + 8] == "\\u" else None
                if code > 0xDBFF or low is None or not 0xDC00 <= low <= 0xDFFF:
                    raise ValueError("a lone surrogate is not text")
                out.append(text[start:i])
                out.append(_utf8(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                start = end = i + 12
        i = text.find("\\", end)
    if not out:
        return text
    out.append(text[start:])
    return "".join(out)
