"""`ugate simulate`: a sensor gateway's traffic on a pseudo terminal, so the
bridge can be run and tested without radios.

    ugate simulate --protocol mysensors|rflink|rtl_433|jsonl [--interval S] [--link PATH]

The device path (the pty's slave) is printed alone on the first line of
stdout and, with --link, symlinked at PATH. Every interval a few devices
report drifting values; now and then a line is noise (binary garbage, cut
short or over-long). The simulated gateway also answers the controller: a
MySensors node without an id asks for one and presents itself with the id it
gets, a relay or light follows the commands it is sent, RFLink answers PING,
VERSION and commands. It runs until killed.
"""
import json
import os
import random
import select
import signal
import sys
import termios
import time
import tty


class Drift:
    """A value that wanders within bounds, like a real sensor's."""

    def __init__(self, rng, value, low, high, step, digits=1):
        self.rng, self.value, self.low, self.high, self.step, self.digits = rng, value, low, high, step, digits

    def next(self):
        self.value = min(self.high, max(self.low, self.value + self.rng.uniform(-self.step, self.step)))
        return self.now()

    def now(self):
        return round(self.value, self.digits) if self.digits else int(round(self.value))


class Traffic:
    """One gateway's lines: `start()` on power-up, `tick()` every interval,
    `reply(line)` for each line the controller writes."""
    newline = "\n"

    def __init__(self, rng):
        self.rng = rng

    def start(self):
        return []

    def tick(self):
        return []

    def reply(self, line):
        return []


class MySensorsTraffic(Traffic):
    """A weather node (id 1), a door node with a relay (id 2) and a motion
    node that has no id yet and asks the controller for one. Nodes restart
    now and then and present themselves again, so a gateway that opens the
    port late still learns what they are."""
    #: Ticks between node restarts.
    restart_every = 30

    def __init__(self, rng):
        Traffic.__init__(self, rng)
        self.temp = Drift(rng, 21.0, -5, 35, 0.4)
        self.hum = Drift(rng, 50, 20, 95, 2, 0)
        self.battery = Drift(rng, 90, 5, 100, 1, 0)
        self.relay = 0
        self.door = 0
        self.motion_id = None
        self.ticks = 0

    def node(self, node_id, sketch, children):
        lines = ["{};255;0;0;17;2.3.2".format(node_id), "{};255;3;0;11;{}".format(node_id, sketch),
                 "{};255;3;0;12;1.0".format(node_id)]
        lines += ["{};{};0;0;{};{}".format(node_id, child, stype, text) for child, stype, text in children]
        return lines + ["{};255;3;0;6;0".format(node_id), "{};255;3;0;1;".format(node_id)]

    def presentations(self):
        lines = (self.node(1, "Weather node", [(0, 6, "Outside"), (1, 7, "Outside")])
                 + self.node(2, "Door node", [(0, 0, "Front door"), (1, 3, "Porch relay")]))
        if self.motion_id is not None:
            lines += self.node(self.motion_id, "Motion node", [(0, 1, "Hall")])
        return lines

    def start(self):
        return ["0;255;3;0;14;Gateway startup complete.", "0;255;0;0;18;2.3.2"] + self.presentations()

    def tick(self):
        self.ticks += 1
        lines = self.presentations() if self.ticks % self.restart_every == 0 else []
        lines += ["1;0;1;0;0;{}".format(self.temp.next()), "1;1;1;0;1;{}".format(self.hum.next())]
        if self.ticks % 5 == 0:
            lines.append("1;255;3;0;0;{}".format(self.battery.next()))
        if self.rng.random() < 0.2:
            self.door ^= 1
            lines.append("2;0;1;0;16;{}".format(self.door))
        lines.append("2;1;1;0;2;{}".format(self.relay))  # the relay reports its state every round
        if self.motion_id is None:
            # After nodes 1 and 2 spoke, so the controller knows their ids are taken.
            lines.append("255;255;3;0;3;")
        elif self.rng.random() < 0.3:
            lines.append("{};0;1;0;16;{}".format(self.motion_id, int(self.rng.random() < 0.5)))
        if self.ticks % 7 == 0:
            lines.append("0;255;3;0;9;TSF:MSG:READ,1-1-0,s=0,c=1,t=0,pt=7,l=5,sg=0:{}".format(self.temp.now()))
        return lines

    def reply(self, line):
        fields = line.split(";")
        if len(fields) != 6:
            return []
        if fields[:5] == ["255", "255", "3", "0", "4"] and self.motion_id is None and fields[5].isdigit():
            self.motion_id = int(fields[5])
            return self.node(self.motion_id, "Motion node", [(0, 1, "Hall")])
        if fields[:5] == ["2", "1", "1", "0", "2"] and fields[5] in ("0", "1"):
            self.relay = int(fields[5])
            return ["2;1;1;0;2;{}".format(self.relay)]  # the relay reports its new state
        return []


class RFLinkTraffic(Traffic):
    """Weather sensors (one outside, near freezing), a wind meter, a motion
    sensor and a remote whose presses arrive as repeated frames."""
    newline = "\r\n"

    def __init__(self, rng):
        Traffic.__init__(self, rng)
        self.counter = 0
        self.inside = Drift(rng, 20.7, 15, 28, 0.3)
        self.outside = Drift(rng, 0.5, -15, 15, 0.6)
        self.hum = Drift(rng, 45, 20, 95, 2, 0)
        self.wind = Drift(rng, 9.6, 0, 60, 2)
        self.direction = Drift(rng, 4, 0, 15, 1, 0)
        self.switch = "OFF"

    def frame(self, body):
        self.counter = (self.counter + 1) % 256
        return "20;{:02X};{}".format(self.counter, body)

    @staticmethod
    def tenths(value):
        raw = int(round(abs(value) * 10))
        return "{:04x}".format(raw | (0x8000 if value < 0 else 0))

    def start(self):
        return [self.frame("Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R46;")]

    def tick(self):
        lines = [self.frame("UPM/Esic;ID=0001;TEMP={};HUM={};BAT=OK;".format(self.tenths(self.inside.next()),
                                                                             self.hum.next())),
                 self.frame("Alecto V1;ID=0334;TEMP={};HUM={};BAT={};".format(
                     self.tenths(self.outside.next()), self.hum.now(), "LOW" if self.rng.random() < 0.1 else "OK"))]
        if self.rng.random() < 0.5:
            lines.append(self.frame("Cresta;ID=8001;WINDIR={:04d};WINSP={:04x};WINGS={:04x};".format(
                self.direction.next(), int(self.wind.next() * 10), int(self.wind.now() * 14))))
        if self.rng.random() < 0.3:
            lines.append(self.frame("Pir;ID=aa66;PIR={};".format("ON" if self.rng.random() < 0.5 else "OFF")))
        if self.rng.random() < 0.25:  # a press: the remote sends its frame three times
            self.switch = "ON" if self.switch == "OFF" else "OFF"
            lines += [self.frame("NewKaku;ID=00c142;SWITCH=1;CMD={};".format(self.switch)) for _ in range(3)]
        return lines

    def reply(self, line):
        if line == "10;PING;":
            return [self.frame("PONG;")]
        if line == "10;VERSION;":
            return [self.frame("VER=1.1;REV=46;BUILD=0c;")]
        if line.startswith("10;") and line.endswith(";") and line.count(";") == 5:
            return [self.frame("OK;")]
        return [self.frame("CMD UNKNOWN;")]


class Rtl433Traffic(Traffic):
    """A thermo-hygrometer, a weather station, an older-format sensor and a
    door contact; rtl_433 prints each repeat it decodes."""

    def __init__(self, rng):
        Traffic.__init__(self, rng)
        self.temp = Drift(rng, 20.5, -10, 35, 0.3)
        self.hum = Drift(rng, 60, 20, 99, 2, 0)
        self.wind = Drift(rng, 2.5, 0, 20, 0.8)
        self.rain = 12.0
        self.pool = Drift(rng, 24.0, 15, 30, 0.2)

    def line(self, fields):
        data = {"time": time.strftime("%Y-%m-%d %H:%M:%S")}
        data.update(fields)
        return json.dumps(data, separators=(",", ":"))

    def tick(self):
        lines = [self.line({"model": "Nexus-TH", "id": 42, "channel": 2, "battery_ok": 1,
                            "temperature_C": self.temp.next(), "humidity": self.hum.next(), "mic": "CHECKSUM"})]
        lines.append(lines[0])  # the repeat
        if self.rng.random() < 0.5:
            self.rain = round(self.rain + self.rng.choice([0, 0, 0.3]), 1)
            lines.append(self.line({"model": "Fineoffset-WH24", "id": 140, "battery_ok": 1,
                                    "temperature_C": round(self.temp.now() - 3.1, 1), "humidity": self.hum.now(),
                                    "wind_dir_deg": self.rng.choice([0, 45, 90, 180, 270]),
                                    "wind_avg_m_s": self.wind.next(), "wind_max_m_s": round(self.wind.now() * 1.4, 1),
                                    "rain_mm": self.rain, "mic": "CRC"}))
        if self.rng.random() < 0.3:
            lines.append(self.line({"model": "Prologue sensor", "id": 5, "channel": 1, "battery": "OK",
                                    "temperature": self.pool.next()}))
        if self.rng.random() < 0.2:
            lines.append(self.line({"model": "Generic-Door", "id": "a1b2", "contact_open": self.rng.choice([0, 1]),
                                    "tamper": 0}))
        return lines


class JsonLinesTraffic(Traffic):
    """Home-made sensors writing one JSON object a line; the porch light
    follows `{"id": "porch", "light": true}` commands."""

    def __init__(self, rng):
        Traffic.__init__(self, rng)
        self.temp = Drift(rng, 21.5, 16, 28, 0.2)
        self.hum = Drift(rng, 40, 25, 70, 1, 0)
        self.lux = Drift(rng, 300, 0, 2000, 80, 0)
        self.co2 = Drift(rng, 600, 400, 2000, 40, 0)
        self.light = False

    def tick(self):
        lines = [json.dumps({"id": "kitchen", "name": "Kitchen", "temperature": self.temp.next(),
                             "humidity": self.hum.next()})]
        if self.rng.random() < 0.5:
            lines.append(json.dumps({"id": "porch", "motion": self.rng.random() < 0.3,
                                     "illuminance": self.lux.next(), "light": self.light}))
        if self.rng.random() < 0.3:
            lines.append(json.dumps({"id": "garage", "door": self.rng.random() < 0.2, "co2": self.co2.next()}))
        return lines

    def reply(self, line):
        try:
            command = json.loads(line)
        except ValueError:
            return []
        if isinstance(command, dict) and command.get("id") == "porch" and isinstance(command.get("light"), bool):
            self.light = command["light"]
            return [json.dumps({"id": "porch", "light": self.light})]
        return []


TRAFFIC = {"mysensors": MySensorsTraffic, "rflink": RFLinkTraffic, "rtl_433": Rtl433Traffic,
           "jsonl": JsonLinesTraffic}


def noise(rng, good_line):
    """A line a flaky cable or a noisy radio makes of `good_line`."""
    kind = rng.choice(("garbage", "truncated", "long"))
    if kind == "garbage":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(4, 40))).replace(b"\n", b"")
    if kind == "truncated":
        return good_line[:rng.randrange(1, max(2, len(good_line) - 1))].encode()
    return (good_line + "X" * 300).encode()


class Simulator:
    """The pty and the loop that plays `traffic` on it."""

    def __init__(self, traffic, interval=2.0, noise_rate=0.1, rng=None):
        self.traffic = traffic
        self.interval = interval
        self.noise_rate = noise_rate
        self.rng = rng or random.Random()
        self.master, self.slave = os.openpty()
        # Raw: the line discipline must not echo, translate or buffer.
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.pending = b""

    def send(self, lines):
        for line in lines:
            if line and self.rng.random() < self.noise_rate:
                self.write(noise(self.rng, line) + self.traffic.newline.encode())
            self.write((line + self.traffic.newline).encode())

    def write(self, data):
        try:
            os.write(self.master, data)
        except BlockingIOError:
            # Nobody reads the port: like a serial line, old data is lost.
            termios.tcflush(self.slave, termios.TCIFLUSH)
            try:
                os.write(self.master, data)
            except BlockingIOError:
                pass

    def receive(self, timeout):
        """The controller's lines that arrive within `timeout` seconds."""
        ready, _, _ = select.select([self.master], [], [], max(0, timeout))
        if not ready:
            return []
        try:
            self.pending += os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return []
        *lines, self.pending = self.pending.split(b"\n")
        return [line.rstrip(b"\r").decode("utf-8", "replace") for line in lines]

    def run(self):
        self.send(self.traffic.start())
        next_tick = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_tick:
                self.send(self.traffic.tick())
                next_tick = now + self.interval
            for line in self.receive(next_tick - time.monotonic()):
                self.send(self.traffic.reply(line))

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def link(path, target):
    """Point the symlink `path` at `target` (replacing an old link, never a file)."""
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.exists(path):
        raise SystemExit("error: {} exists and is not a symlink".format(path))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    os.symlink(target, path)


def _exit_once(*_):
    # A second SIGTERM (a supervisor insisting) during the clean-up would cut
    # it short and leave the link behind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def main(protocol, interval=2.0, link_path=None, noise_rate=0.1, seed=None):
    sim = Simulator(TRAFFIC[protocol](random.Random(seed)), interval, noise_rate, random.Random(seed))
    # The handler is in place, and the link inside the try, before the path
    # is printed: a SIGTERM right after it must still remove the link.
    signal.signal(signal.SIGTERM, _exit_once)
    try:
        if link_path:
            link(link_path, sim.path)
        print(sim.path, flush=True)
        sim.run()
    except KeyboardInterrupt:
        pass
    finally:
        if link_path and os.path.islink(link_path) and os.readlink(link_path) == sim.path:
            os.unlink(link_path)
        sim.close()
    return 0
