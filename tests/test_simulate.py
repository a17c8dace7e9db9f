"""`ugate simulate`: a real process playing a gateway's traffic on a pty. The
test reads the pty like the bridge does, parses every line with the
protocol's parser and writes the parser's replies and commands back."""
import os
import select
import signal
import subprocess
import time

import pytest

from conftest import UGATE, run_ugate
from ugate.sources import sensors


class Sim:
    def __init__(self, protocol, tmp_path, *extra):
        self.proc = subprocess.Popen([UGATE, "simulate", "--protocol", protocol, "--interval", "0.05",
                                      "--seed", "7", "--noise", "0.2"] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        assert ready, "the simulator printed no device path"
        self.path = self.proc.stdout.readline().strip()
        self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.buf = b""
        self.protocol = sensors.create(protocol, {}, str(tmp_path))
        self.readings, self.rejected, self.raw = [], [], []

    def lines(self, seconds):
        """Lines that arrive within `seconds`, parsed; replies go back."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            self.buf += os.read(self.fd, 4096)
            *lines, self.buf = self.buf.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                self.raw.append(line)
                try:
                    readings, replies = self.protocol.feed(line)
                except ValueError as exc:
                    self.rejected.append(str(exc))
                    continue
                self.readings += readings
                for reply in replies:
                    self.write(reply)

    def write(self, line):
        os.write(self.fd, (line + "\n").encode())

    def values(self, entity_id):
        return [r.value for r in self.readings if r.entity_id == entity_id]

    def devices(self):
        return {r.device for r in self.readings}

    def stop(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(10)


@pytest.fixture
def sim(tmp_path):
    started = []

    def start(protocol, *extra):
        started.append(Sim(protocol, tmp_path, *extra))
        return started[-1]
    yield start
    for s in started:
        s.stop()


def drifts(values):
    return len(set(values)) > 1


def test_mysensors_nodes_present_and_get_an_id(sim):
    s = sim("mysensors")
    s.lines(3)
    # Nodes 1 and 2 present themselves; the third asks for an id, gets the
    # first free one from the parser (controller) and presents with it.
    assert {"mysensors_1", "mysensors_2"} <= s.devices()
    assert s.readings[-1].device_name in ("Weather node", "Door node", "Motion node")
    assert drifts(s.values("sensor.mysensors_1_0_temp"))
    new = [d for d in s.devices() if d not in ("mysensors_1", "mysensors_2")]
    assert new == ["mysensors_3"], s.devices()
    motion = [r for r in s.readings if r.entity_id == "binary_sensor.mysensors_3_0_tripped"]
    assert motion and motion[-1].device_class == "motion" and motion[-1].device_name == "Motion node"
    assert s.rejected, "noise lines are sent"
    # A command to the relay comes back as the relay's new state.
    relay = [r for r in s.readings if r.entity_id == "binary_sensor.mysensors_2_1_status"][-1]
    s.write(s.protocol.command(relay.attributes, "on"))
    s.lines(1)
    assert s.values("binary_sensor.mysensors_2_1_status")[-1] == "on"


def test_rflink_traffic_and_commands(sim):
    s = sim("rflink")
    s.lines(2)
    assert s.raw[0].endswith(";Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R46;")
    assert {"rflink_upm_esic_0001", "rflink_alecto_v1_0334", "rflink_newkaku_00c142"} <= s.devices()
    assert drifts(s.values("sensor.rflink_alecto_v1_0334_temperature"))
    # Each press is sent three times and counted once.
    frames = [line[6:] for line in s.raw if "NewKaku" in line]
    assert len(frames) >= 3 * len(s.values("binary_sensor.rflink_newkaku_00c142_switch_1")) > 0
    assert s.rejected
    s.write("10;PING;")
    s.write(s.protocol.command({"protocol": "rflink", "rflink_protocol": "NewKaku", "id": "00c142",
                                "switch": "1"}, "on"))
    s.lines(1)
    assert any(line.endswith(";PONG;") for line in s.raw)
    assert any(line.endswith(";OK;") for line in s.raw)


def test_rtl_433_traffic(sim):
    s = sim("rtl_433")
    s.lines(2)
    assert {"rtl433_nexus_th_2_42", "rtl433_fineoffset_wh24_140"} <= s.devices()
    assert drifts(s.values("sensor.rtl433_nexus_th_2_42_temperature"))
    assert s.rejected


def test_jsonl_traffic_and_commands(sim):
    s = sim("jsonl")
    s.lines(2)
    assert {"jsonl_kitchen", "jsonl_porch"} <= s.devices()
    assert drifts(s.values("sensor.jsonl_kitchen_temperature"))
    s.write(s.protocol.command({"protocol": "jsonl", "id": "porch", "key": "light"}, "on"))
    s.lines(1)
    assert s.values("binary_sensor.jsonl_porch_light")[-1] == "on"


def test_link_names_the_device_and_goes_away_on_stop(sim, tmp_path):
    link = tmp_path / "dev" / "sim-rflink"
    s = sim("rflink", "--link", str(link))
    assert os.readlink(link) == s.path
    s.proc.send_signal(signal.SIGTERM)
    assert s.stop() == 0
    assert not os.path.lexists(link)


def test_link_never_replaces_a_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    r = run_ugate("simulate", "--protocol", "jsonl", "--link", path, timeout=20)
    assert r.returncode != 0 and "is not a symlink" in r.stderr
    assert path.read_text() == "{}"
