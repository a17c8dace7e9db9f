"""The WebSocket commands of Home Assistant's profile page (its `auth`
component): who is signed in, their tokens, and changing one's password
(`config/auth_provider/homeassistant/change_password`). Added to the WebSocket
API's command table (`websocket_commands.COMMANDS`) by its setup."""
from ugate.base.compat import OrderedDict
from ugate.base.validation import Invalid
from ugate.faces.homeassistant.websocket_commands import (ERR_UNKNOWN_ERROR, error_message, field,
                                                         result_message)
from ugate.hub import sessions
from ugate.hub.tokens import TokenError


async def current_user(conn, msg):
    user = conn.user
    credentials = [OrderedDict([("auth_provider_type", "homeassistant"),
                                ("auth_provider_id", None)])] if user.username else []
    # ugate has no permissions: every user may do everything, as an admin.
    conn.enqueue(result_message(msg["id"], OrderedDict([
        ("id", user.id), ("name", user.name), ("is_owner", user.is_owner), ("is_admin", True),
        ("credentials", credentials), ("mfa_modules", [])])))


async def long_lived_access_token(conn, msg):
    lifespan = field(msg, "lifespan", int, required=True)
    client_name = field(msg, "client_name", str, required=True)
    field(msg, "client_icon", str)
    if lifespan < 1:
        raise Invalid("lifespan", "value must be at least 1", lifespan)
    try:
        token = sessions.create_long_lived(conn.hub.auth, conn.user, client_name, lifespan)
    except TokenError as exc:
        conn.enqueue(error_message(msg["id"], ERR_UNKNOWN_ERROR, str(exc)))
        return
    conn.enqueue(result_message(msg["id"], token))


async def refresh_tokens(conn, msg):
    conn.enqueue(result_message(msg["id"], sessions.credentials(conn.hub.auth, conn.user)))


async def delete_refresh_token(conn, msg):
    token_id = field(msg, "refresh_token_id", str, required=True)
    if not sessions.delete_credential(conn.hub.auth, conn.user, token_id):
        conn.enqueue(error_message(msg["id"], "invalid_token_id", "Received invalid token"))
        return
    conn.enqueue(result_message(msg["id"], {}))


async def change_password(conn, msg):
    current = field(msg, "current_password", str, required=True)
    new = field(msg, "new_password", str, required=True)
    username = conn.user.username
    if username is None:  # signed in with a long-lived token of a gateway without users
        conn.enqueue(error_message(msg["id"], "credentials_not_found", "Credentials not found"))
        return
    users = conn.hub.auth.users
    if await users.check(username, current) is None:
        conn.enqueue(error_message(msg["id"], "invalid_current_password", "Invalid current password"))
        return
    try:
        await users.set_password(username, new)
    except ValueError as exc:  # users.UserError: a password it refuses
        conn.enqueue(error_message(msg["id"], ERR_UNKNOWN_ERROR, str(exc)))
        return
    conn.enqueue(result_message(msg["id"]))


COMMANDS = {
    "auth/current_user": current_user,
    "auth/long_lived_access_token": long_lived_access_token,
    "auth/refresh_tokens": refresh_tokens,
    "auth/delete_refresh_token": delete_refresh_token,
    "config/auth_provider/homeassistant/change_password": change_password,
}
