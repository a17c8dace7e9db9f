"""The few runtime differences between MicroPython and CPython, in one place.

Everything else in the core imports what it needs from here instead of asking
which interpreter it runs on.
"""
import binascii
import gc
import hashlib
import os
import sys
import time

try:
    from collections import OrderedDict
except ImportError:  # pragma: no cover - very small boards
    from ucollections import OrderedDict  # noqa: F401

# Some MicroPython ports count seconds from 2000-01-01; Unix time starts in 1970.
EPOCH_OFFSET = 0 if time.gmtime(0)[0] == 1970 else 946684800

try:
    _time_ns = time.time_ns
except AttributeError:  # pragma: no cover - ports without time_ns
    def _time_ns():
        return int(time.time()) * 1000000000

try:
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
except AttributeError:  # CPython
    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


def heap_nearly_full(share):
    """Whether less than 1/`share` of MicroPython's heap is free, after a
    collection when it looks so (garbage counts as used until then); always
    False on CPython, which has no fixed heap."""
    mem_free = getattr(gc, "mem_free", None)
    if mem_free is None:
        return False
    total = mem_free() + gc.mem_alloc()
    if mem_free() * share >= total:
        return False
    gc.collect()
    return mem_free() * share < total


def only(text, chars):
    """Whether every character of `text` is one of `chars`. By stripping,
    not by looking at characters one by one: on MicroPython each character
    taken out of a str (iterating, indexing) is interned, and an interned
    name stays in the heap for good, so input in many scripts would fill a
    board's heap."""
    return not text.strip(chars)


#: The characters of hexadecimal numbers.
HEX = "0123456789abcdefABCDEF"


def digits(text):
    """Only ASCII digits, at least one: str.isdigit() and int() also take
    other scripts' digits on CPython ('١'), and int() takes '1_0' and ' 5'."""
    return text != "" and only(text, "0123456789")


def integer(text):
    """A decimal integer with an optional sign, as Java (Hono) reads one, or
    None: int() alone also takes '1_0' and ' 5' and, on CPython only, other
    scripts' digits."""
    return int(text) if digits(text[1:] if text[:1] in ("+", "-") else text) else None


def _lenient_utf8():
    try:
        b"\xc0\xaf".decode()  # an overlong '/'
        return True
    except UnicodeError:
        return False


#: Whether bytes.decode() here takes what UTF-8 forbids: MicroPython's takes
#: overlong forms, surrogates (ED A0 80) and code points past U+10FFFF.
LENIENT_UTF8 = _lenient_utf8()

def decode(data):
    """`data` (bytes) as text, strict UTF-8 on both runtimes; UnicodeError
    (a ValueError) otherwise. What MicroPython would let through becomes
    text that clients and files cannot read as UTF-8 any more."""
    text = data.decode()
    if LENIENT_UTF8 and len(text) != len(data):  # some bytes are not ASCII
        from ugate.base import utf8  # imported here: only MicroPython needs it
        utf8.check(data)
    return text


def now_us():
    """Wall-clock time as integer microseconds since 1970 (floats are single
    precision on many boards, so times stay integers until they are shown)."""
    return _time_ns() // 1000 + EPOCH_OFFSET * 1000000


def random_bytes(n):
    return os.urandom(n)


def hexlify(data):
    return binascii.hexlify(data).decode()


def token_hex(n):
    return hexlify(os.urandom(n))


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode()
    return hexlify(hashlib.sha256(data).digest())


def b64encode(data):
    return binascii.b2a_base64(data).strip()


def b64decode(text):
    """Standard base64; raises ValueError on bad input on both runtimes."""
    try:
        return binascii.a2b_base64(text)
    except Exception:
        raise ValueError("invalid base64")


def equal(a, b):
    """Constant-time comparison of two str or bytes secrets."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    diff = len(a) ^ len(b)
    if len(a) != len(b):
        b = a
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


# Bytes, not a str: MicroPython interns the one-character strings that
# indexing or iterating a str gives, and an interned name stays in the heap
# for good (a qstr pool grown in a fragmented heap failed with MemoryError).
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid():
    """A 26-character ULID (48-bit millisecond time + 80 random bits), the
    format of Home Assistant context ids."""
    n = (now_us() // 1000) << 80 | int.from_bytes(os.urandom(10), "big")
    out = bytearray(26)
    for i in range(25, -1, -1):
        out[i] = _CROCKFORD[n & 31]
        n >>= 5
    return out.decode()


def unload(name):
    """Forget the module `name` (a dotted name): a module stays in a board's
    heap for as long as sys.modules or its package holds it. Whatever still
    uses it keeps it until done."""
    sys.modules.pop(name, None)
    package, _, attr = name.rpartition(".")
    parent = sys.modules.get(package)
    if parent is not None and hasattr(parent, attr):
        delattr(parent, attr)
