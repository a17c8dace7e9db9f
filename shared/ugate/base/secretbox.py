"""libsodium's crypto_secretbox (XSalsa20-Poly1305), as Home Assistant's
mobile_app encrypts with it: a box is the 24-byte nonce, the 16-byte
Poly1305 tag, then the ciphertext (what PyNaCl's SecretBox.encrypt gives).

PyNaCl does the work where it is installed (the host); boards have no
libsodium, so the cipher is written out here in Python from its
specifications (Bernstein's Salsa20 and XSalsa20 papers, RFC 8439 for
Poly1305). tests/test_secretbox.py holds it to PyNaCl byte for byte on
both runtimes. The words are 32 bits, kept in local variables: on a
64-bit port they are small ints; a 32-bit board makes some of them long
ints, which is slower but still well under a second for a phone's
message (see the README's figure).
"""
import struct

from ugate.base import compat

try:
    from nacl.exceptions import CryptoError as _NativeError
    from nacl.secret import SecretBox as _Native
except ImportError:  # MicroPython: the pure version below
    _Native = None

KEY_BYTES = 32
NONCE_BYTES = 24
TAG_BYTES = 16

_M = 0xFFFFFFFF
# "expand 32-byte k" as four little-endian words.
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)
_P1305 = (1 << 130) - 5
_CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF


class CryptoError(ValueError):
    """The box was not made with this key, or was changed on the way."""


def _rounds(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15):
    """Salsa20's 20 rounds (10 double rounds), unrolled for speed."""
    for _ in range(10):
        # column round
        t = (x0 + x12) & _M; x4 ^= (t << 7 | t >> 25) & _M
        t = (x4 + x0) & _M; x8 ^= (t << 9 | t >> 23) & _M
        t = (x8 + x4) & _M; x12 ^= (t << 13 | t >> 19) & _M
        t = (x12 + x8) & _M; x0 ^= (t << 18 | t >> 14) & _M
        t = (x5 + x1) & _M; x9 ^= (t << 7 | t >> 25) & _M
        t = (x9 + x5) & _M; x13 ^= (t << 9 | t >> 23) & _M
        t = (x13 + x9) & _M; x1 ^= (t << 13 | t >> 19) & _M
        t = (x1 + x13) & _M; x5 ^= (t << 18 | t >> 14) & _M
        t = (x10 + x6) & _M; x14 ^= (t << 7 | t >> 25) & _M
        t = (x14 + x10) & _M; x2 ^= (t << 9 | t >> 23) & _M
        t = (x2 + x14) & _M; x6 ^= (t << 13 | t >> 19) & _M
        t = (x6 + x2) & _M; x10 ^= (t << 18 | t >> 14) & _M
        t = (x15 + x11) & _M; x3 ^= (t << 7 | t >> 25) & _M
        t = (x3 + x15) & _M; x7 ^= (t << 9 | t >> 23) & _M
        t = (x7 + x3) & _M; x11 ^= (t << 13 | t >> 19) & _M
        t = (x11 + x7) & _M; x15 ^= (t << 18 | t >> 14) & _M
        # row round
        t = (x0 + x3) & _M; x1 ^= (t << 7 | t >> 25) & _M
        t = (x1 + x0) & _M; x2 ^= (t << 9 | t >> 23) & _M
        t = (x2 + x1) & _M; x3 ^= (t << 13 | t >> 19) & _M
        t = (x3 + x2) & _M; x0 ^= (t << 18 | t >> 14) & _M
        t = (x5 + x4) & _M; x6 ^= (t << 7 | t >> 25) & _M
        t = (x6 + x5) & _M; x7 ^= (t << 9 | t >> 23) & _M
        t = (x7 + x6) & _M; x4 ^= (t << 13 | t >> 19) & _M
        t = (x4 + x7) & _M; x5 ^= (t << 18 | t >> 14) & _M
        t = (x10 + x9) & _M; x11 ^= (t << 7 | t >> 25) & _M
        t = (x11 + x10) & _M; x8 ^= (t << 9 | t >> 23) & _M
        t = (x8 + x11) & _M; x9 ^= (t << 13 | t >> 19) & _M
        t = (x9 + x8) & _M; x10 ^= (t << 18 | t >> 14) & _M
        t = (x15 + x14) & _M; x12 ^= (t << 7 | t >> 25) & _M
        t = (x12 + x15) & _M; x13 ^= (t << 9 | t >> 23) & _M
        t = (x13 + x12) & _M; x14 ^= (t << 13 | t >> 19) & _M
        t = (x14 + x13) & _M; x15 ^= (t << 18 | t >> 14) & _M
    return (x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)


def _state(key, n0, n1, n2, n3):
    """The 16 input words: constants, the key's 8 words, 4 words of nonce
    (for Salsa20 two of nonce and two of block counter)."""
    k = struct.unpack("<8I", key)
    return (_SIGMA[0], k[0], k[1], k[2], k[3], _SIGMA[1], n0, n1, n2, n3,
            _SIGMA[2], k[4], k[5], k[6], k[7], _SIGMA[3])


def _hsalsa20(key, nonce16):
    """XSalsa20's subkey from the key and the nonce's first 16 bytes."""
    x = _rounds(*_state(key, *struct.unpack("<4I", nonce16)))
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def _keystream(key, nonce, length):
    """XSalsa20's first `length` bytes of keystream for a 24-byte nonce."""
    subkey = _hsalsa20(key, nonce[:16])
    n0, n1 = struct.unpack("<2I", nonce[16:])
    blocks = []
    for counter in range((length + 63) // 64):
        start = _state(subkey, n0, n1, counter & _M, counter >> 32)
        mixed = _rounds(*start)
        blocks.append(struct.pack("<16I", *[(a + b) & _M for a, b in zip(mixed, start)]))
    return b"".join(blocks)[:length]


def _xor(data, stream):
    if not data:
        return b""
    n = len(data)
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def _poly1305(key, message):
    r = int.from_bytes(key[:16], "little") & _CLAMP
    s = int.from_bytes(key[16:32], "little")
    acc = 0
    for i in range(0, len(message), 16):
        acc = (acc + int.from_bytes(message[i:i + 16] + b"\x01", "little")) * r % _P1305
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _check(key, nonce=None):
    if len(key) != KEY_BYTES:
        raise ValueError("the key must be {} bytes".format(KEY_BYTES))
    if nonce is not None and len(nonce) != NONCE_BYTES:
        raise ValueError("the nonce must be {} bytes".format(NONCE_BYTES))


def pure_encrypt(key, plaintext, nonce):
    """The box of `plaintext` (bytes) under `key` and `nonce`, in Python."""
    _check(key, nonce)
    stream = _keystream(key, nonce, 32 + len(plaintext))
    ciphertext = _xor(plaintext, stream[32:])
    return bytes(nonce) + _poly1305(stream[:32], ciphertext) + ciphertext


def pure_decrypt(key, box):
    """The plaintext of `box`, in Python; CryptoError when the tag does not
    match (compared in constant time)."""
    _check(key)
    if len(box) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("the box is too short")
    nonce, tag, ciphertext = box[:24], box[24:40], box[40:]
    stream = _keystream(key, nonce, 32 + len(ciphertext))
    if not compat.equal(_poly1305(stream[:32], ciphertext), tag):
        raise CryptoError("the box was not made with this key, or was changed")
    return _xor(ciphertext, stream[32:])


def encrypt(key, plaintext, nonce=None):
    """Seal `plaintext` with a fresh random nonce (or `nonce`)."""
    if nonce is None:
        nonce = compat.random_bytes(NONCE_BYTES)
    if _Native is not None:
        _check(key, nonce)
        return bytes(_Native(bytes(key)).encrypt(bytes(plaintext), bytes(nonce)))
    return pure_encrypt(key, plaintext, nonce)


def decrypt(key, box):
    """Open a box; CryptoError when it does not open with `key`."""
    if _Native is not None:
        _check(key)
        if len(box) < NONCE_BYTES + TAG_BYTES:
            raise CryptoError("the box is too short")
        try:
            return _Native(bytes(key)).decrypt(bytes(box))
        except _NativeError:
            raise CryptoError("the box was not made with this key, or was changed")
    return pure_decrypt(key, box)
