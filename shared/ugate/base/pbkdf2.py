"""PBKDF2-HMAC-SHA256 (RFC 8018), the password hash both runtimes verify.

CPython has it in `hashlib.pbkdf2_hmac` (C, fast). MicroPython has SHA-256
but neither `pbkdf2_hmac` nor `hmac`, so HMAC is built here from two SHA-256
calls and the iterations run in Python: about 21 ms per 10 000 iterations
on the unix port (x86-64). On a board that is seconds, so the async form
gives the event loop a turn every `per_turn` iterations and the gateway keeps
serving while a password is checked. Loaded only when a password is made or
checked.
"""
import asyncio
import hashlib

_BLOCK = 64  # SHA-256's block size: HMAC pads its key to it


def _pads(key):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + bytes(_BLOCK - len(key))
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


class _Derivation:
    """The iterations of one 32-byte PBKDF2 block, run a slice at a time."""

    def __init__(self, password, salt, iterations):
        self.inner, self.outer = _pads(password)
        self.u = self._hmac(salt + b"\x00\x00\x00\x01")
        self.acc = int.from_bytes(self.u, "big")
        self.left = iterations - 1

    def _hmac(self, msg):
        return hashlib.sha256(self.outer + hashlib.sha256(self.inner + msg).digest()).digest()

    def run(self, n):
        """Up to `n` more iterations; True when done."""
        n = min(n, self.left)
        u, acc, sha256, inner, outer = self.u, self.acc, hashlib.sha256, self.inner, self.outer
        for _ in range(n):
            u = sha256(outer + sha256(inner + u).digest()).digest()
            acc ^= int.from_bytes(u, "big")
        self.u, self.acc, self.left = u, acc, self.left - n
        return self.left == 0

    def result(self):
        return self.acc.to_bytes(32, "big")


def pure(password, salt, iterations):
    """The Python implementation, at once (the host's tests check it against
    hashlib's)."""
    d = _Derivation(password, salt, iterations)
    d.run(iterations)
    return d.result()


def derive(password, salt, iterations):
    """The 32-byte key of `password` and `salt` (bytes), blocking."""
    if hasattr(hashlib, "pbkdf2_hmac"):
        return hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return pure(password, salt, iterations)


#: Iterations between turns of the event loop in `derive_async` (about 1 ms
#: on the unix port, tens of ms on a board).
per_turn = 500


async def derive_async(password, salt, iterations):
    """As `derive`, letting other tasks run while it works."""
    if hasattr(hashlib, "pbkdf2_hmac"):
        return hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    d = _Derivation(password, salt, iterations)
    while not d.run(per_turn):
        await asyncio.sleep(0)
    return d.result()
