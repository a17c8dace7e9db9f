"""JSON written piece by piece. A list of many states serialised at once
needs one contiguous block of memory, which a fragmented board heap often
does not have (GET /api/states failed from ~40 entities on MicroPython);
one item at a time always fits."""
import json


class Streamed:
    """An object too large to build as one string (e.g. a message holding
    many states): `head` is the object with None in its last field, whose
    JSON the iterator `tail` yields instead, a piece at a time."""

    def __init__(self, head, tail):
        self.head = head
        self.tail = tail

    def __iter__(self):
        yield json.dumps(self.head)[:-len("null}")]
        yield from self.tail
        yield "}"


def pieces(value, encode=json.dumps):
    """The JSON text of `value` as pieces: a Streamed one's, else one."""
    return value if isinstance(value, Streamed) else (encode(value),)


def array(items, encode=json.dumps):
    """The JSON text of a list, as pieces: each item's (a Streamed item's
    pieces) and the separators, never joined here (an item's text may be
    kept, e.g. a state's, and is handed out as it is); `items` may be a
    generator, so each is built only when written."""
    sep = "["
    for item in items:
        yield sep
        if isinstance(item, Streamed):
            yield from item
        else:
            yield encode(item)
        sep = ","
    yield "[]" if sep == "[" else "]"


def members(pairs, encode=json.dumps):
    """The JSON text of an object, as one chunk per (key, value) pair."""
    sep = "{"
    for key, value in pairs:
        yield sep + json.dumps(key) + ":" + encode(value)
        sep = ","
    yield "{}" if sep == "{" else "}"
