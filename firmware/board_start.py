"""A board's start, before the gateway (main.py): safe mode after repeated
failed boots or with a config that cannot be read, else Wi-Fi from
wifi.json, else the setup access point with its page and Improv over
serial. Unloaded once Wi-Fi is up: the gateway's heap does not keep it."""
import asyncio
import json
import sys

import board_boot
from board_appliance import board_file
from ugate.base import compat, log, store
from ugate.base.validation import ConfigError

_log = log.get("board")


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
        compat.unload("board_net")  # the gateway's heap needs it no more


def start(config_dir, overrides):
    """Return once Wi-Fi is up (the gateway starts then); else serve the
    setup page until it restarts the board."""
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
    raise OSError("the setup page stopped")  # main.py restarts the board
