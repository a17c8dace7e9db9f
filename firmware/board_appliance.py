"""The board appliance: what a gateway board does besides the gateway.

`run()` is a board's start (main.py): safe mode after repeated failed
boots, Wi-Fi from wifi.json or the setup access point, then the gateway.
`setup(app, hub)` is the board platform's part of the gateway: the board
status API, the update API, and the background tasks that keep the clock
true, feed the hardware watchdog and confirm the boot (README "The board
appliance"). Imported only where `network` exists."""
import asyncio
import gc
import json
import sys
import time

import board_boot
import machine
import network
from ugate.base import log, store
from ugate.base.validation import ConfigError
from ugate.http.auth import requires_auth
from ugate.http.responses import json_error, json_response

_log = log.get("board")

RESET_CAUSES = ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET")
#: The watchdog's timeout once the gateway was stopped from the console: a
#: watchdog cannot be stopped, and mpremote (make deploy) needs the time.
MAINTENANCE_S = 3600
_booted_ms = time.ticks_ms()
_watchdog = []  # the timeout in seconds, once armed


def reset_cause():
    cause = machine.reset_cause()
    for name in RESET_CAUSES:
        if getattr(machine, name, None) == cause:
            return name[:-6].lower()
    return str(cause)


def rssi():
    """The joined network's signal in dBm, or None."""
    sta = network.WLAN(network.STA_IF)
    try:
        return sta.status("rssi") if sta.isconnected() else None
    except (OSError, ValueError):
        return None


def status(clock):
    """The board status: what the API's GET /api/ugate/board answers."""
    record = board_boot.load()
    gc.collect()
    return {"reset_cause": reset_cause(), "free_heap": gc.mem_free(), "heap_used": gc.mem_alloc(),
            "uptime": time.ticks_diff(time.ticks_ms(), _booted_ms) // 1000, "wifi_rssi": rssi(),
            "clock_synced": clock.synced, "slot": board_boot.running(record), "on_trial": bool(record["trial"]),
            "rolled_back": record["rolled_back"]}


def board_file():
    """/board.json (the board's file from boards/), or {}."""
    try:
        return json.loads(store.read_text("board.json"))
    except (OSError, ValueError):
        return {}


async def feed_watchdog(timeout_s):
    """Feed a hardware watchdog while the event loop runs: a loop that hangs
    (or a task that never yields) stops the feeding, and the board resets."""
    longest = board_file().get("watchdog_max_s")
    if longest and timeout_s > longest:
        _log.warning("board.watchdog_timeout {} s is longer than this board's watchdog allows: {} s".format(
            timeout_s, longest))
        timeout_s = longest
    wdt = machine.WDT(timeout=timeout_s * 1000)
    _watchdog[:] = [timeout_s]
    while True:
        wdt.feed()
        await asyncio.sleep_ms(timeout_s * 250)


async def confirm_boot(after_s):
    """The gateway has served for `after_s`: this boot (and an update on
    trial) is good."""
    await asyncio.sleep(after_s)
    record = board_boot.confirm()
    _log.info("boot confirmed; running {}".format(record["slot"]))


def setup(app, hub):
    from board_clock import Clock
    conf = hub.config["board"]
    clock = Clock(conf["ntp_servers"])
    hub.background.append(clock.run)
    if conf["watchdog_timeout"]:
        hub.background.append(lambda hub: feed_watchdog(conf["watchdog_timeout"]))
    hub.background.append(lambda hub: confirm_boot(conf["update_confirm_after"]))
    auth = requires_auth(hub.tokens)
    slot = []  # the update slot being written, once begun

    @app.get("/api/ugate/board")
    @auth
    async def board_status(request):
        return json_response(status(clock))

    @app.post("/api/ugate/update")
    @auth
    async def update_begin(request):
        import board_ota
        slot[:] = [board_ota.begin()]
        return json_response({"slot": slot[0]})

    @app.put("/api/ugate/update/files/<path:path>")
    @auth
    async def update_file(request, path):
        import board_ota
        if not slot:
            return json_error(409, "begin the update first: POST /api/ugate/update")
        try:
            size = board_ota.write(slot[0], path, int(request.args.get("offset", "0")), request.body or b"")
        except ValueError as exc:  # UpdateError, a bad offset
            return json_error(400, str(exc))
        return json_response({"path": path, "size": size})

    @app.post("/api/ugate/update/commit")
    @auth
    async def update_commit(request):
        import board_ota
        if not slot:
            return json_error(409, "begin the update first: POST /api/ugate/update")
        try:
            board_ota.commit(slot[0], json.loads(request.body or b"{}").get("files"))
        except (ValueError, AttributeError) as exc:
            return json_error(400, str(exc))
        _log.warning("update in {} checked; restarting to try it".format(slot[0]))
        asyncio.create_task(board_boot.reset_soon())
        return json_response({"slot": slot[0], "restarting": True})


def _wifi(config_dir):
    try:
        wifi = json.loads(store.read_text(store.join(config_dir, "wifi.json")))
        return wifi["ssid"], wifi["password"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _join(wifi, name, timeout):
    import board_net
    try:
        return board_net.join(wifi[0], wifi[1], name, timeout)
    finally:
        del sys.modules["board_net"]  # the gateway's heap needs it no more


def run(config_dir, overrides, platform):
    """A board's start: safe mode, or Wi-Fi (else the setup page), then the
    gateway."""
    from ugate import app
    record = board_boot.load()
    try:
        conf = app.load_config(config_dir, overrides)
        why = None
    except (ConfigError, ValueError) as exc:  # the safe-mode page tells the owner
        conf, why = None, "the config cannot be read: {}".format(exc)
    if why is None and board_boot.safe_mode(record):
        why = "{} boots in a row failed".format(record["failed_boots"] - 1)
    name = conf["location_name"] if conf else "ugate"
    wifi = None if why else _wifi(config_dir)  # safe mode keeps to the access point
    if wifi and _join(wifi, name, conf["board"]["wifi_join_timeout"]):
        app.run(config_dir, overrides, platform)  # returns when stopped from the console
        stopped()
        return
    if why:
        _log.error("safe mode: " + why)
    import board_net
    import board_setup
    from board_improv import Improv, console
    networks = board_net.scan()
    address = board_net.access_point(name)
    gateway_port = conf["server_port"] if conf else 8123

    def connect(ssid, password):
        sta = board_net.join(ssid, password, name, conf["board"]["wifi_join_timeout"] if conf else 30)
        return sta and "http://{}:{}/".format(sta.ifconfig()[0], gateway_port)

    def provisioned(ssid, password):
        board_setup.save(config_dir, {"ssid": ssid, "password": password, "name": name})
        asyncio.create_task(board_boot.reset_soon())

    improv = Improv(name, board_file().get("name", sys.platform), networks, connect, provisioned)
    port = (overrides or {}).get("server_port") or 80
    board_setup.serve(config_dir, name, address, port, why, conf and conf["log_file"], networks,
                      [improv.serve(*console())])


def stopped():
    """The gateway was stopped from the console (Ctrl-C, mpremote): the
    watchdog, which cannot be stopped, is given MAINTENANCE_S where the
    board allows it."""
    if not _watchdog:
        return
    if board_file().get("watchdog_max_s", MAINTENANCE_S) < MAINTENANCE_S:
        print("ugate stopped: the watchdog resets this board within {} s".format(_watchdog[0]))
        return
    machine.WDT(timeout=MAINTENANCE_S * 1000)
    print("ugate stopped: the watchdog resets the board in {} s unless it is reset before".format(MAINTENANCE_S))
