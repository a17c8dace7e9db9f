"""The fleet pattern: several gateways (5 CPython and 2 MicroPython
processes) publish into one Mosquitto, and one subscriber, where Home
Assistant would be, sees every gateway's discovery and states, each
gateway under its own node and topics. Every wait is bounded."""
import os

from conftest import Gateway
from mosquitto import Broker
from mqtt_client import Subscriber

RUNTIMES = ["cpython"] * 5 + ["micropython"] * 2
READINGS = 3


def test_a_fleet_of_gateways_into_one_broker(tmp_path):
    broker = Broker().start()
    gateways = []
    try:
        sub = Subscriber(broker.port, topics=("homeassistant/#", "ugate/#"))
        for i, runtime in enumerate(RUNTIMES):
            gw = Gateway(runtime, tmp_path / "gw{}".format(i), {
                "location_name": "Gateway {}".format(i), "log_level": "warning",
                "forward": [{"type": "mqtt", "name": "fleet", "port": broker.port}]})
            gateways.append(gw)
            gw.start()
        for i, gw in enumerate(gateways):
            for j in range(READINGS):
                r = gw.post("/api/states/sensor.reading_{}".format(j), json={
                    "state": str(i * 100 + j), "attributes": {"unit_of_measurement": "W"}})
                assert r.status_code == 201
        unique_ids = set()
        for i, gw in enumerate(gateways):
            with open(os.path.join(gw.config_dir, "instance_id")) as f:
                short = f.read().strip()[:12]
            node, base = "ugate-" + short, "ugate/" + short
            assert sub.wait(base + "/status", timeout=30) == b"online"
            device = sub.wait_json("homeassistant/binary_sensor/{}/gateway-status/config".format(node))["device"]
            assert device["name"] == "Gateway {}".format(i) and device["identifiers"] == [node]
            assert device["model"] == ("cpython" if RUNTIMES[i] == "cpython" else "micropython-linux")
            for j in range(READINGS):
                config = sub.wait_json("homeassistant/sensor/{}/reading_{}/config".format(node, j))
                assert config["device"]["identifiers"] == [node]
                assert config["availability"] == [{"topic": base + "/status"}]
                unique_ids.add(config["unique_id"])
                state = str(i * 100 + j).encode()
                assert sub.wait(config["state_topic"], lambda p: p == state) == state
        assert len(unique_ids) == len(RUNTIMES) * READINGS
        for gw in gateways:
            assert gw.get("/api/ugate/forwarders").json()[0]["connected"]
        sub.close()
    finally:
        for gw in gateways:
            gw.stop()
        broker.remove()
