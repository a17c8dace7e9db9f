"""What a sign-in holds between its requests (`SignIn`): login flows
(started at `/auth/login_flow`, finished with a username and password) and
the authorization codes they end in (exchanged once at `/auth/token`).

Both are bounded and expire, so strangers starting flows cannot fill a
board's heap: past the bound the oldest is dropped.
"""
import asyncio

from ugate.base import compat

US = 1000000


class Expiring:
    """Entries under random ids that expire `lifetime` seconds after they
    were made; at most `max_entries` (class attributes a board lowers), the
    oldest dropped to make room."""
    max_entries = 64
    lifetime = 600

    def __init__(self):
        self.entries = {}  # id -> (expires_us, value)

    def _prune(self, now):
        for key in [k for k, (expires, _) in self.entries.items() if expires <= now]:
            del self.entries[key]

    def add(self, value):
        now = compat.now_us()
        self._prune(now)
        while len(self.entries) >= self.max_entries:
            del self.entries[min(self.entries, key=lambda k: self.entries[k][0])]
        key = compat.token_hex(16)
        self.entries[key] = (now + self.lifetime * US, value)
        return key

    def put_back(self, key, entry):
        self.entries[key] = entry

    def take(self, key):
        """(expires_us, value) of an unexpired entry, removed; else None."""
        entry = self.entries.pop(key, None) if isinstance(key, str) else None
        if entry is None or entry[0] <= compat.now_us():
            return None
        return entry


class Flow:
    def __init__(self, client_id, redirect_uri, address):
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        #: The client address that started it: another one may not finish it.
        self.address = address


class LoginFlows(Expiring):
    """Flows in progress: each waits `lifetime` seconds for its username
    and password."""


class AuthCodes(Expiring):
    """Authorization codes: single use, bound to the client_id they were
    made for, valid 10 minutes (OAuth 2, 4.1.2)."""

    def create(self, client_id, user_id):
        return self.add((client_id, user_id))

    def redeem(self, client_id, code):
        """The user id of a valid code made for `client_id`; the code is
        used up. A code shown with another client_id stays valid."""
        entry = self.take(code)
        if entry is None:
            return None
        if entry[1][0] != client_id:
            self.put_back(code, entry)
            return None
        return entry[1][1]


class SignIn:
    """The sign-in's state, kept while its views come and go."""

    def __init__(self, auth):
        #: The hub's `ugate.hub.auth.Auth`.
        self.auth = auth
        self.flows = LoginFlows()
        self.codes = AuthCodes()
        # One password hash at a time: on a board each takes a second or
        # more of CPU, and a flood of sign-ins must not take it all.
        self.hashing = asyncio.Lock()
