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

from ugate.base import compat, log, store
from ugate.hub.tokens import User

_log = log.get("auth")


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
        """The refresh token store, loaded on first use (see `has_refresh_tokens`)."""
        if self._refresh is None:
            from ugate.hub.refresh_tokens import RefreshTokens
            self._refresh = RefreshTokens(self.config_dir, self.max_refresh_tokens,
                                          self.max_access_tokens, self.access_lifetime)
            self._refresh_on_disk = True
        return self._refresh

    def has_refresh_tokens(self):
        """Whether anyone may hold a refresh token (without loading the store)."""
        return self._refresh_on_disk

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
                entry = self.long_lived(lambda t: t["hash"] == key)
                return entry is not None and self._user(entry.get("user_id"), None) is not None
            refresh = self.refresh_tokens if self._refresh_on_disk else None
            return refresh is not None and refresh.active(key) and \
                self._user(refresh.tokens[key]["user_id"], None) is not None
        except ValueError:
            return False

    def long_lived(self, match):
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
        """End what revoked credentials opened: called after a revocation
        here, and every `recheck_interval` while anything is watched."""
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
