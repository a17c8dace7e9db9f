"""Runs first on a board: join Wi-Fi from /ugate-data/wifi.json when present, so
main.py can serve on the LAN. The unix port does not run this file."""
try:
    import json
    import time

    import network

    with open("/ugate-data/wifi.json") as f:
        wifi = json.load(f)
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(wifi["ssid"], wifi["password"])
        for _ in range(100):
            if sta.isconnected():
                break
            time.sleep_ms(100)
    print("wifi:", sta.ifconfig()[0] if sta.isconnected() else "not connected")
except (ImportError, OSError, KeyError, ValueError) as exc:
    print("wifi: skipped ({!r})".format(exc))
