"""Who may use the gateway: the one place a bearer token is checked.

A bearer token is a long-lived access token (`tokens`, auth.json) or an
access token made from a refresh token (`refresh_tokens`); either names a
user (`users`; the owner of auth.json while nobody has a password). The
user and refresh token stores are loaded only once they are used, so a
gateway read with long-lived tokens alone never holds them.

Open event streams and WebSocket connections `watch` the credential they
were opened with: revoking it here ends them at once, and a revocation by
another process (`ugate token revoke`, `ugate user remove`) within
`recheck_interval` seconds.
"""
import asyncio

from ugate.base import compat, dates, log, store
from ugate.hub.tokens import User

_log = log.get("auth")

US = 1000000


def _llat_id(entry):
    """A stable id for a long-lived token that reveals nothing of its hash."""
    return compat.sha256_hex("llat:" + entry["hash"])[:32]


class Auth:
    #: Seconds between checks that the credentials of open streams and
    #: WebSocket connections were not revoked by another process.
    recheck_interval = 2
    #: Refresh tokens kept (signed-in clients); a sign-in past this ends the
    #: one unused longest.
    max_refresh_tokens = 64
    #: Access tokens of one refresh token valid at once.
    max_access_tokens = 4

    def __init__(self, config_dir, tokens, access_lifetime):
        self.config_dir = config_dir
        self.tokens = tokens
        self.access_lifetime = access_lifetime
        self._users = None
        self._refresh = None
        # Only the gateway writes refresh_tokens.json: without one at start,
        # nobody holds an access token until someone signs in here.
        self._refresh_on_disk = store.exists(store.join(config_dir, "refresh_tokens.json"))
        self._watchers = {}  # key -> (user, end)
        self._next_key = 0
        self._poller = None

    # -- the stores ------------------------------------------------------------

    @property
    def users(self):
        if self._users is None:
            from ugate.hub.users import Users
            self._users = Users(self.config_dir, self.tokens)
        return self._users

    def _users_if_any(self):
        if self._users is None and not store.exists(store.join(self.config_dir, "users.json")):
            return None
        return self.users

    @property
    def refresh_tokens(self):
        if self._refresh is None:
            from ugate.hub.refresh_tokens import RefreshTokens
            self._refresh = RefreshTokens(self.config_dir, self.max_refresh_tokens,
                                          self.max_access_tokens, self.access_lifetime)
            self._refresh_on_disk = True
        return self._refresh

    def onboarded(self):
        """Whether a user with a password exists (Home Assistant's user
        onboarding step is done)."""
        users = self._users_if_any()
        return users is not None and bool(users.all())

    # -- checking credentials ----------------------------------------------------

    def _user(self, user_id, credential):
        """The User `user_id` (None: the owner), or None when there is no such user."""
        users = self._users_if_any()
        if users is None or not users.all():
            owner = self.tokens.owner
            if user_id is not None and user_id != owner.id:
                return None
            return User(owner.id, owner.name, True, None, credential)
        u = users.owner() if user_id is None else users.get(user_id)
        if u is None:
            return None
        return User(u["id"], u["name"], bool(u.get("is_owner")), u["username"], credential)

    def user(self, user_id):
        return self._user(user_id, None)

    def validate(self, token):
        """The User a bearer token belongs to, else None."""
        if not token or not isinstance(token, str):
            return None
        try:
            entry = self.tokens.find(token)
            if entry is not None:
                return self._user(entry.get("user_id"), ("token", entry["hash"]))
            if not self._refresh_on_disk:
                return None
            record = self.refresh_tokens.check_access(compat.sha256_hex(token))
            return self._user(record["user_id"], ("refresh", record["id"])) if record else None
        except ValueError as exc:  # a store unreadable since the start: trust nobody
            _log.error("cannot check a token: {}".format(exc))
            return None

    def active(self, user):
        """Whether the credential `user` showed is still valid (not revoked,
        its user not removed); an access token's expiry does not end what
        it opened, as in Home Assistant."""
        kind, key = user.credential
        try:
            if kind == "token":
                entry = self._llat(lambda t: t["hash"] == key)
                return entry is not None and self._user(entry.get("user_id"), None) is not None
            refresh = self.refresh_tokens if self._refresh_on_disk else None
            return refresh is not None and refresh.active(key) and \
                self._user(refresh.tokens[key]["user_id"], None) is not None
        except ValueError:
            return False

    def _llat(self, match):
        for entry in self.tokens.entries():
            if match(entry):
                return entry
        return None

    # -- ending what a revoked credential opened ------------------------------------

    def watch(self, user, end):
        """Call `end()` once `user`'s credential is revoked; returns the
        function that stops watching."""
        key = self._next_key
        self._next_key += 1
        self._watchers[key] = (user, end)
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll())
        return lambda: self._watchers.pop(key, None)

    def check_revoked(self):
        for key, (user, end) in list(self._watchers.items()):
            if key in self._watchers and not self.active(user):
                del self._watchers[key]
                try:
                    end()
                except Exception as exc:  # one broken stream must not keep the others open
                    _log.error("ending a revoked connection failed: {!r}".format(exc))

    async def _poll(self):
        try:
            while self._watchers:
                await asyncio.sleep(self.recheck_interval)
                self.check_revoked()
        finally:
            self._poller = None

    # -- OAuth2 sessions -------------------------------------------------------------

    def sign_in(self, user_id, client_id, address):
        """A refresh token and a first access token for a user who signed
        in with `client_id`: (access token, refresh token), in clear."""
        refresh, record = self.refresh_tokens.create(user_id, client_id)
        access = self.refresh_tokens.issue(record, address)
        self.check_revoked()  # a sign-in past the bound ended the oldest session
        return access, refresh

    def find_refresh_token(self, token):
        """The record of a refresh token given in clear, else None."""
        if not self._refresh_on_disk or not isinstance(token, str):
            return None
        return self.refresh_tokens.find(token)

    def refresh(self, record, address):
        """A new access token from a refresh token's record."""
        return self.refresh_tokens.issue(record, address)

    def revoke_refresh_token(self, token):
        """End a refresh token given in clear (and what it opened); False
        when there is none."""
        record = self.find_refresh_token(token)
        return record is not None and self._remove_refresh(record["id"])

    def _remove_refresh(self, token_id):
        removed = self.refresh_tokens.remove(token_id)
        self.check_revoked()
        return removed

    # -- the profile page's token management ---------------------------------------------

    def _owns(self, user, entry):
        owner = entry.get("user_id")
        return owner == user.id or owner is None and user.is_owner

    def credentials(self, user):
        """The user's refresh and long-lived tokens as Home Assistant's
        `auth/refresh_tokens` lists them (no secrets)."""
        current = user.credential[1] if user.credential else None
        out = []
        for entry in self.tokens.entries():
            if self._owns(user, entry):
                expires = entry.get("expires_us")
                out.append(_listed(_llat_id(entry), None, entry["name"], "long_lived_access_token",
                                   entry["created_at"], entry["hash"] == current, None, None,
                                   dates.iso(expires) if expires else None))
        if self._refresh_on_disk:
            lifetime = self.refresh_tokens.unused_lifetime * US
            for r in self.refresh_tokens.of_user(user.id):
                out.append(_listed(r["id"], r["client_id"], None, "normal", dates.iso(r["created_us"]),
                                   r["id"] == current, dates.iso(r["last_used_us"]),
                                   r["last_used_ip"], dates.iso(r["last_used_us"] + lifetime)))
        return out

    def delete_credential(self, user, token_id):
        """Revoke one of the user's tokens by its listed id; False when the
        user has none with that id."""
        entry = self._llat(lambda t: self._owns(user, t) and _llat_id(t) == token_id)
        if entry is not None:
            self.tokens.revoke(entry["name"])
            self.check_revoked()
            return True
        if self._refresh_on_disk:
            record = self.refresh_tokens.tokens.get(token_id)
            if record is not None and record["user_id"] == user.id:
                return self._remove_refresh(token_id)
        return False

    def create_long_lived(self, user, name, lifespan_days):
        """A long-lived token for `user` (shown once, stored hashed)."""
        return self.tokens.create(name, None if user.is_owner else user.id,
                                  compat.now_us() + lifespan_days * 86400 * US)


def _listed(token_id, client_id, client_name, type_, created_at, is_current, last_used_at,
            last_used_ip, expire_at):
    return {"id": token_id, "client_id": client_id, "client_name": client_name, "client_icon": None,
            "type": type_, "created_at": created_at, "is_current": is_current,
            "last_used_at": last_used_at, "last_used_ip": last_used_ip, "expire_at": expire_at}
