"""The serial and radio bridge on both runtimes, over real pseudo terminals
and sockets: lines a sensor gateway writes become entities, controller
replies and commands reach the port, noise is counted and dropped, and ports
that vanish, start late or stop answering are retried while the gateway
keeps serving."""
import json
import os
import select
import socket
import subprocess
import time
import tty

import pytest

from conftest import MPY_CROSS, ROOT, Gateway, wait_for
from test_restore_state import wait_until_saved
from ugate.hub.states import slugify


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
    assert status["last_error"] is None and status["last_line_at"].endswith("+00:00")
    assert gw.get("/api/ugate/ports", token=False).status_code == 401


def test_noise_is_counted_and_dropped_while_good_lines_land(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "jsonl")
    noise = [
        b"garbage that is not json\n",
        b'{"id": "x", "temperature": 1' + b"9" * 5000 + b"}\n",  # over-long
        b"\xff\xfe\x00\x81binary\n",  # not UTF-8
        b"\x00\x01\x02\x03\n",  # control characters
        b'{"id": "kitchen", "tempera\n',  # truncated
        b"x" * 20000,  # over-long, the rest comes with the next write
    ]
    for chunk in noise:
        pty.write(chunk)
    pty.write(b"y" * 100 + b"\n" + b'{"id": "kitchen", "temperature": 19.5}\n')
    wait_state(gw, "sensor.jsonl_kitchen_temperature", "19.5")
    status = port_status(gw, pty.link)
    assert status["lines_rejected"] == 6
    assert status["lines_read"] == 7
    assert status["state"] == "connected"
    assert gw.get("/api/").status_code == 200
    # Nothing from the noise became an entity.
    ids = [s["entity_id"] for s in gw.get("/api/states").json()]
    assert ids == ["sensor.jsonl_kitchen_temperature"]
    # Logged, but rate-limited: one line for the burst, not one per line.
    assert gw.logs().count("rejected a line") == 1


def test_lines_that_are_not_strict_utf8_are_rejected(start_gateway, ptys):
    """MicroPython's decode() takes these; as states they would make every
    answer and restore_state.json unreadable as UTF-8."""
    pty = ptys()
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "jsonl"}],
                               "restore_state": True})
    wait_port(gw, pty.link, "connected")
    for bad in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\\ud800"):
        pty.write(b'{"id": "k", "mode": "' + bad + b'"}\n')  # overlong, surrogate, > U+10FFFF, escaped
    pty.write('{"id": "k", "mode": "\u00e9t\u00e9 \\ud83c\\udf1e"}\n'.encode())
    state = wait_state(gw, "sensor.jsonl_k_mode", "\u00e9t\u00e9 \U0001F31E")
    assert port_status(gw, pty.link)["lines_rejected"] == 4
    json.loads(gw.get("/api/states").content.decode("utf-8"))
    wait_until_saved(gw, "sensor.jsonl_k_mode")
    with open(os.path.join(gw.config_dir, "restore_state.json"), encoding="utf-8") as f:
        assert state["state"] in json.dumps(json.load(f), ensure_ascii=False)


def test_mysensors_gateway_gets_controller_replies(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "mysensors")
    pty.write(b"0;255;3;0;14;Gateway startup complete.\n255;255;3;0;3;\n")
    assert pty.read_line() == "255;255;3;0;4;1"
    pty.write(b"1;255;3;0;11;Weather\n1;0;0;0;6;\n1;0;1;0;0;21.5\n1;255;3;0;1;\n")
    reply = pty.read_line()
    assert reply.startswith("1;255;3;0;1;")
    assert abs(int(reply.split(";")[5]) - time.time()) < 60
    temp = wait_state(gw, "sensor.mysensors_1_0_temp", "21.5")
    assert temp["attributes"]["friendly_name"] == "Weather 0 Temp"
    assert temp["attributes"]["unit_of_measurement"] == "°C"
    assert temp["attributes"]["device_id"] == "mysensors/mysensors_1"
    # The ids handed out survive a restart: the next node gets 2, not 1 again.
    gw.restart()
    wait_port(gw, pty.link, "connected")
    pty.write(b"255;255;3;0;3;\n")
    assert pty.read_line() == "255;255;3;0;4;2"
    assert os.path.exists(os.path.join(gw.config_dir, "serial", slugify(pty.link), "mysensors.json"))


def test_a_full_mysensors_id_pool_is_a_notification(start_gateway, ptys, tmp_path):
    pty = ptys()
    config_dir = tmp_path / "c"
    state_dir = config_dir / "serial" / slugify(pty.link)
    os.makedirs(state_dir)
    nodes = {str(i): {"children": {}, "seen": int(time.time())} for i in range(1, 255)}
    (state_dir / "mysensors.json").write_text(json.dumps({"nodes": nodes}))
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "mysensors"}]},
                       config_dir=config_dir)
    wait_port(gw, pty.link, "connected")
    pty.write(b"255;255;3;0;3;\n")
    path = "/api/states/persistent_notification.serial_" + slugify(pty.link)
    attrs = wait_for(lambda: gw.get(path).status_code == 200 and gw.get(path).json()["attributes"],
                     what="the notification")
    assert attrs["title"] == "Serial port " + pty.link
    assert attrs["message"].startswith("no free node id: all 254 are used by nodes heard from within 30 days")
    assert port_status(gw, pty.link)["last_rejected"] == attrs["message"]


def test_rtl_433_and_rflink_lines_become_entities(start_gateway, ptys):
    rtl, rflink = ptys("rtl"), ptys("rflink")
    gw = start_gateway(config={"serial": [{"port": rtl.link, "protocol": "rtl_433"},
                                          {"port": rflink.link, "protocol": "rflink"}]})
    wait_port(gw, rtl.link, "connected")
    wait_port(gw, rflink.link, "connected")
    rtl.write(b'{"time":"2019-08-29 08:38:19","model":"Nexus-TH","id":42,"channel":2,'
              b'"battery_ok":1,"temperature_C":20.5,"humidity":83}\n')
    rflink.write(b"20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R46;\r\n"
                 b"20;2D;UPM/Esic;ID=0001;TEMP=00cf;HUM=16;BAT=OK;\r\n")
    temp = wait_state(gw, "sensor.rtl433_nexus_th_2_42_temperature", "20.5")
    assert temp["attributes"]["unit_of_measurement"] == "°C"
    wait_state(gw, "sensor.rflink_upm_esic_0001_temperature", "20.7")
    wait_state(gw, "sensor.rflink_upm_esic_0001_humidity", "16")
    statuses = gw.get("/api/ugate/ports").json()
    assert [(s["port"], s["protocol"]) for s in statuses] == [(rtl.link, "rtl_433"), (rflink.link, "rflink")]
    assert port_status(gw, rflink.link)["lines_read"] == 2


def call_service(gw, entity_id, value):
    return gw.post("/api/services/ugate/send_command", json={"entity_id": entity_id, "value": value})


def test_service_call_switches_an_rflink_device(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "rflink")
    pty.write(b"20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;\r\n20;12;Pir;ID=aa66;PIR=ON;\r\n")
    wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "on")
    r = call_service(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "off")
    assert r.status_code == 200
    assert pty.read_line() == "10;NewKaku;00c142;1;OFF;"
    assert call_service(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "on").status_code == 200
    assert pty.read_line() == "10;NewKaku;00c142;1;ON;"
    # A motion sensor cannot be commanded, an unknown or non-bridged entity
    # neither: 400, and the port gets nothing.
    wait_state(gw, "binary_sensor.rflink_pir_aa66_motion", "on")
    assert call_service(gw, "binary_sensor.rflink_pir_aa66_motion", "off").status_code == 400
    assert call_service(gw, "binary_sensor.nothing", "off").status_code == 400
    gw.post("/api/states/sensor.http_only", json={"state": "1"})
    assert call_service(gw, "sensor.http_only", "off").status_code == 400
    assert gw.post("/api/services/ugate/send_command", json={"value": "on"}).status_code == 400
    assert call_service(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "sideways").status_code == 400
    services = {s["domain"]: s["services"] for s in gw.get("/api/services").json()}
    assert set(services["ugate"]["send_command"]["fields"]) == {"entity_id", "value"}


def test_a_command_to_a_port_that_is_down_is_unavailable_not_bad(start_gateway, ptys):
    """The device is out of reach, the caller did nothing wrong: REST answers
    503, the WebSocket API home_assistant_error, Hono's API 503."""
    from ws_client import command, connect

    pty = ptys()
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "rflink"}], "hono": {}})
    wait_port(gw, pty.link, "connected")
    pty.write(b"20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;\r\n")
    wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "on")
    pty.unplug()
    wait_port(gw, pty.link, "retrying")
    down = {"message": "port {} is not connected".format(pty.link)}
    r = call_service(gw, "binary_sensor.rflink_newkaku_00c142_switch_1", "on")
    assert (r.status_code, r.json()) == (503, down)
    ws = connect(gw)
    answer = command(ws, {"id": 1, "type": "call_service", "domain": "ugate", "service": "send_command",
                          "service_data": {"entity_id": "binary_sensor.rflink_newkaku_00c142_switch_1",
                                           "value": "on"}})
    ws.close()
    assert answer["success"] is False
    assert answer["error"] == {"code": "home_assistant_error", "message": down["message"]}
    r = gw.post("/api/hono/DEFAULT_TENANT/commands/rflink/rflink_newkaku_00c142?name=switch_1",
                content=b"on", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()) == (503, {"error": down["message"]})
    assert r.headers["Retry-After"] == "2"


def test_service_call_sets_a_mysensors_child(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "mysensors")
    pty.write(b"3;255;3;0;11;Relay\n3;1;0;0;3;Lamp\n3;1;1;0;2;0\n")
    wait_state(gw, "binary_sensor.mysensors_3_1_status", "off")
    assert call_service(gw, "binary_sensor.mysensors_3_1_status", "on").status_code == 200
    assert pty.read_line() == "3;1;1;0;2;1"


def test_unplugged_port_is_retried_and_resumes(start_gateway, ptys):
    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "jsonl")
    pty.write(b'{"id": "hall", "temperature": 18}\n')
    wait_state(gw, "sensor.jsonl_hall_temperature", "18")
    pty.unplug()
    status = wait_port(gw, pty.link, "retrying")
    assert status["last_error"]
    assert gw.get("/api/").status_code == 200
    assert gw.get("/api/states/sensor.jsonl_hall_temperature").json()["state"] == "18"
    pty.plug()
    status = wait_port(gw, pty.link, "connected")
    assert status["last_error"] is None
    pty.write(b'{"id": "hall", "temperature": 18.5}\n')
    wait_state(gw, "sensor.jsonl_hall_temperature", "18.5")
    assert port_status(gw, pty.link)["lines_read"] == 2


class ServiceGateway(Gateway):
    new_session = True


def test_unplugging_does_not_hang_up_a_gateway_run_as_a_service(runtime, tmp_path, ptys):
    """A process in a session of its own, without a controlling terminal
    (a service), that opens a tty makes it its controlling terminal; the
    hang-up when the device goes then sent SIGHUP and ended the MicroPython
    gateway."""
    pty = ptys()
    gw = ServiceGateway(runtime, tmp_path / "c", {"serial": [{"port": pty.link, "protocol": "jsonl"}]})
    gw.start()
    try:
        wait_port(gw, pty.link, "connected")
        pty.write(b'{"id": "k", "temperature": 1}\n')
        wait_state(gw, "sensor.jsonl_k_temperature", "1")
        pty.unplug()
        wait_port(gw, pty.link, "retrying")
        assert gw.proc.poll() is None
        pty.plug()
        wait_port(gw, pty.link, "connected", timeout=30)
        pty.write(b'{"id": "k", "temperature": 2}\n')
        wait_state(gw, "sensor.jsonl_k_temperature", "2")
    finally:
        gw.stop()


def test_missing_port_at_start_is_waited_for(start_gateway, tmp_path, ptys):
    link = str(tmp_path / "ttyACM0")
    gw = start_gateway(config={"serial": [{"port": link, "protocol": "jsonl"}]})
    status = wait_port(gw, link, "retrying")
    assert "cannot open" in status["last_error"]
    assert status["lines_read"] == 0 and status["last_line_at"] is None
    assert gw.get("/api/").status_code == 200
    pty = ptys("ttyACM0")
    wait_port(gw, link, "connected")
    pty.write(b'{"id": "late", "humidity": 40}\n')
    wait_state(gw, "sensor.jsonl_late_humidity", "40")


def test_silent_port_is_reopened(start_gateway, ptys):
    pty = ptys()
    gw = start_gateway(config={"serial": [{"port": pty.link, "protocol": "jsonl", "silence_timeout": 2}]})
    wait_port(gw, pty.link, "connected")
    status = wait_port(gw, pty.link, "retrying")
    assert status["last_error"] == "silent for 2 s"
    # Still plugged in: it reopens, and a line that arrives is read.
    wait_port(gw, pty.link, "connected")
    pty.write(b'{"id": "quiet", "temperature": 5}\n')
    wait_state(gw, "sensor.jsonl_quiet_temperature", "5")


class SerialServer:
    """A ser2net-like TCP server: one client at a time."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.conn = None

    def accept(self):
        if self.conn:
            self.conn.close()
        self.conn, _ = self.sock.accept()
        self.conn.settimeout(10)
        return self.conn

    def close(self):
        if self.conn:
            self.conn.close()
        self.sock.close()


def test_tcp_port_like_ser2net(start_gateway):
    server = SerialServer()
    try:
        port = "tcp://127.0.0.1:{}".format(server.port)
        gw = start_gateway(config={"serial": [{"port": port, "protocol": "rflink"}]})
        conn = server.accept()
        wait_port(gw, port, "connected")
        conn.sendall(b"20;3A;NewKaku;ID=00c142;SWITCH=2;CMD=OFF;\r\n")
        wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_2", "off")
        assert call_service(gw, "binary_sensor.rflink_newkaku_00c142_switch_2", "on").status_code == 200
        assert conn.recv(100) == b"10;NewKaku;00c142;2;ON;\n"
        # The server drops the client: the gateway reconnects and reads on.
        conn.close()
        assert wait_port(gw, port, "retrying")["last_error"]
        conn = server.accept()
        wait_port(gw, port, "connected")
        conn.sendall(b"20;3B;NewKaku;ID=00c142;SWITCH=2;CMD=ON;\r\n")
        wait_state(gw, "binary_sensor.rflink_newkaku_00c142_switch_2", "on")
    finally:
        server.close()


def test_telemetry_event_on_the_bus(start_gateway, ptys):
    import httpx

    pty = ptys()
    gw = serial_gateway(start_gateway, pty, "jsonl")
    events = []
    with httpx.Client(timeout=20) as client:
        with client.stream("GET", gw.url("/api/stream?restrict=ugate_telemetry"),
                           headers=gw.headers()) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            # The stream subscribes as it starts: keep sending until it hears.
            for _ in range(20):
                pty.write(b'{"id": "porch", "temperature": 7.5, "motion": false}\n')
                time.sleep(0.2)
                for line in lines:
                    if line.startswith("data: {"):
                        events.append(json.loads(line[6:]))
                        break
                if events:
                    break
    event = events[0]
    assert event["event_type"] == "ugate_telemetry"
    assert event["data"] == {"tenant": "DEFAULT_TENANT", "device_id": "jsonl/jsonl_porch",
                             "payload": {"motion": "off", "temperature": 7.5}}


def test_bad_serial_config_names_the_key(start_gateway):
    for serial, key in [([{"port": "/dev/ttyUSB0", "protocol": "zigbee"}], "serial[0].protocol"),
                        ([{"protocol": "jsonl"}], "serial[0].port"),
                        ([{"port": "tcp://nowhere", "protocol": "rflink"}], "serial[0].port"),
                        ([{"port": "/dev/x", "protocol": "rflink", "repeat_window_ms": -1}], "serial[0]")]:
        with pytest.raises(RuntimeError) as exc:
            start_gateway(config={"serial": serial})
        assert "key '{}'".format(key) in str(exc.value)


@pytest.mark.parametrize("module", ["mp_platform.py", "board_uart.py", "unix_tty.py"])
def test_board_serial_code_compiles_for_micropython(module, tmp_path):
    # Board UARTs cannot run here; mpy-cross at least holds the code to
    # MicroPython's grammar, as a board receives it.
    r = subprocess.run([MPY_CROSS, "-o", str(tmp_path / "out.mpy"),
                        os.path.join(ROOT, "firmware", module)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
