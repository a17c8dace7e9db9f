"""Build the gateway from a config and a platform, and run it.

`platform` is the one object that knows the runtime (host or firmware): its
default limits, how to make a TLS context, how to open a serial port, how to
catch a stop signal, the parts of its own it sets up (a board's status,
clock, watchdog and updates). Nothing else in the core asks which runtime
it is on.
"""
import asyncio
import sys

from ugate import HONO_REGISTRY
from ugate.base import compat, log, store
from ugate.base.backoff import Backoff
from ugate.base.validation import ConfigError
from ugate.http.auth import body_gate
from ugate.http.ban import IpBan
from ugate.http.cors import Cors
from ugate.http.forwarded import Forwarded
from ugate.http.headers import SecurityHeaders
from ugate.http.server import Server
from ugate.hub import Hub

_log = log.get("app")


def _always(hub):
    return True


def _face_enabled(name):
    return lambda hub: name not in hub.config["disabled_faces"]


def _web_page(hub):
    """Unless left out, and only with the WebSocket API (the page reads
    everything live through it)."""
    return not {"page", "websocket"} & set(hub.config["disabled_faces"])


def _static_files(hub):
    # Home Assistant too serves /local/ only when www/ exists at start.
    return store.exists(store.join(hub.config_dir, "www"))


def _serial(hub):
    return bool(hub.config["serial"])


def _restore(hub):
    return hub.config["restore_state"]


def _hono(hub):
    return hub.config["hono"] is not None


#: What the companion apps need of a gateway they find: without one of
#: these faces there is nothing to announce to them.
PHONE_FACES = ("websocket", "auth", "mobile_app")


def _zeroconf(hub):
    # Unset: announced where a phone can use the gateway: not on loopback
    # only (the tests, `make run`), nor with a face the apps need left out
    # (a board's REST-only config, which then loads no mDNS package).
    setting = hub.config["zeroconf"]
    if setting is not None:
        return setting
    host = hub.config["server_host"]
    return not (host.startswith("127.") or host == "::1" or
                set(PHONE_FACES) & set(hub.config["disabled_faces"]))


def _forward(hub):
    return bool(hub.config["forward"])


# What a config may use, in setup order, as (module, whether this config
# uses it). Only the modules a config uses are imported, so a board's heap
# holds what its config needs and no more (as a board installs only the
# micropython-lib packages it uses).

#: The hub's optional parts: `setup(hub)`.
HUB_PARTS = (
    ("ugate.hub.notifications", _always),
    ("ugate.hub.restore", _restore),
    # The web page's parts: only with the page (and the WebSocket API it reads through).
    ("ugate.hub.history", lambda hub: _web_page(hub) and "history" not in hub.config["disabled_faces"]),
    ("ugate.hub.system_log", _web_page),
)

#: Where readings come from: `setup(app, hub)` (a source devices reach over
#: HTTP adds its routes); before the faces, which read what they publish.
SOURCES = (
    ("ugate.sources.bridge", _serial),
    ("ugate.sources.hono", _hono),
)

#: The faces: `setup(app, hub)` registers their routes.
FACES = (
    ("ugate.faces.homeassistant.static", _static_files),
    ("ugate.faces.homeassistant.rest", _always),
    ("ugate.faces.homeassistant.services", _always),
    ("ugate.faces.homeassistant.stream", _face_enabled("stream")),
    ("ugate.faces.homeassistant.error_log", _always),
    ("ugate.faces.homeassistant.status", _always),
    ("ugate.faces.homeassistant.websocket", _face_enabled("websocket")),
    ("ugate.faces.homeassistant.auth", _face_enabled("auth")),
    ("ugate.faces.homeassistant.mobile_app", _face_enabled("mobile_app")),
    ("ugate.faces.homeassistant.zeroconf", _zeroconf),
    ("ugate.faces.hono", _hono),
    ("ugate.faces.forward", _forward),
    ("ugate.faces.page", _web_page),
)


def _used(parts, hub):
    """The modules of `parts` this config uses, imported."""
    modules = []
    for name, used in parts:
        if used(hub):
            module = __import__(name)
            for attr in name.split(".")[1:]:
                module = getattr(module, attr)
            modules.append(module)
    return modules


def lower_limits(class_limits):
    """Set the class attributes a platform lowers for a board's heap
    (`"module.Class.attribute": value`) in the modules this config loaded;
    the others are not loaded, and bound nothing."""
    for name, value in class_limits.items():
        module_name, class_name, attribute = name.rsplit(".", 2)
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(getattr(module, class_name), attribute, value)


def layers(hub, ban, cors):
    """The request layers, outermost first: each sees the request after the
    ones before it. The client address is settled first (X-Forwarded-For),
    then banned addresses are refused, then CORS; security headers go on
    every response."""
    conf = hub.config
    return [Forwarded(conf["use_x_forwarded_for"], conf["trusted_proxies"]), ban, cors,
            SecurityHeaders()]


def create_app(hub):
    app = Server()
    limits = dict(hub.platform.limits)
    for key, value in hub.config["limits"].items():
        if value is not None:
            limits[key] = value
    app.set_limits(limits["max_body_bytes"], limits["max_header_line"],
                   limits["max_connections"], limits["idle_timeout"])
    hub.states.max_entities = limits["max_entities"]
    hub_parts, sources, faces = (_used(parts, hub) for parts in (HUB_PARTS, SOURCES, FACES))
    ban = IpBan(hub)  # counts failed logins and refuses banned addresses
    ban.max_bans = limits["max_bans"]
    app.on_login_failure.append(ban.login_failed)
    app.on_login_success.append(ban.login_succeeded)
    app.default_body_gate = body_gate(hub.auth)  # large bodies only with a token
    app.ban = ban  # the owner lists and lifts bans (faces.page.owner)
    app.cors = Cors(hub.config["cors_allowed_origins"])
    app.layers = layers(hub, ban, app.cors)
    for part in hub_parts:
        part.setup(hub)
    for part in sources + faces + hub.platform.parts(hub):
        part.setup(app, hub)
    lower_limits(hub.platform.class_limits)  # also in the modules the setups imported
    if not _hono(hub):
        hub.background.append(lambda hub: hono_when_registered(app, hub))
    return app


#: Seconds between two looks for a Hono registry in a gateway without Hono.
REGISTRY_POLL = 2


async def hono_when_registered(app, hub):
    """Turn Hono on in a gateway started without it as soon as `ugate hono`
    writes the registry: registry changes apply at once, the first one too.
    The config is read again for the adapter's options (its schema is not
    kept loaded)."""
    path = store.join(hub.config_dir, HONO_REGISTRY)
    while not store.exists(path):
        await asyncio.sleep(REGISTRY_POLL)
    hub.config["hono"] = load_config(hub.config_dir)["hono"]
    for name, used in SOURCES + FACES:
        if used is _hono:
            _used(((name, used),), hub)[0].setup(app, hub)
    lower_limits(hub.platform.class_limits)
    _log.info("{} appeared: the Hono adapter is on".format(path))


def url(conf):
    host = conf["server_host"]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    scheme = "https" if conf["ssl_certificate"] else "http"
    return "{}://{}:{}".format(scheme, host, conf["server_port"])


async def supervised(start, hub, retry_max=60):
    """Run the background task `start(hub)` while the gateway runs: one that
    fails (a bug, MemoryError on a board) is logged and started again after
    a pause that doubles up to `retry_max` seconds, never silently lost."""
    backoff = Backoff(1, retry_max)
    while True:
        try:
            await start(hub)
            return
        except Exception as exc:  # CancelledError is not an Exception: stopping still works
            _log.error("background task {} failed: {!r}; restarting in {} s".format(
                getattr(start, "__name__", "?"), exc, backoff.delay))
        await backoff.wait()


def ssl_context(hub):
    """The TLS context of the config, None for plain HTTP; ConfigError
    names the file that cannot be used."""
    conf = hub.config
    if not conf["ssl_certificate"]:
        return None
    for key in ("ssl_certificate", "ssl_key"):
        if not store.exists(conf[key]):
            raise ConfigError("cannot load {} {}: no such file".format(key, conf[key]))
    return hub.platform.ssl_context(conf["ssl_certificate"], conf["ssl_key"])


async def serve(hub, app, ssl=None):
    conf = hub.config
    tasks = [asyncio.create_task(supervised(start, hub)) for start in hub.background]
    hub.platform.on_stop_signal(app.shutdown)
    _log.info("listening on {} ({})".format(url(conf), hub.platform.name))
    try:
        await app.start_server(conf["server_host"], conf["server_port"], ssl=ssl)
    except OSError as exc:  # the address is in use, or not this host's
        raise ConfigError("cannot listen on {}:{}: {}".format(
            conf["server_host"], conf["server_port"], exc))
    finally:
        for task in tasks:
            task.cancel()
        hub.stop()


def load_config(config_dir, overrides=None):
    """config.json checked (ConfigError goes to the caller). Its schema is
    needed at start only, so the module is unloaded afterwards: a module
    stays in a board's heap for as long as sys.modules holds it."""
    from ugate import config
    try:
        return config.load(config_dir, overrides)
    finally:
        compat.unload("ugate.config")


def run(config_dir, overrides, platform):
    """Load the config (ConfigError goes to the caller), print the URL and,
    on first start, an owner token, then serve until stopped; again with
    the config as it is then when the owner asked for a restart (a board
    resets instead: `platform.restart()`). A config directory that does
    not exist yet (a board deployed without a config) is made: the gateway
    starts with the defaults."""
    if not store.exists(config_dir):
        store.makedirs(config_dir)
    while start(config_dir, overrides, platform).restart_requested:
        _log.info("restarting")
        platform.restart()


def start(config_dir, overrides, platform):
    """Serve once, until stopped or asked to restart; returns the hub."""
    conf = load_config(config_dir, overrides)
    log.configure(conf["log_level"], conf["log_file"])
    hub = Hub(conf, config_dir, platform)
    hub.config_overrides = overrides
    app = create_app(hub)
    ssl = ssl_context(hub)  # before a first token is printed: a bad file stops the start
    print("ugate {} on {}".format(hub.version, url(conf)))
    if not store.exists(store.join(config_dir, "config.json")):
        print("No {}: running with the defaults.".format(store.join(config_dir, "config.json")))
    if hub.tokens.is_empty():
        # Printed once, on the console only (never logged): the owner needs
        # one token to reach the API at all.
        token = hub.tokens.create("owner")
        print("\nOwner long-lived access token, shown once (only its hash is stored). Copy it now:")
        print(token)
        print("Lost it? Make another: ugate token create --config-dir {} --name NAME "
              "(make token in a checkout)\n".format(config_dir))
    if "auth" not in conf["disabled_faces"] and not hub.auth.onboarded():
        print("No user can sign in with a password yet: create the owner with "
              "`ugate user create NAME --config-dir {}`.".format(config_dir))
    try:
        asyncio.run(serve(hub, app, ssl))
    except KeyboardInterrupt:
        pass  # serve() has stopped the hub on its way out
    return hub
