"""Long-lived access tokens, stored only as SHA-256 hashes in
`<config>/auth.json`.

A token is 32 random bytes, so a plain hash is enough: there is nothing to
guess. The file is re-read when the `ugate token` command changes it, so a
token created while the gateway runs works at once. A file that turns
unreadable while the gateway runs (a hand edit gone wrong) is logged and the
tokens read before are kept: the owner is neither locked out nor banned.
A token belongs to the owner, or to the user whose `user_id` it carries (one
made from the profile page), and may carry an expiry (`expires_us`);
`ugate.hub.auth` checks them with the other tokens.
"""
from ugate.base import compat, dates, log, store
from ugate.base.watched import WatchedFile

_log = log.get("tokens")

TOKEN_BYTES = 32
#: What a bad token file raises (UnicodeError is a ValueError).
_UNREADABLE = (ValueError, OSError)


class TokenError(ValueError):
    pass


class User:
    """Who made a request: `credential` is what they showed, ("token",
    hash) for a long-lived token or ("refresh", id) for an access token
    made from a refresh token (`ugate.hub.auth`), so a revocation can find
    what it ends."""

    def __init__(self, id, name, is_owner=True, username=None, credential=None):
        self.id = id
        self.name = name
        self.is_owner = is_owner
        self.username = username
        self.credential = credential


def _read(path):
    """The token file, checked: the shape the store writes; a new owner
    without tokens when there is no file yet."""
    data = store.read_json(path, None)
    if data is None:
        return {"owner": {"id": compat.token_hex(16), "name": "Owner"}, "tokens": []}
    ok = isinstance(data, dict) and isinstance(data.get("owner"), dict) and \
        isinstance(data.get("tokens"), list)
    if ok:
        for t in data["tokens"]:
            ok = ok and isinstance(t, dict) and isinstance(t.get("hash"), str) and "name" in t
    if not ok:
        raise ValueError("not a token file")
    return data


def _alive(entry):
    expires = entry.get("expires_us")
    return expires is None or compat.now_us() < expires


class TokenStore:
    def __init__(self, config_dir):
        self.path = store.join(config_dir, "auth.json")
        self._file = WatchedFile(self.path, _read, _UNREADABLE, self._bad_edit)

    def _bad_edit(self, exc):
        _log.error("{} is unreadable ({}); keeping the tokens read before".format(self.path, exc))

    def _load(self):
        try:
            return self._file.content()
        except _UNREADABLE as exc:  # the first read only: later ones keep the tokens
            raise TokenError("{}: unreadable ({})".format(self.path, exc))

    @property
    def owner(self):
        o = self._load()["owner"]
        return User(o["id"], o["name"])

    def list(self):
        return [{"name": t["name"], "created_at": t["created_at"]} for t in self._load()["tokens"]]

    def create(self, name, user_id=None, expires_us=None):
        """Create a token; returns it in clear, the only time it is seen. It
        belongs to the owner unless a `user_id` is given (one made from the
        profile page), and lasts until revoked unless it `expires_us`."""
        def add(data):
            if not name or any(t["name"] == name for t in data["tokens"]):
                raise TokenError("a token named '{}' exists already".format(name) if name
                                 else "a token needs a name")
            token = compat.token_hex(TOKEN_BYTES)
            entry = {"name": name, "hash": compat.sha256_hex(token),
                     "created_at": dates.iso(compat.now_us())}
            if user_id is not None:
                entry["user_id"] = user_id
            if expires_us is not None:
                entry["expires_us"] = expires_us
            data["tokens"].append(entry)
            return token
        return self._update(add)

    def revoke(self, name):
        def remove(data):
            kept = [t for t in data["tokens"] if t["name"] != name]
            if len(kept) == len(data["tokens"]):
                raise TokenError("no token named '{}'".format(name))
            data["tokens"] = kept
        self._update(remove)

    def _update(self, change):
        """`change(data)` applied to the file as it is now, one writer at a
        time across processes (a `ugate token` command, the gateway)."""
        try:
            return self._file.update(change)
        except TokenError:
            raise
        except _UNREADABLE as exc:
            raise TokenError("{}: unreadable ({})".format(self.path, exc))

    def find(self, token):
        """The stored entry of a valid token, else None. Every stored hash is
        compared in constant time, whether or not one matched earlier."""
        if not token:
            return None
        digest = compat.sha256_hex(token)
        found = None
        for t in self._load()["tokens"]:
            if compat.equal(digest, t["hash"]):
                found = t
        return found if found is not None and _alive(found) else None

    def entries(self):
        """The stored entries (hashes included: not for clients' eyes)."""
        return [t for t in self._load()["tokens"] if _alive(t)]

    def is_empty(self):
        return not self._load()["tokens"]
