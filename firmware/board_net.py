"""Wi-Fi on a board (`network.WLAN`): join the network of wifi.json with the
gateway's name as hostname, or open the setup access point. Imported only
where `network` exists (the unix port has none; the tests give it a
stand-in)."""
import time

import network

from ugate.base import log

_log = log.get("wifi")


def hostname(name):
    """The gateway's name as a DHCP hostname: lower case letters, digits and
    '-', at most 32 characters ("Garden Shed" -> "garden-shed")."""
    out = []
    for c in name.lower():
        ok = "a" <= c <= "z" or "0" <= c <= "9"
        if ok or (out and out[-1] != "-"):
            out.append(c if ok else "-")
    return "".join(out).strip("-")[:32] or "ugate"


def join(ssid, password, name, timeout_s):
    """The station interface joined to `ssid`, or None after `timeout_s`."""
    network.hostname(hostname(name))
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(ssid, password)
        deadline = time.ticks_add(time.ticks_ms(), timeout_s * 1000)
        while not sta.isconnected() and time.ticks_diff(deadline, time.ticks_ms()) > 0:
            time.sleep_ms(200)
    if not sta.isconnected():
        _log.warning("could not join Wi-Fi '{}' in {} s".format(ssid, timeout_s))
        sta.active(False)
        return None
    _log.info("joined Wi-Fi '{}' as {} ({})".format(ssid, hostname(name), sta.ifconfig()[0]))
    return sta


def access_point(name):
    """An open access point named "<hostname>-setup"; returns its address."""
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    essid = hostname(name) + "-setup"
    ap.config(essid=essid, security=0)
    address = ap.ifconfig()[0]
    _log.warning("setup access point '{}' at http://{}/".format(essid, address))
    return address


def scan():
    """[(ssid, rssi, secured)] of the networks in reach, strongest first,
    each once."""
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    best = {}
    try:
        found = sta.scan()
    except OSError as exc:  # e.g. while the radio is busy as an access point
        _log.warning("Wi-Fi scan failed: {!r}".format(exc))
        found = []
    for entry in found:
        ssid = entry[0].decode("utf-8", "replace") if isinstance(entry[0], bytes) else entry[0]
        if ssid and entry[3] > best.get(ssid, (-1000,))[0]:
            best[ssid] = (entry[3], entry[4] != 0)  # RSSI, security (0: open)
    return sorted(((ssid, v[0], v[1]) for ssid, v in best.items()), key=lambda item: -item[1])
