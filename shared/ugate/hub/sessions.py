"""Signed-in sessions (OAuth2 refresh tokens, `/auth/token`) and the
profile page's token management (the WebSocket `auth/*` commands), over
the hub's `ugate.hub.auth.Auth`. Loaded by the sign-in views and those
commands on first use, not with the gateway."""
from ugate.base import compat, dates

US = 1000000


def sign_in(auth, user_id, client_id, address):
    """A refresh token and a first access token for a user who signed in
    with `client_id`: (access token, refresh token), in clear."""
    refresh, record = auth.refresh_tokens.create(user_id, client_id)
    access = auth.refresh_tokens.issue(record, address)
    auth.check_revoked()  # a sign-in past the bound ended the session unused longest
    return access, refresh


def find_refresh_token(auth, token):
    """The record of a refresh token given in clear, else None."""
    if not auth.has_refresh_tokens() or not isinstance(token, str):
        return None
    return auth.refresh_tokens.find(token)


def revoke_refresh_token(auth, token):
    """End a refresh token given in clear, its access tokens and what they
    opened; False when there is none."""
    record = find_refresh_token(auth, token)
    return record is not None and _remove(auth, record["id"])


def _remove(auth, token_id):
    removed = auth.refresh_tokens.remove(token_id)
    auth.check_revoked()
    return removed


def _llat_id(entry):
    """A stable id for a long-lived token that reveals nothing of its hash."""
    return compat.sha256_hex("llat:" + entry["hash"])[:32]


def _owns(user, entry):
    owner = entry.get("user_id")
    return owner == user.id or owner is None and user.is_owner


def _listed(token_id, client_id, client_name, type_, created_at, is_current, last_used_at,
            last_used_ip, expire_at):
    return {"id": token_id, "client_id": client_id, "client_name": client_name, "client_icon": None,
            "type": type_, "created_at": created_at, "is_current": is_current,
            "last_used_at": last_used_at, "last_used_ip": last_used_ip, "expire_at": expire_at}


def credentials(auth, user):
    """The user's refresh and long-lived tokens as Home Assistant's
    `auth/refresh_tokens` lists them (no secrets)."""
    current = user.credential[1] if user.credential else None
    out = []
    for entry in auth.tokens.entries():
        if _owns(user, entry):
            expires = entry.get("expires_us")
            out.append(_listed(_llat_id(entry), None, entry["name"], "long_lived_access_token",
                               entry["created_at"], entry["hash"] == current, None, None,
                               dates.iso(expires) if expires else None))
    if auth.has_refresh_tokens():
        lifetime = auth.refresh_tokens.unused_lifetime * US
        for r in auth.refresh_tokens.of_user(user.id):
            out.append(_listed(r["id"], r["client_id"], None, "normal", dates.iso(r["created_us"]),
                               r["id"] == current, dates.iso(r["last_used_us"]),
                               r["last_used_ip"], dates.iso(r["last_used_us"] + lifetime)))
    return out


def delete_credential(auth, user, token_id):
    """Revoke one of the user's tokens by its listed id; False when the user
    has none with that id."""
    entry = auth.long_lived(lambda t: _owns(user, t) and _llat_id(t) == token_id)
    if entry is not None:
        auth.tokens.revoke(entry["name"])
        auth.check_revoked()
        return True
    if auth.has_refresh_tokens():
        record = auth.refresh_tokens.tokens.get(token_id)
        if record is not None and record["user_id"] == user.id:
            return _remove(auth, token_id)
    return False


def create_long_lived(auth, user, name, lifespan_days):
    """A long-lived token for `user` (shown once, stored hashed)."""
    return auth.tokens.create(name, None if user.is_owner else user.id,
                              compat.now_us() + lifespan_days * 86400 * US)
