"""The serial and radio bridge on both runtimes, over real pseudo terminals
and sockets: lines a sensor gateway writes become entities, controller
replies and commands reach the port, noise is counted and dropped, and ports
that vanish, start late or stop answering are retried while the gateway
keeps serving."""
import json
import os
import select
import socket
import threading
import time
import tty

import pytest


class Pty:
    """A pseudo terminal standing in for a USB serial gateway. The test holds
    the master end; the gateway opens the slave through the symlink `link`,
    as it would open /dev/serial/by-id/..."""

    def __init__(self, link):
        self.link = str(link)
        self.master = self.slave = None
        self.received = b""
        self.plug()

    def plug(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tmp = self.link + ".new"
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)

    def unplug(self):
        # The link goes first, so a retry never opens a recycled /dev/pts number.
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None

    def write(self, data):
        os.write(self.master, data)

    def read_line(self, timeout=10):
        """The next line the gateway wrote to the port, without its newline."""
        deadline = time.time() + timeout
        while b"\n" not in self.received:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError("no line from the gateway; got {!r}".format(self.received))
            self.received += os.read(self.master, 1024)
        line, self.received = self.received.split(b"\n", 1)
        return line.decode()

    def close(self):
        if self.master is not None:
            self.unplug()


@pytest.fixture
def ptys(tmp_path):
    made = []

    def make(name="ttyUSB0"):
        pty = Pty(tmp_path / name)
        made.append(pty)
        return pty

    yield make
    for pty in made:
        pty.close()


def wait_for(check, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def port_status(gw, port):
    r = gw.get("/api/ugate/ports")
    assert r.status_code == 200
    for status in r.json():
        if status["port"] == port:
            return status
    raise AssertionError("{} not in {}".format(port, r.json()))


def wait_port(gw, port, state, timeout=20):
    return wait_for(lambda: port_status(gw, port)["state"] == state and port_status(gw, port),
                    timeout, "{} to be {}".format(port, state))


def wait_state(gw, entity_id, state, timeout=10):
    def check():
        r = gw.get("/api/states/" + entity_id)
        return r.status_code == 200 and r.json()["state"] == state and r.json()
    return wait_for(check, timeout, "{} == {}".format(entity_id, state))


def serial_gateway(start_gateway, pty, protocol, **options):
    port = dict(port=pty.link, protocol=protocol, **options)
    gw = start_gateway(config={"serial": [port]})
    wait_port(gw, pty.link, "connected")
    return gw


def test_json_lines_become_entities(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "jsonl")
    pty.write(b'{"id": "kitchen", "name": "Kitchen", "temperature": 21.5, "motion": true}\n')
    temp = wait_state(gw, "sensor.jsonl_kitchen_temperature", "21.5")
    attrs = temp["attributes"]
    assert attrs["friendly_name"] == "Kitchen Temperature"
    assert attrs["unit_of_measurement"] == "°C"
    assert attrs["device_class"] == "temperature"
    assert attrs["device_id"] == "jsonl/jsonl_kitchen"
    assert attrs["port"] == pty.link
    motion = wait_state(gw, "binary_sensor.jsonl_kitchen_motion", "on")
    assert motion["attributes"]["device_class"] == "motion"
    # Lines split across reads and CRLF endings still make whole lines.
    pty.write(b'{"id": "kitchen", "tempe')
    time.sleep(0.3)
    pty.write(b'rature": 22}\r\n')
    wait_state(gw, "sensor.jsonl_kitchen_temperature", "22")
    status = port_status(gw, pty.link)
    assert status["protocol"] == "jsonl"
    assert status["lines_read"] == 2 and status["lines_rejected"] == 0
    assert status["last_error"] is None and status["last_line"].endswith("+00:00")
    assert gw.get("/api/ugate/ports", token=False).status_code == 401
