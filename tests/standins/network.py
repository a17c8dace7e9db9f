"""Stand-in for a board's `network` module (the unix port has none): a
Wi-Fi whose networks, password and signal come from the stand-in settings
(`wifi`: {"ssid", "password", "networks": [[ssid, rssi], ...], "address"}).
Joining succeeds when the credentials match."""
import _standin

STA_IF, AP_IF = 0, 1
_joined = [False]


def hostname(name=None):
    if name is not None:
        _standin.record("hostname " + name)
    return "ugate"


class WLAN:
    def __init__(self, interface):
        self.interface = interface
        self.wifi = _standin.settings()["wifi"]

    def active(self, on=None):
        if on is not None:
            _standin.record("{} active {}".format("sta" if self.interface == STA_IF else "ap", on))
        return True

    def connect(self, ssid, password):
        _standin.record("connect " + ssid)
        if self.wifi.get("connect_fails_with"):
            raise OSError(self.wifi["connect_fails_with"])
        _joined[0] = ssid == self.wifi["ssid"] and password == self.wifi["password"]

    def isconnected(self):
        return self.interface == STA_IF and _joined[0]

    def ifconfig(self):
        return (self.wifi.get("address", "127.0.0.1"), "255.255.255.0", "127.0.0.1", "127.0.0.1")

    def config(self, **settings):
        _standin.record("ap " + settings.get("essid", ""))

    def scan(self):
        return [(ssid.encode(), b"\x00" * 6, 1, rssi, 3, False) for ssid, rssi in self.wifi["networks"]]

    def status(self, what=None):
        return self.wifi["rssi"] if what == "rssi" else 1010
