"""`restore_state`: states survive a restart when it is on (off by default,
as in Home Assistant); an unreadable file is set aside, never fatal."""
import json
import os
import time

from conftest import Gateway

STATE = {"state": "21.5", "attributes": {"unit_of_measurement": "°C", "friendly_name": "Hall"}}


def saved_file(gw):
    return os.path.join(gw.config_dir, "restore_state.json")


def wait_until_saved(gw, entity_id, timeout=30):
    """The gateway saves a few seconds after a change (and at stop on the host)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(saved_file(gw)) as f:
                if entity_id in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("{} was not saved within {} s".format(entity_id, timeout))


def test_states_survive_a_restart(start_gateway):
    gw = start_gateway({"restore_state": True})
    gw.post("/api/states/sensor.hall", json=STATE)
    gw.post("/api/states/sensor.gone", json={"state": "1"})
    gw.delete("/api/states/sensor.gone")
    before = gw.get("/api/states/sensor.hall").json()
    # Under MicroPython SIGTERM ends the process at once: what the gateway
    # saved on its own is what survives.
    wait_until_saved(gw, "sensor.hall")
    gw.restart()
    r = gw.get("/api/states/sensor.hall")
    assert r.status_code == 200
    assert r.json() == before  # times, attributes and context as they were
    assert list(r.json()) == list(before)
    assert gw.get("/api/states/sensor.gone").status_code == 404
    # A restored state behaves like any other: same write, same times.
    again = gw.post("/api/states/sensor.hall", json=STATE)
    assert again.status_code == 200
    assert again.json()["last_changed"] == before["last_changed"]


def test_restart_restores_notifications_too(start_gateway):
    gw = start_gateway({"restore_state": True})
    gw.post("/api/services/persistent_notification/create",
            json={"message": "Check the garage", "notification_id": "garage"})
    wait_until_saved(gw, "persistent_notification.garage")
    gw.restart()
    state = gw.get("/api/states/persistent_notification.garage").json()
    assert state["attributes"]["message"] == "Check the garage"


def test_host_saves_at_stop(tmp_path):
    # The host handles SIGTERM: a change made just before the stop is saved
    # at once, without waiting for the save interval. (The MicroPython unix
    # port has no signal handler; the test above covers it.)
    gw = Gateway("cpython", tmp_path / "config", {"restore_state": True}).start()
    try:
        gw.post("/api/states/sensor.last", json={"state": "7"})
        before = gw.get("/api/states/sensor.last").json()
        gw.restart()
        assert gw.get("/api/states/sensor.last").json() == before
    finally:
        gw.stop()


def test_off_by_default(start_gateway):
    gw = start_gateway()
    gw.post("/api/states/sensor.hall", json=STATE)
    gw.restart()
    assert gw.get("/api/states/sensor.hall").status_code == 404
    assert not os.path.exists(saved_file(gw))


def test_corrupt_file_is_set_aside(start_gateway, tmp_path):
    config_dir = tmp_path / "corrupt"
    os.makedirs(config_dir)
    for content in ('{"version": 1, "states": [["sensor.x", "1"', "[1, 2]",
                    json.dumps({"version": 1, "states": [["bad id", "1", {}, 1, 1, 1,
                                                          ["x", None, None]]]})):
        with open(config_dir / "restore_state.json", "w") as f:
            f.write(content)
        gw = start_gateway({"restore_state": True}, config_dir=config_dir)
        assert gw.get("/api/states").json() == []
        assert "restore_state.json is unreadable" in gw.logs()
        with open(config_dir / "restore_state.json.corrupt") as f:
            assert f.read() == content
        gw.stop()
    # Saving works again.
    gw.start()
    gw.post("/api/states/sensor.new", json={"state": "1"})
    wait_until_saved(gw, "sensor.new")
    gw.restart()
    assert gw.get("/api/states/sensor.new").json()["state"] == "1"
