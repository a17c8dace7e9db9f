"""Hono `hashed-password` secrets: `pwd-hash` = base64(H(salt + utf8(password)))
for `sha-256` and `sha-512`, or a bcrypt hash (`$2a$...`) for `bcrypt`.

bcrypt comes from the PyPI package on the host; MicroPython has none, and a
Python bcrypt would take minutes per check on a board, so there a bcrypt
secret is refused when the registry is loaded (`unsupported`)."""
import asyncio
import hashlib

from ugate.base import compat
from ugate.base.sha512 import sha512

try:
    import bcrypt
except ImportError:  # MicroPython: bcrypt secrets are refused at load
    bcrypt = None

FUNCTIONS = ("sha-256", "sha-512", "bcrypt")
#: Work factor of bcrypt hashes the CLI writes (Hono caps it at 10 too:
#: every check costs about 2^cost rounds).
BCRYPT_COST = 10
SALT_BYTES = 16


def _digest(function, salt, password):
    data = salt + password.encode()
    if function == "sha-512":
        return sha512(data)
    return hashlib.sha256(data).digest()


def unsupported(function):
    """Why this runtime cannot check secrets of `function`, or None."""
    if function not in FUNCTIONS:
        return "unknown hash-function {!r} (one of {})".format(function, ", ".join(FUNCTIONS))
    if function == "bcrypt" and bcrypt is None:
        return "bcrypt secrets cannot be checked on this runtime (no bcrypt module)"
    return None


def make_secret(password, function="sha-256", salt=None):
    """A secret for `password`: the hash only, never the password."""
    reason = unsupported(function)
    if reason:
        raise ValueError(reason)
    secret = compat.OrderedDict()
    secret["hash-function"] = function
    if function == "bcrypt":
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST, b"2a"))
        secret["pwd-hash"] = hashed.decode()
        return secret
    salt = compat.random_bytes(SALT_BYTES) if salt is None else salt
    secret["salt"] = compat.b64encode(salt).decode()
    secret["pwd-hash"] = compat.b64encode(_digest(function, salt, password)).decode()
    return secret


def cost(secret):
    """How costly checking `secret` is, to compare secrets: bcrypt (by its
    work factor) over SHA-512 over SHA-256."""
    function = secret.get("hash-function", "sha-256")
    if function == "bcrypt":
        rounds = secret.get("pwd-hash", "")[4:6]
        return 100 + (int(rounds) if compat.digits(rounds) else 0)
    return FUNCTIONS.index(function)


def _bcrypt_matches(password, stored):
    try:
        return bcrypt.checkpw(password.encode(), stored.encode())
    except ValueError:  # a malformed hash matches nothing
        return False


async def matches(secret, password):
    """Whether `password` (str) matches the secret; the comparison of
    digests takes the same time whatever they hold."""
    function = secret.get("hash-function", "sha-256")
    stored = secret.get("pwd-hash", "")
    if function == "bcrypt":
        # Tens of milliseconds per check, more at a high cost: in a thread,
        # so other requests go on (bcrypt exists only on the host, where
        # asyncio has threads).
        return await asyncio.to_thread(_bcrypt_matches, password, stored)
    salt = compat.b64decode(secret["salt"]) if secret.get("salt") else b""
    return compat.equal(compat.b64encode(_digest(function, salt, password)), stored.encode())
