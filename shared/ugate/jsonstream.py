"""JSON written piece by piece. A list of many states serialised at once
needs one contiguous block of memory, which a fragmented board heap often
does not have (GET /api/states failed from ~40 entities on MicroPython);
one item at a time always fits."""
import json


def array(items, encode=json.dumps):
    """The JSON text of a list, as one chunk per item (with its separator);
    `items` may be a generator, so each is built only when written."""
    sep = "["
    for item in items:
        yield sep + encode(item)
        sep = ","
    yield "[]" if sep == "[" else "]"


def members(pairs, encode=json.dumps):
    """The JSON text of an object, as one chunk per (key, value) pair."""
    sep = "{"
    for key, value in pairs:
        yield sep + json.dumps(key) + ":" + encode(value)
        sep = ","
    yield "{}" if sep == "{" else "}"
