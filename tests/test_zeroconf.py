"""Discovery: the gateway announced as `_home-assistant._tcp.local.` with
Home Assistant's TXT properties, browsed by python-zeroconf as the apps do.
Multicast runs in a network namespace of the test's own (`unshare -n`, as
root, as CI runs), so nothing leaves the machine."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, RUNTIMES

PROBE = os.path.join(ROOT, "tests", "zeroconf_probe.py")


def browse(runtime, config_dir, config, seconds=10, host="127.0.0.1"):
    """What a phone finds (it answers within a second when it is there)."""
    r = subprocess.run(["unshare", "-n", sys.executable, PROBE, runtime, str(config_dir),
                        json.dumps(config), str(seconds), host], capture_output=True, text=True, timeout=60,
                       cwd=os.path.join(ROOT, "tests"))
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout), r.stderr


def test_announced_as_home_assistant_is(tmp_path):
    found, logs = browse("cpython", tmp_path, {"zeroconf": True, "location_name": "Holiday Home",
                                               "external_url": "https://home.example.com"})
    [service] = found["services"]
    with open(os.path.join(str(tmp_path), "instance_id")) as f:
        uuid = f.read().strip()
    internal = "http://127.0.0.1:{}".format(found["port"])
    assert service["name"] == "Holiday Home._home-assistant._tcp.local."
    assert service["port"] == found["port"] and service["addresses"] == ["127.0.0.1"]
    assert service["server"] == uuid + ".local."
    assert service["properties"] == {
        "location_name": "Holiday Home", "uuid": uuid, "version": "2025.1.0",
        "external_url": "https://home.example.com", "internal_url": internal,
        "base_url": "https://home.example.com", "requires_api_password": "True"}
    assert "announcing Holiday Home._home-assistant._tcp.local." in logs


def test_long_values_blanked_and_the_uuid_kept(tmp_path):
    long_url = "https://" + "a" * 230 + ".example.com"
    found, _ = browse("cpython", tmp_path, {"zeroconf": True, "external_url": long_url})
    first = found["services"][0]["properties"]
    # base_url is the external URL too long to send: blanked as well, as in
    # Home Assistant; the apps fall back to internal_url.
    assert first["external_url"] == first["base_url"] == "" and first["internal_url"]
    found, _ = browse("cpython", tmp_path, {"zeroconf": True})
    assert found["services"][0]["properties"]["uuid"] == first["uuid"]  # across restarts


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_loopback_gateways_announce_nothing_unless_told(runtime, tmp_path):
    # Listening on 127.0.0.1 only, no phone could reach it: nothing announced.
    found, logs = browse(runtime, tmp_path, {}, seconds=3)
    assert found["services"] == [] and "zeroconf" not in logs


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_gateway_without_what_phones_need_announces_nothing(runtime, tmp_path):
    # On every interface, but without the faces the companion apps need (a
    # board's REST-only config): nothing announced, no mDNS package loaded.
    for faces in (["mobile_app"], ["websocket"], ["auth"]):
        found, logs = browse(runtime, tmp_path / faces[0], {"disabled_faces": faces}, seconds=3, host="0.0.0.0")
        assert found["services"] == [] and "zeroconf" not in logs
    # With them, the default announces (the unix port tries, and says why it
    # cannot: no LAN address of its own).
    found, logs = browse(runtime, tmp_path / "all", {}, seconds=5, host="0.0.0.0")
    if runtime == "cpython":
        assert len(found["services"]) == 1 and found["services"][0]["properties"]["uuid"]
    else:
        assert "zeroconf: no network address to announce _home-assistant._tcp.local. on" in logs


def test_the_unix_port_says_why_it_announces_nothing(tmp_path):
    # micropython-mdns needs a board's sockets (lwIP); the unix port lacks
    # them, so the firmware says so and serves on.
    found, logs = browse("micropython", tmp_path, {"zeroconf": True}, seconds=3)
    assert found["services"] == []
    assert "zeroconf: _home-assistant._tcp.local. not announced here" in logs
