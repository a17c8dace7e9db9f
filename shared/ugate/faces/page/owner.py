"""The owner's API under `/api/ugate/owner/`, imported on its first
request: `GET gateway` (version, runtime, uptime, memory, entities against
their limit), `GET` and `POST config` (config.json read; a new one checked
as at start, saved, and the gateway restarted), `POST restart`, `GET bans`
and `DELETE bans/<address>`. Each view is
`async def (hub, request)`; `dispatch` finds it by method and path."""
import asyncio

from ugate.base import compat, dates, jsoninput, log, store
from ugate.base.compat import OrderedDict
from ugate.http.responses import error_response, json_message, json_response
from ugate.http.ban import _key as ban_key
from ugate.http.url import unquote

_log = log.get("http.ban")

#: Seconds between the answer and the restart, for the answer to reach the client.
RESTART_DELAY = 0.3


def info(hub):
    d = OrderedDict()
    d["version"] = hub.version
    d["ha_version"] = hub.ha_version
    d["runtime"] = hub.platform.name
    d["location_name"] = hub.config["location_name"]
    d["uptime"] = (compat.now_us() - hub.started) // 1000000
    d["started_us"] = hub.started  # another after a restart: the page waits for it
    d["memory"] = hub.platform.memory()
    d["entities"] = hub.states.entities  # notifications aside, as limits.max_entities counts
    d["max_entities"] = hub.states.max_entities
    history = getattr(hub, "history", None)
    d["history_points"] = history.max_points if history else 0
    return d


def check_config(hub, text):
    """The message the CLI prints for `text` as config.json, or None when
    the gateway would start with it. The schema is loaded for the check
    only (a board unloads it after start)."""
    from ugate.base.validation import ConfigError
    try:
        load = __import__("ugate.config", None, None, ["load"]).load
        load(hub.config_dir, hub.config_overrides, text)
    except ConfigError as exc:
        return "error: {}".format(exc)
    finally:
        compat.unload("ugate.config")
    return None


def _config_path(hub):
    return store.join(hub.config_dir, "config.json")


async def _restart_soon(hub, app):
    await asyncio.sleep(RESTART_DELAY)
    hub.restart_requested = True
    app.shutdown()
    app.close_connections()  # MicroPython would keep serving them in the next start


async def gateway(hub, request):
    return json_response(info(hub))


async def config(hub, request):
    path = _config_path(hub)
    try:
        text = store.read_text(path)
    except OSError:
        text = "{}\n"  # no file: every default
    return json_response(OrderedDict([("path", path), ("text", text)]))


async def save_config(hub, request):
    try:
        data = jsoninput.loads(request.body)
    except ValueError:
        return json_message("Invalid JSON.", 400)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return json_message('Expected {"text": "<the new config.json>"}.', 400)
    problem = check_config(hub, data["text"])
    if problem:
        return json_message(problem, 400)
    store.write_atomic(_config_path(hub), data["text"])
    asyncio.create_task(_restart_soon(hub, request.app))
    return json_message("Saved; the gateway restarts.")


async def restart(hub, request):
    asyncio.create_task(_restart_soon(hub, request.app))
    return json_message("The gateway restarts.")


async def bans(hub, request):
    return json_response(sorted(request.app.ban.bans.values()))


def lift_ban(ban, address):
    """Forget the ban of `address` and rewrite ip_bans.yaml with the bans
    left, each with its time from the file; False when it was not banned.
    (Here, not in `ugate.http.ban`, which every gateway loads.)"""
    from ugate.http import banfile
    key = ban_key(address)
    if ban.bans.pop(key, None) is None:
        return False
    try:
        times = {ban_key(a): (fields or {}).get("banned_at")
                 for a, fields in banfile.parse(store.read_text(ban.path))}
    except (OSError, banfile.BanFileError, UnicodeError):
        times = {}  # unreadable: the bans in memory are what counts
    now = dates.iso(compat.now_us())
    store.write_atomic(ban.path, "".join(banfile.entry(a, times.get(k) or now)
                                         for k, a in ban.bans.items()))
    _log.warning("Unbanned IP {}".format(address))
    return True


async def unban(hub, request, address):
    try:
        address = unquote(address)
    except ValueError:
        return json_message("Not banned.", 404)
    if not lift_ban(request.app.ban, address):
        return json_message("Not banned.", 404)
    return json_message("Unbanned.")


VIEWS = {("GET", "gateway"): gateway, ("GET", "config"): config, ("POST", "config"): save_config,
         ("POST", "restart"): restart, ("GET", "bans"): bans}


async def dispatch(hub, request, path):
    """The view for `/api/ugate/owner/<path>`; 404 for a path that is none."""
    method = "GET" if request.method == "HEAD" else request.method
    if method == "DELETE" and path.startswith("bans/"):
        return await unban(hub, request, path[5:])
    view = VIEWS.get((method, path))
    if view is None:
        return error_response(404)
    return await view(hub, request)
