"""The board appliance while the gateway runs: `setup(app, hub)` is the
board platform's part of the gateway, the board status API, the update
API, and the background tasks that keep the clock true, feed the hardware
watchdog and confirm the boot; `stopped()` when it was stopped from the
console (README "The board appliance"). The start before it (Wi-Fi or the
setup page, safe mode) is board_start. Imported only where `network`
exists."""
import asyncio
import gc
import json
import time

import machine
import network
from ugate.base import compat, log, store
from ugate.http.auth import requires_auth
from ugate.http.responses import json_response

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


def boot_record(change=None):
    """The boot record (board_boot, unloaded again: the running gateway
    needs it only now and then); `change` is a board_boot function that
    writes it, e.g. confirm."""
    import board_boot
    try:
        record = change() if change else board_boot.load()
        return dict(record, running=board_boot.running(record))
    finally:
        compat.unload("board_boot")


def trial_watchdog_s():
    """The watchdog boot.py armed for an update on trial, in seconds; 0
    when there is none."""
    import board_boot
    try:
        return board_boot.trial_watchdog_s() if board_boot.load()["trial"] else 0
    finally:
        compat.unload("board_boot")


def status(clock):
    """The board status: what the API's GET /api/ugate/board answers."""
    record = boot_record()
    gc.collect()
    return {"board": board_file().get("name"), "reset_cause": reset_cause(),
            "free_heap": gc.mem_free(), "heap_used": gc.mem_alloc(),
            "uptime": time.ticks_diff(time.ticks_ms(), _booted_ms) // 1000, "wifi_rssi": rssi(),
            "clock_synced": clock.synced, "slot": record["running"], "on_trial": bool(record["trial"]),
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
    import board_boot
    record = boot_record(board_boot.confirm)
    _log.info("boot confirmed; running {}".format(record["slot"]))


def setup(app, hub):
    from board_clock import Clock
    conf = hub.config["board"]
    clock = Clock(conf["ntp_servers"])
    hub.background.append(clock.run)
    # An update on trial runs under boot.py's watchdog, which cannot be stopped.
    watchdog = conf["watchdog_timeout"] or trial_watchdog_s()
    if watchdog:
        hub.background.append(lambda hub: feed_watchdog(watchdog))
    hub.background.append(lambda hub: confirm_boot(conf["update_confirm_after"]))
    auth = requires_auth(hub.auth)

    @app.get("/api/ugate/board")
    @auth
    async def board_status(request):
        return json_response(status(clock))

    # The update API's steps live in board_ota, loaded by the first of them.
    @app.post("/api/ugate/update")
    @app.route("/api/ugate/update/<path:step>", methods=["PUT", "POST"])
    @auth
    async def update(request, step=""):
        import board_ota
        return board_ota.handle(request, step)


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
