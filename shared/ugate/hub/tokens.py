"""Long-lived access tokens, stored only as SHA-256 hashes in
`<config>/auth.json`.

A token is 32 random bytes, so a plain hash is enough: there is nothing to
guess. The file is re-read when the `ugate token` command changes it, so a
token created while the gateway runs works at once. A file that turns
unreadable while the gateway runs (a hand edit gone wrong) is logged and the
tokens read before are kept: the owner is neither locked out nor banned.
"""
import time

from ugate.base import compat, log, store

_log = log.get("tokens")

TOKEN_BYTES = 32


class TokenError(ValueError):
    pass


class User:
    def __init__(self, id, name, is_owner=True):
        self.id = id
        self.name = name
        self.is_owner = is_owner
        self.is_admin = True


def _checked(data):
    """The parsed file if it has the shape the store writes."""
    if data is None:
        return None
    ok = isinstance(data, dict) and isinstance(data.get("owner"), dict) and \
        isinstance(data.get("tokens"), list)
    if ok:
        for t in data["tokens"]:
            ok = ok and isinstance(t, dict) and isinstance(t.get("hash"), str) and "name" in t
    if not ok:
        raise ValueError("not a token file")
    return data


class TokenStore:
    def __init__(self, config_dir):
        self.path = store.join(config_dir, "auth.json")
        self._signature = None
        self._recheck = True
        self._data = None

    def _load(self):
        signature = store.signature(self.path)
        if self._recheck or signature != self._signature:
            try:
                data = _checked(store.read_json(self.path, None))
            except (ValueError, OSError) as exc:  # UnicodeError is a ValueError
                if self._data is None:
                    raise TokenError("{}: unreadable ({})".format(self.path, exc))
                if signature != self._signature:
                    _log.error("{} is unreadable ({}); keeping the tokens read before".format(
                        self.path, exc))
                data = self._data
            if data is None:
                data = {"owner": {"id": compat.token_hex(16), "name": "Owner"}, "tokens": []}
            self._remember(data, signature)
        return self._data

    def _remember(self, data, signature):
        self._data, self._signature = data, signature
        # Modification times have whole-second resolution on some systems: a
        # file changed within the last two seconds may change again unseen
        # (a revoke and a create of the same size), so read it again next time.
        self._recheck = signature is None or time.time() - signature[0] < 2

    def _save(self):
        store.write_json(self.path, self._data, private=True)
        self._remember(self._data, store.signature(self.path))

    @property
    def owner(self):
        o = self._load()["owner"]
        return User(o["id"], o["name"])

    def list(self):
        return [{"name": t["name"], "created_at": t["created_at"]} for t in self._load()["tokens"]]

    def create(self, name):
        """Create a token; returns it in clear, the only time it is seen."""
        data = self._load()
        if not name or any(t["name"] == name for t in data["tokens"]):
            raise TokenError("a token named '{}' exists already".format(name) if name
                             else "a token needs a name")
        token = compat.token_hex(TOKEN_BYTES)
        data["tokens"].append({"name": name, "hash": compat.sha256_hex(token),
                               "created_at": compat.iso(compat.now_us())})
        self._save()
        return token

    def revoke(self, name):
        data = self._load()
        kept = [t for t in data["tokens"] if t["name"] != name]
        if len(kept) == len(data["tokens"]):
            raise TokenError("no token named '{}'".format(name))
        data["tokens"] = kept
        self._save()

    def validate(self, token):
        """The owning user for a valid token, else None. Every stored hash is
        compared in constant time, whether or not one matched earlier."""
        if not token:
            return None
        digest = compat.sha256_hex(token)
        found = False
        for t in self._load()["tokens"]:
            found = compat.equal(digest, t["hash"]) or found
        return self.owner if found else None

    def is_empty(self):
        return not self._load()["tokens"]
