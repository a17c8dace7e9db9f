"""Forwarding into MQTT on both runtimes, against a real Mosquitto (Debian's,
started here on a free loopback port) and paho-mqtt subscribers: Home
Assistant discovery payloads for bridged and posted entities, retained
states, removals, the availability topic (online at connect, offline as the
will when the gateway is killed), discovery again on Home Assistant's
birth message, a command topic driving a pty device, TLS with a throwaway
CA, refused credentials, and a broker restart that loses nothing."""
import json
import signal
import time

import pytest
import trustme

from conftest import run_core, wait_for
from mosquitto import Broker
from mqtt_client import Subscriber
from test_bridge import ptys, wait_port  # noqa: F401 - ptys is a fixture

INSTANCE = "0123456789abcdef0123456789abcdef"
NODE = "ugate-0123456789ab"
BASE = "ugate/0123456789ab"
STATUS = BASE + "/status"
GATEWAY_CONFIG = "homeassistant/binary_sensor/{}/gateway-status/config".format(NODE)


def config_topic(component, object_id):
    return "homeassistant/{}/{}/{}/config".format(component, NODE, object_id)


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.remove()


def mqtt_gateway(start_gateway, tmp_path, port, serial=None, name="gw", instance=INSTANCE, **options):
    """A gateway forwarding into the broker on `port` (keepalive 5 s), with
    a known instance id and optionally a JSON-lines port on the pty `serial`."""
    config_dir = tmp_path / name
    config_dir.mkdir()
    (config_dir / "instance_id").write_text(instance + "\n")
    config = {"forward": [dict({"type": "mqtt", "name": "broker", "port": port, "keepalive": 5}, **options)]}
    if serial is not None:
        config["serial"] = [{"port": serial.link, "protocol": "jsonl"}]
    gw = start_gateway(config=config, config_dir=config_dir)
    if serial is not None:
        wait_port(gw, serial.link, "connected")
    return gw


def status(gw):
    [forwarder] = gw.get("/api/ugate/forwarders").json()
    return forwarder


def test_discovery_and_states(start_gateway, tmp_path, ptys):  # noqa: F811
    broker = Broker(passwords={"gw": "s3cret-pw", "ha": "ha-pw"}).start()
    try:
        sub = Subscriber(broker.port, username="ha", password="ha-pw")
        pty = ptys()
        gw = mqtt_gateway(start_gateway, tmp_path, broker.port, serial=pty, username="gw",
                          password="s3cret-pw", expire_after=900, exclude=["sensor.private_*"])
        pty.write(b'{"id": "porch", "name": "Porch", "temperature": 7.5, "motion": true}\n')
        gw.post("/api/states/sensor.meter", json={"state": "1200.5", "attributes": {
            "unit_of_measurement": "kWh", "device_class": "energy", "friendly_name": "Meter"}})
        gw.post("/api/states/sensor.private_diary", json={"state": "secret"})

        assert sub.wait(STATUS) == b"online"
        gateway = sub.wait_json(GATEWAY_CONFIG)
        assert gateway["state_topic"] == STATUS and gateway["device_class"] == "connectivity"
        assert gateway["device"]["identifiers"] == [NODE]

        # A bridged reading: its own device, behind the gateway.
        temperature = sub.wait_json(config_topic("sensor", "jsonl_porch_temperature"))
        assert {k: temperature[k] for k in ("name", "unique_id", "default_entity_id", "state_topic",
                                            "unit_of_measurement", "device_class", "state_class",
                                            "availability", "expire_after")} == {
            "name": "Temperature", "unique_id": NODE + "_sensor.jsonl_porch_temperature",
            "default_entity_id": "sensor.jsonl_porch_temperature",
            "state_topic": BASE + "/sensor/jsonl_porch_temperature/state", "unit_of_measurement": "°C",
            "device_class": "temperature", "state_class": "measurement",
            "availability": [{"topic": STATUS}], "expire_after": 900}
        assert temperature["device"] == {"identifiers": [NODE + "_jsonl/jsonl_porch"], "name": "Porch",
                                         "manufacturer": "jsonl", "via_device": NODE}
        assert sub.wait(temperature["state_topic"]) == b"7.5"
        attributes = json.loads(sub.wait(BASE + "/sensor/jsonl_porch_temperature/attributes"))
        assert attributes["friendly_name"] == "Porch Temperature"
        motion = sub.wait_json(config_topic("binary_sensor", "jsonl_porch_motion"))
        assert (motion["device_class"], motion["payload_on"], motion["payload_off"]) == ("motion", "on", "off")
        assert motion["device"]["identifiers"] == temperature["device"]["identifiers"]
        assert sub.wait(motion["state_topic"]) == b"on"

        # A posted entity belongs to the gateway itself and never expires.
        meter = sub.wait_json(config_topic("sensor", "meter"))
        assert meter["device"] == gateway["device"] and "expire_after" not in meter
        assert (meter["name"], meter["state_class"]) == ("Meter", "total_increasing")
        assert sub.wait(BASE + "/sensor/meter/state") == b"1200.5"

        # A change goes out; a removal empties the retained messages.
        pty.write(b'{"id": "porch", "name": "Porch", "temperature": 8}\n')
        assert sub.wait(temperature["state_topic"], lambda p: p == b"8")
        gw.delete("/api/states/sensor.meter")
        sub.wait(config_topic("sensor", "meter"), lambda p: p == b"")
        sub.wait(BASE + "/sensor/meter/state", lambda p: p == b"")

        assert not [t for t in sub.topics() if "private" in t]
        s = wait_for(lambda: status(gw)["queued"] == 0 and status(gw), what="nothing queued")
        assert (s["name"], s["type"], s["connected"], s["failed"], s["last_error"]) == (
            "broker", "mqtt", True, 0, None)
        assert s["sent"] >= 5 and s["last_success"]
        assert "s3cret-pw" not in gw.logs()
        sub.close()
    finally:
        broker.remove()


def test_a_command_topic_drives_the_device(start_gateway, tmp_path, broker, ptys):  # noqa: F811
    sub = Subscriber(broker.port)
    pty = ptys()
    gw = mqtt_gateway(start_gateway, tmp_path, broker.port, serial=pty)
    pty.write(b'{"id": "lamp", "name": "Lamp", "relay": false}\n')
    # A binary sensor whose device takes commands, with no device class: a switch.
    switch = sub.wait_json(config_topic("switch", "jsonl_lamp_relay"))
    assert switch["command_topic"] == BASE + "/binary_sensor/jsonl_lamp_relay/set"
    assert (switch["default_entity_id"], switch["payload_on"], switch["payload_off"]) == (
        "switch.jsonl_lamp_relay", "on", "off")
    assert switch["state_topic"] == BASE + "/binary_sensor/jsonl_lamp_relay/state"
    assert sub.wait(switch["state_topic"]) == b"off"
    sub.publish(switch["command_topic"], "on")
    assert pty.read_line() == '{"id": "lamp", "relay": true}'
    # Commands nobody can take are logged and change nothing.
    sub.publish(BASE + "/sensor/nothing_here/set", "1")
    gw.post("/api/states/sensor.posted", json={"state": "1"})
    sub.publish(BASE + "/sensor/posted/set", "2")
    wait_for(lambda: "sensor.posted, which has no device" in gw.logs(), what="the refusal logged")
    sub.publish(switch["command_topic"], "off")
    assert pty.read_line() == '{"id": "lamp", "relay": false}'
    assert status(gw)["connected"]
    sub.close()


def test_availability_and_home_assistants_birth(start_gateway, tmp_path, broker):
    sub = Subscriber(broker.port)
    gw = mqtt_gateway(start_gateway, tmp_path, broker.port)
    gw.post("/api/states/sensor.x", json={"state": "1", "attributes": {"unit_of_measurement": "W"}})
    sub.wait(config_topic("sensor", "x"))
    assert sub.wait(STATUS) == b"online"
    # Idle for longer than 1.5 keepalives: the gateway's pings keep it online.
    time.sleep(8)
    assert sub.received(STATUS) == [b"online"] and status(gw)["connected"]
    # Home Assistant (re)started: it says online, the gateway announces again.
    seen = len(sub.received(config_topic("sensor", "x")))
    sub.publish("homeassistant/status", "online")
    sub.wait(GATEWAY_CONFIG, after=1)
    assert sub.wait_json(config_topic("sensor", "x"), after=seen)["unit_of_measurement"] == "W"
    # kill -9: the broker publishes the will, offline, within 1.5 keepalives.
    killed = time.time()
    gw.kill()
    sub.wait(STATUS, lambda p: p == b"offline", timeout=7.5)
    assert time.time() - killed <= 7.5
    gw.start()
    sub.wait(STATUS, lambda p: p == b"online")
    # A clean stop says offline too.
    gw.stop()
    sub.wait(STATUS, lambda p: p == b"offline", timeout=7.5)
    sub.close()


def test_a_dead_broker_and_its_restart_lose_nothing(start_gateway, tmp_path, broker):
    sub = Subscriber(broker.port)
    gw = mqtt_gateway(start_gateway, tmp_path, broker.port)
    gw.post("/api/states/sensor.a", json={"state": "1"})
    sub.wait(BASE + "/sensor/a/state", lambda p: p == b"1")
    # The broker stops answering (as when its host loses power): the
    # gateway notices within about two keepalives, then it is gone.
    broker.proc.send_signal(signal.SIGSTOP)
    wait_for(lambda: not status(gw)["connected"], timeout=20, what="the silence to be noticed")
    broker.kill()
    for value in ("2", "3"):
        gw.post("/api/states/sensor.a", json={"state": value})
    gw.post("/api/states/sensor.b", json={"state": "5"})
    s = wait_for(lambda: not status(gw)["connected"] and status(gw), what="the forwarder to notice")
    assert s["queued"] == 2 and s["last_error"]  # the newest state of each entity
    # The broker comes back without persistence: the gateway brings back
    # its status, its discovery and every state.
    broker.start()
    sub.wait(BASE + "/sensor/a/state", lambda p: p == b"3", timeout=30)
    sub.wait(BASE + "/sensor/b/state", lambda p: p == b"5")
    sub.wait(config_topic("sensor", "a"))
    assert sub.wait(STATUS) == b"online"
    assert sub.received(BASE + "/sensor/a/state")[-2:] == [b"1", b"3"]  # never 2: it was not the newest
    assert wait_for(lambda: status(gw)["connected"] and status(gw)["queued"] == 0, what="reconnected")
    sub.close()


def test_tls_with_a_throwaway_ca(start_gateway, tmp_path):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    broker = Broker(tls=(b"".join(c.bytes() for c in leaf.cert_chain_pems).decode(),
                         leaf.private_key_pem.bytes().decode())).start()
    try:
        sub = Subscriber(broker.tls_port, ca_file=str(tmp_path / "ca.pem"))
        gw = mqtt_gateway(start_gateway, tmp_path, broker.tls_port, tls=True, ca_file=str(tmp_path / "ca.pem"))
        gw.post("/api/states/sensor.tls", json={"state": "1"})
        sub.wait(BASE + "/sensor/tls/state", lambda p: p == b"1")
        # Another CA is not trusted: the gateway says why and sends nothing.
        other = trustme.CA()
        (tmp_path / "other.pem").write_bytes(other.cert_pem.bytes())
        untrusting = mqtt_gateway(start_gateway, tmp_path, broker.tls_port, name="untrusting",
                                  instance="f" * 32, tls=True, ca_file=str(tmp_path / "other.pem"))
        untrusting.post("/api/states/sensor.never", json={"state": "1"})
        s = wait_for(lambda: status(untrusting)["last_error"] and status(untrusting), what="a TLS failure")
        assert not s["connected"] and s["queued"] == 1
        assert not [t for t in sub.topics() if t.startswith("ugate/ffffffffffff")]
        sub.close()
    finally:
        broker.remove()


def test_refused_credentials_stop_the_forwarder_and_notify(start_gateway, tmp_path):
    broker = Broker(passwords={"gw": "right"}).start()
    try:
        gw = mqtt_gateway(start_gateway, tmp_path, broker.port, username="gw", password="wrong")
        s = wait_for(lambda: status(gw)["last_error"] and status(gw), what="the refusal")
        assert not s["connected"] and "not authorized" in s["last_error"]
        note = gw.get("/api/states/persistent_notification.forward_broker").json()
        assert note["attributes"]["title"] == "Forwarder broker stopped"
        assert "wrong" not in gw.logs()
    finally:
        broker.remove()


def test_a_topic_with_wildcards_is_refused(start_gateway, tmp_path):
    with pytest.raises(RuntimeError) as exc:
        start_gateway(config={"forward": [{"type": "mqtt", "name": "b", "base_topic": "ugate/#"}]})
    assert "key 'forward[0].base_topic': expected an MQTT topic without + and #" in str(exc.value)


def test_names_split_into_device_and_entity(runtime):
    """Home Assistant shows "<device> <entity>": a bridged reading's
    friendly name is cut where its key starts (rflink, mysensors), other
    names lose the device's name in front (a Hono device's readings)."""
    out = run_core(runtime, "\n".join([
        "from ugate.faces.forward.mqtt import split_name",
        "print(split_name('NewKaku 00c142 Switch 1', 'rflink_newkaku_00c142', 'switch_1'))",
        "print(split_name('Kitchen node 1 Temp', 'mysensors_1', '1_temp'))",
        "print(split_name('4711 temperature', '4711'))",
        "print(split_name('Solo', 'dev', 'a_b'))"]))
    assert out.splitlines() == ["('NewKaku 00c142', 'Switch 1')", "('Kitchen node', '1 Temp')",
                                "('4711', 'temperature')", "('dev', 'Solo')"]
