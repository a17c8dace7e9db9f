"""OAuth2 refresh tokens and the access tokens made from them, as Home
Assistant issues them at `/auth/token`, kept in `<config>/refresh_tokens.json`
(owner-only) so a restart signs nobody out.

Both kinds are 32 random bytes stored only as SHA-256 hashes. An access token
lasts `access_lifetime` seconds (30 minutes by default); a refresh token
until it is revoked, its user removed, or it goes unused for
`unused_lifetime` (90 days, as in Home Assistant). Tokens are looked up by
their hash: the hash of a guess cannot be steered, so a lookup's time tells
nothing about a stored token. Only the gateway writes this file.
"""
from ugate.base import compat, log, store

_log = log.get("refresh_tokens")

TOKEN_BYTES = 32
US = 1000000


def _valid(record):
    """A record as `RefreshTokens` writes it."""
    return isinstance(record, dict) and \
        all(isinstance(record.get(k), str) for k in ("id", "user_id", "client_id", "hash")) and \
        isinstance(record.get("last_used_us"), int) and isinstance(record.get("access"), list) and \
        all(isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], int)
            for a in record["access"])


class RefreshTokens:
    #: Seconds a refresh token lasts unused.
    unused_lifetime = 90 * 86400

    def __init__(self, config_dir, max_tokens, max_access, access_lifetime):
        #: Refresh tokens kept; a sign-in past this ends the one unused longest.
        self.max_tokens = max_tokens
        #: Access tokens of one refresh token valid at once (a client
        #: refreshing early); past this the oldest ends before its time.
        self.max_access = max_access
        #: Seconds an access token lasts.
        self.access_lifetime = access_lifetime
        self.path = store.join(config_dir, "refresh_tokens.json")
        #: id -> {"id", "user_id", "client_id", "hash", "created_us",
        #: "last_used_us", "last_used_ip", "access": [[hash, expires_us], ...]}
        self.tokens = {}
        self._by_hash = {}   # refresh token hash -> id
        self._access = {}    # access token hash -> id
        try:
            records = store.read_json(self.path, [])
            if not isinstance(records, list) or not all(_valid(r) for r in records):
                raise ValueError("not a list of refresh tokens")
        except (ValueError, OSError) as exc:
            # Signing everyone out is the safe side of a file that cannot be read.
            _log.error("{} is unreadable ({}); every client must sign in again".format(self.path, exc))
            records = []
        for record in records:
            self.tokens[record["id"]] = record
        self._prune(compat.now_us())

    def _index(self):
        self._by_hash = {r["hash"]: r["id"] for r in self.tokens.values()}
        self._access = {}
        for r in self.tokens.values():
            for digest, _ in r["access"]:
                self._access[digest] = r["id"]

    def _expired(self, record, now):
        return now >= record["last_used_us"] + self.unused_lifetime * US

    def _prune(self, now):
        """Drop unused refresh tokens and expired access tokens."""
        for record in list(self.tokens.values()):
            if self._expired(record, now):
                del self.tokens[record["id"]]
            else:
                record["access"] = [a for a in record["access"] if a[1] > now]
        self._index()

    def _save(self):
        try:
            store.write_json(self.path, list(self.tokens.values()), private=True)
        except OSError as exc:
            _log.error("cannot save {}: {}".format(self.path, exc))

    def create(self, user_id, client_id):
        """A new refresh token for a user signing in with `client_id`;
        returns (token in clear, its record). Not saved until an access
        token is issued from it (`issue`)."""
        now = compat.now_us()
        self._prune(now)
        if len(self.tokens) >= self.max_tokens:
            oldest = min(self.tokens.values(), key=lambda r: r["last_used_us"])
            _log.warning("{} refresh tokens kept already: ending the one unused longest ({})".format(
                len(self.tokens), oldest["client_id"]))
            del self.tokens[oldest["id"]]
        token = compat.token_hex(TOKEN_BYTES)
        record = {"id": compat.token_hex(16), "user_id": user_id, "client_id": client_id,
                  "hash": compat.sha256_hex(token), "created_us": now, "last_used_us": now,
                  "last_used_ip": None, "access": []}
        self.tokens[record["id"]] = record
        self._index()
        return token, record

    def find(self, token):
        """The record of a refresh token, else None."""
        record = self.tokens.get(self._by_hash.get(compat.sha256_hex(token)))
        if record is None or self._expired(record, compat.now_us()):
            return None
        return record

    def issue(self, record, address):
        """A new access token from `record`, used now from `address`;
        returns the token in clear."""
        now = compat.now_us()
        token = compat.token_hex(TOKEN_BYTES)
        record["last_used_us"] = now
        record["last_used_ip"] = address
        record["access"].append([compat.sha256_hex(token), now + self.access_lifetime * US])
        record["access"] = record["access"][-self.max_access:]
        self._prune(now)
        self._save()
        return token

    def check_access(self, digest):
        """The record an unexpired access token (by its hash) was made from."""
        record = self.tokens.get(self._access.get(digest))
        if record is None:
            return None
        now = compat.now_us()
        for candidate, expires in record["access"]:
            if candidate == digest:
                return record if now < expires else None
        return None

    def active(self, token_id):
        record = self.tokens.get(token_id)
        return record is not None and not self._expired(record, compat.now_us())

    def remove(self, token_id):
        """End a refresh token and its access tokens; False when there was none."""
        if self.tokens.pop(token_id, None) is None:
            return False
        self._index()
        self._save()
        return True

    def of_user(self, user_id):
        return [r for r in self.tokens.values() if r["user_id"] == user_id]
