"""The MQTT fleet benchmark: N gateways on loopback, each reading JSON lines
from its pty and forwarding into one Mosquitto, and a subscriber (where
Home Assistant would be) counting the states that arrive. Printed as a
table.

    python tools/bench_mqtt.py [--runtime cpython|micropython ...] [--gateways N ...]
                               [--rounds 20] [--entities 50] [--heapsize 512K]

For each runtime and fleet size N, on a fresh broker and fresh gateways
(MicroPython runs the compiled board tree, as bench.py does): every entity
is sent once first (its discovery goes out then); then, `rounds` times,
each gateway gets one new reading of each of its `entities` entities (one
JSON line each, written at once), and the round ends when the subscriber
has all of them from every gateway. `readings` = N x rounds x entities;
`seconds` runs from the first line written to the end of the last round,
end to end through the broker; `delivered` is the state messages the
subscriber received meanwhile. Each entity changes once a round, so every
reading is delivered (a forwarder coalesces only an entity that changes
again while its last state is on the way).
"""
import argparse
import os
import sys
import tempfile
import threading
import time

import paho.mqtt.client as paho

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import bench  # noqa: E402  (tools/bench.py: the gateway processes)
import build  # noqa: E402
from mosquitto import Broker  # noqa: E402

RUNTIMES = bench.RUNTIMES


class Counter:
    """A subscriber to every gateway's state topics: the newest payload of
    each topic, and how many state messages came."""

    def __init__(self, port):
        self.latest = {}
        self.count = 0
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("ugate/+/sensor/+/state", 1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not ready.wait(10):
            raise RuntimeError("the subscriber could not subscribe")

    def _message(self, client, userdata, message):
        with self.lock:
            self.latest[message.topic] = message.payload
            self.count += 1

    def has(self, expected):
        with self.lock:
            return all(self.latest.get(topic) == payload for topic, payload in expected.items())

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def feed(targets, lines):
    """Write each target's lines to its pty, all targets at once."""
    threads = [threading.Thread(target=write_all, args=(t.serial, lines)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def wait(counter, expected, timeout=300):
    deadline = time.time() + timeout
    while not counter.has(expected):
        if time.time() > deadline:
            raise RuntimeError("the subscriber did not get every state within {} s".format(timeout))
        time.sleep(0.005)


def line(entity, value):
    return '{{"id": "dev{}", "n": {}}}\n'.format(entity, value)


def fleet(runtime, size, opts, workdir, tree):
    """(readings, seconds, state messages) for `size` gateways."""
    broker = Broker().start()
    targets = []
    try:
        counter = Counter(broker.port)
        config = {"forward": [{"type": "mqtt", "name": "bench", "port": broker.port}]}
        for _ in range(size):
            targets.append(bench.Target(runtime, workdir, tree, opts.heapsize, config))
        bases = []
        for target in targets:
            with open(os.path.join(target.config_dir, "instance_id")) as f:
                bases.append("ugate/" + f.read()[:12])

        def expected(values):
            return {"{}/sensor/jsonl_dev{}_n/state".format(base, e): str(v).encode()
                    for base in bases for e, v in values.items()}

        def round_of(value):
            feed(targets, "".join(line(e, value) for e in range(opts.entities)).encode())
            wait(counter, expected({e: value for e in range(opts.entities)}))

        round_of(-1)
        before = counter.count
        start = time.perf_counter()
        for value in range(opts.rounds):
            round_of(value)
        seconds = time.perf_counter() - start
        return size * opts.rounds * opts.entities, seconds, counter.count - before
    finally:
        for target in targets:
            target.stop()
        broker.remove()


def run(opts):
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        tree = build.build(opts.board, os.path.join(workdir, "build")) if "micropython" in opts.runtime else None
        for runtime in opts.runtime:
            for size in opts.gateways:
                try:
                    rows.append((runtime, size) + fleet(runtime, size, opts, workdir, tree))
                except (RuntimeError, OSError) as exc:
                    rows.append((runtime, size, "failed: {}".format(exc), None, None))
    return rows


def table(rows):
    cells = []
    for runtime, size, readings, seconds, delivered in rows:
        if seconds is None:
            cells.append((runtime, size, readings))
            continue
        cells.append((runtime, size, readings, delivered, "{:.2f}".format(seconds),
                      "{:.0f}".format(readings / seconds)))
    return bench.markdown([("runtime", False), ("gateways", True), ("readings", True), ("delivered", True),
                           ("seconds", True), ("readings/s", True)], cells)


def main(argv=None):
    p = argparse.ArgumentParser(description="Readings per second end to end through Mosquitto with N "
                                "gateways forwarding into it, on CPython and MicroPython; prints a table.")
    p.add_argument("--runtime", action="append", choices=RUNTIMES, help="only this runtime (repeatable)")
    p.add_argument("--gateways", action="append", type=int, help="a fleet size (repeatable; default 1 and 5)")
    p.add_argument("--rounds", type=int, default=20, help="readings of each entity (default 20)")
    p.add_argument("--entities", type=int, default=50, help="entities per gateway (default 50)")
    p.add_argument("--board", default="esp32", help="the board whose build MicroPython runs (default esp32)")
    p.add_argument("--heapsize", default="512K", help="MicroPython's fixed heap (default 512K)")
    opts = p.parse_args(argv)
    opts.runtime = opts.runtime or list(RUNTIMES)
    opts.gateways = opts.gateways or [1, 5]
    rows = run(opts)
    print(table(rows))
    return 1 if any(seconds is None for _, _, _, seconds, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
