"""The people who sign in with a username and password (Home Assistant's
`homeassistant` auth provider), in `<config>/users.json`, owner-only.

The first user is the owner, the same person as the owner of the
long-lived tokens in auth.json (and with the same id when auth.json came
first). Passwords are stored only
as PBKDF2-HMAC-SHA256 hashes in the format Django uses,
`pbkdf2_sha256$<iterations>$<salt>$<base64 key>`, which both runtimes
verify: a config directory moves between a PC and a board. The file is
re-read when the `ugate user` command changes it.
"""
from ugate.base import compat, dates, log, store
from ugate.base.watched import WatchedFile

_log = log.get("users")

ALGORITHM = "pbkdf2_sha256"
#: Iterations of a new hash: NIST SP 800-63B's minimum for PBKDF2, and what
#: a board checks in about a second or two (see the README).
ITERATIONS = 10000
#: A hash asking for more is refused: a board would spend minutes on it.
MAX_ITERATIONS = 1000000
MAX_NAME = 64
MAX_PASSWORD = 1024
#: What an unknown username is checked against, so it costs what a known
#: one does and the answer's time tells nothing.
_NOBODY = "{}${}${}$".format(ALGORITHM, ITERATIONS, "0" * 32)

_UNREADABLE = (ValueError, OSError)


class UserError(ValueError):
    pass


def normalize(username):
    """How a username is compared: surrounding spaces dropped and ASCII
    letters lowercased, the same on both runtimes (MicroPython's lower()
    knows ASCII only)."""
    # On UTF-8 bytes (compat.only says why): an ASCII capital is one byte,
    # and no byte of another character is one.
    return bytes(b + 32 if 65 <= b <= 90 else b for b in username.strip().encode()).decode()


def _printable(text, what, limit):
    if not isinstance(text, str) or not text.strip():
        raise UserError("the {} must not be empty".format(what))
    if len(text) > limit:
        raise UserError("the {} is longer than {} characters".format(what, limit))
    if any(b < 32 or b == 127 for b in text.encode()):  # bytes: compat.only says why
        raise UserError("the {} holds control characters".format(what))


def _read(path):
    data = store.read_json(path, None)
    if data is None:
        return {"users": []}
    ok = isinstance(data, dict) and isinstance(data.get("users"), list)
    for u in data["users"] if ok else ():
        ok = ok and isinstance(u, dict) and all(
            isinstance(u.get(k), str) for k in ("id", "name", "username", "password"))
    if not ok:
        raise ValueError("not a users file")
    return data


async def hash_password(password):
    from ugate.base import pbkdf2  # only where passwords are made or checked
    if not isinstance(password, str) or not password:
        raise UserError("the password must not be empty")
    if len(password) > MAX_PASSWORD:
        raise UserError("the password is longer than {} characters".format(MAX_PASSWORD))
    salt = compat.token_hex(16)
    key = await pbkdf2.derive_async(password.encode(), salt.encode(), ITERATIONS)
    return "{}${}${}${}".format(ALGORITHM, ITERATIONS, salt, compat.b64encode(key).decode())


async def check_password(password, encoded):
    """Whether `password` matches the stored hash `encoded`."""
    from ugate.base import pbkdf2
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM or not compat.digits(parts[1]) \
            or not 0 < int(parts[1]) <= MAX_ITERATIONS:
        _log.error("a stored password hash is not {} with at most {} iterations".format(
            ALGORITHM, MAX_ITERATIONS))
        return False
    key = await pbkdf2.derive_async(password.encode(), parts[2].encode(), int(parts[1]))
    return compat.equal(compat.b64encode(key).decode(), parts[3])


class Users:
    def __init__(self, config_dir, tokens):
        self.path = store.join(config_dir, "users.json")
        #: The long-lived token store: its owner id is the first user's.
        self.tokens = tokens
        self._file = WatchedFile(self.path, _read, _UNREADABLE, self._bad_edit)

    def _bad_edit(self, exc):
        _log.error("{} is unreadable ({}); keeping the users read before".format(self.path, exc))

    def _load(self):
        try:
            return self._file.content()
        except _UNREADABLE as exc:  # the first read only
            raise UserError("{}: unreadable ({})".format(self.path, exc))

    def all(self):
        return self._load()["users"]

    def get(self, user_id):
        for u in self.all():
            if u["id"] == user_id:
                return u
        return None

    def owner(self):
        for u in self.all():
            if u.get("is_owner"):
                return u
        return None

    def find(self, username, data=None):
        wanted = normalize(username)
        for u in (data or self._load())["users"]:
            if u["username"] == wanted:
                return u
        return None

    async def create(self, name, username, password):
        """Add a user (the first one is the owner); returns it."""
        _printable(name, "name", MAX_NAME)
        _printable(username, "username", MAX_NAME)
        self._unused(username)
        encoded = await hash_password(password)

        def add(data):  # the file as it is now: hashing took a while
            if self.find(username, data) is not None:
                raise UserError("a user named '{}' exists already".format(normalize(username)))
            first = not data["users"]
            user = {"id": self.tokens.owner.id if first else compat.token_hex(16),
                    "name": name.strip(), "username": normalize(username), "password": encoded,
                    "is_owner": first, "created_at": dates.iso(compat.now_us())}
            data["users"].append(user)
            return user
        return self._update(add)

    async def set_password(self, username, password):
        self._existing(username)
        encoded = await hash_password(password)

        def change(data):  # the file as it is now: hashing took a while
            self._existing(username, data)["password"] = encoded
        self._update(change)

    def remove(self, username):
        def change(data):
            user = self._existing(username, data)
            if user.get("is_owner"):
                raise UserError("the owner cannot be removed (ugate user password changes the password)")
            data["users"] = [u for u in data["users"] if u["id"] != user["id"]]
        self._update(change)

    def _update(self, change):
        """`change(data)` applied to the file as it is now, one writer at a
        time across processes (`ugate user`, the gateway)."""
        try:
            return self._file.update(change)
        except UserError:
            raise
        except _UNREADABLE as exc:
            raise UserError("{}: unreadable ({})".format(self.path, exc))

    def _unused(self, username):
        if self.find(username) is not None:
            raise UserError("a user named '{}' exists already".format(normalize(username)))

    def _existing(self, username, data=None):
        user = self.find(username, data)
        if user is None:
            raise UserError("no user named '{}'".format(normalize(username)))
        return user

    async def check(self, username, password):
        """The user whose username and password these are, else None; an
        unknown username costs the same work as a wrong password."""
        user = self.find(username) if isinstance(username, str) else None
        if not isinstance(password, str) or len(password) > MAX_PASSWORD:
            password = ""
        ok = await check_password(password, user["password"] if user else _NOBODY)
        return user if ok and user is not None else None
