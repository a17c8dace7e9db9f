"""Memory budget: the gateway as a board runs it (the compiled tree of
tools/build.py, no .py of the core on the path) under a fixed MicroPython
heap, over real sockets and a pty: the default faces (REST, a WebSocket
subscriber, an SSE client) with a serial port at once, and the smallest
useful board (REST and one serial port; WebSocket, SSE and mobile_app left
out: a board phones use needs the WebSocket for push, and heap for their
webhook). A
change that needs more heap fails here. The budgets are for the 64-bit unix
port; the 32-bit boards are held to their `heap_budget` by the last tests
here (tools/heap_cost.py --boards: their live runs on a 32-bit twin of the
board, and what the code has grown since, measured at 32-bit)."""
import contextlib
import os

import pytest

import build  # tools/build.py, on the path by conftest
import heap_cost  # tools/heap_cost.py, on the path by conftest
from conftest import Gateway, run_ugate, wait_for
from mosquitto import Broker  # tools/mosquitto.py
from mqtt_client import Subscriber
from sse_client import EventStream
from test_bridge import Pty
from ws_client import connect, recv, send

#: the heap the 64-bit unix port gets here. Last measured (after keep-alive,
#: the hardening of issue 8 and mobile_app, which the default faces load):
#: 384K passed 3 times in 3 alone but failed once under the full suite's
#: load, 368K and 352K failed 3 times in 3, so this leaves about 8 %.
#: UGATE_HEAP_BUDGET=384K overrides it, to find the smallest heap again.
#: (Before: 320K passed, budget 384K; before faces were imported only when
#: configured, 420K passed and the budget was 512K.)
HEAP_BUDGET_64BIT = "416K"
#: the same for REST and one serial port alone: after keep-alive and the
#: hardening 272K passed 5 times in 5, 256K and 240K failed 3 times in 3
#: (before them 240K passed), so this leaves about 6 %;
#: UGATE_SMALL_HEAP_BUDGET overrides it.
SMALL_HEAP_BUDGET_64BIT = "288K"
#: REST and one serial port with the code in a ROMFS image mapped outside
#: the heap: 192K passed 3 times in 3, 176K failed 3 times in 3 (with
#: sign-in; before it 176K passed 1 time in 2), so this leaves about 15 %;
#: the .mpy files fail at 208K (above). UGATE_ROMFS_HEAP_BUDGET overrides it.
ROMFS_HEAP_BUDGET_64BIT = "224K"
#: the default faces with one MQTT forwarder: 384K had 4 % to spare (and
#: failed 1 time in 3 already); with mobile_app (its phones' registrations
#: and push, about 23 KB) 416K failed and 448K passed.
MQTT_HEAP_BUDGET_64BIT = "448K"
ROUNDS = 10


class BoardGateway(Gateway):
    def __init__(self, tree, heapsize, *args, romfs=False, **kwargs):
        super().__init__("micropython", *args, **kwargs)
        self.run_args = ["--mpy", tree, "--heapsize", heapsize] + (["--romfs"] if romfs else [])


@contextlib.contextmanager
def board_with_a_serial_port(tree, heapsize, tmp_path, romfs=False, **config):
    """(gateway, pty): a BoardGateway reading JSON lines from a pty. After
    the body the gateway must still run, with no MemoryError logged."""
    port = Pty(tmp_path / "ttyUSB0")
    config = dict({"serial": [{"port": port.link, "protocol": "jsonl"}], "log_level": "warning"}, **config)
    gw = BoardGateway(tree, heapsize, tmp_path / "config", config, romfs=romfs).start()
    try:
        yield gw, port
        assert gw.proc.poll() is None
        assert "MemoryError" not in gw.logs()
    finally:
        gw.stop()
        port.close()


def post_and_read(gw, port):
    """The workload both budgets carry: states POSTed and listed, a serial
    line per round."""
    for i in range(ROUNDS):
        r = gw.post("/api/states/sensor.budget_{}".format(i),
                    json={"state": str(i), "attributes": {"unit_of_measurement": "W"}})
        assert r.status_code == 201, r.text
        port.write('{{"id": "budget", "count": {}}}\n'.format(i).encode())
        assert len(gw.get("/api/states").json()) >= i + 1


def wait_for_last_line(gw):
    wait_for(lambda: gw.get("/api/states/sensor.jsonl_budget_count").json().get("state") == str(ROUNDS - 1),
             what="the last serial line as a state")


def test_tree_has_no_core_source(board_tree):
    sources = [os.path.relpath(os.path.join(d, f), board_tree) for d, _, files in os.walk(board_tree)
               for f in files if f.endswith(".py")]
    assert sorted(sources) == ["boot.py", "main.py"]


@contextlib.contextmanager
def mqtt_forwarder(with_forwarder):
    """(config, subscriber): one MQTT forwarder into a Mosquitto, and a
    subscriber to its topics; ({}, None) without."""
    if not with_forwarder:
        yield {}, None
        return
    broker = Broker().start()
    try:
        sub = Subscriber(broker.port, topics=("ugate/#",))
        yield {"forward": [{"type": "mqtt", "name": "broker", "port": broker.port}]}, sub
        sub.close()
    finally:
        broker.remove()


@pytest.mark.parametrize("forwarder", [False, True], ids=["default", "mqtt_forwarder"])
def test_gateway_serves_everything_at_once_within_budget(board_tree, tmp_path, forwarder):
    """The default faces, and the same with one MQTT forwarder delivering
    every state to a broker."""
    heapsize = os.environ.get("UGATE_HEAP_BUDGET",
                              MQTT_HEAP_BUDGET_64BIT if forwarder else HEAP_BUDGET_64BIT)
    with mqtt_forwarder(forwarder) as (config, sub), \
            board_with_a_serial_port(board_tree, heapsize, tmp_path, **config) as (gw, port):
        ws = connect(gw)
        send(ws, {"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        assert recv(ws)["success"] is True
        with EventStream(gw) as sse:
            post_and_read(gw, port)
            posted = {"sensor.budget_{}".format(i) for i in range(ROUNDS)}
            seen = set()
            while not posted <= seen:
                seen.add(recv(ws)["event"]["data"].get("entity_id"))
            seen = set()
            while not posted <= seen:
                seen.add(sse.event()["data"].get("entity_id"))
        wait_for_last_line(gw)
        ws.close()
        assert gw.get("/api/").status_code == 200
        if sub is not None:  # every state reached the broker
            with open(os.path.join(gw.config_dir, "instance_id")) as f:
                base = "ugate/" + f.read()[:12]
            for i in range(ROUNDS):
                sub.wait("{}/sensor/budget_{}/state".format(base, i), lambda p: p == str(i).encode())
            sub.wait(base + "/sensor/jsonl_budget_count/state", lambda p: p == str(ROUNDS - 1).encode())


def test_smallest_board_serves_rest_and_a_serial_port_within_budget(board_tree, tmp_path):
    heapsize = os.environ.get("UGATE_SMALL_HEAP_BUDGET", SMALL_HEAP_BUDGET_64BIT)
    with board_with_a_serial_port(board_tree, heapsize, tmp_path,
                                  disabled_faces=["websocket", "stream", "mobile_app"]) as (gw, port):
        post_and_read(gw, port)
        wait_for_last_line(gw)
        assert gw.get("/api/websocket").status_code == 404  # left out: its heap is saved


def test_smallest_board_runs_from_a_romfs_image_in_a_smaller_heap(board_tree, tmp_path):
    """The tree's ROMFS image, mapped outside the heap as a board maps its
    ROMFS partition, serves REST and a serial port in a smaller heap than
    the .mpy files get (SMALL_HEAP_BUDGET_64BIT)."""
    heapsize = os.environ.get("UGATE_ROMFS_HEAP_BUDGET", ROMFS_HEAP_BUDGET_64BIT)
    with board_with_a_serial_port(board_tree, heapsize, tmp_path, romfs=True,
                                  disabled_faces=["websocket", "stream", "mobile_app"]) as (gw, port):
        post_and_read(gw, port)
        wait_for_last_line(gw)


def test_romfs_image_holds_the_lib_tree(board_tree):
    """The code a board imports from /rom is the tree's lib/, byte for byte."""
    lib = os.path.join(board_tree, "lib")
    files = sorted(os.path.relpath(os.path.join(d, f), lib) for d, _, names in os.walk(lib) for f in names)
    probe = heap_cost.Interpreter(board_tree, 64, "romfs")
    listing = probe.run(["""import os, hashlib, binascii
def walk(d):
    for name, kind, *_ in os.ilistdir(d):
        path = d + "/" + name
        if kind == 0x4000:
            walk(path)
        else:
            h = hashlib.sha256(open(path, "rb").read()).digest()
            print(path[len("/rom/"):], binascii.hexlify(h).decode())
walk("/rom")"""])
    import hashlib
    assert sorted(line.split()[0] for line in listing if line) == files
    for line in filter(None, listing):
        name, digest = line.split()
        with open(os.path.join(lib, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def test_heap_cost_table_shows_what_a_config_leaves_out():
    rows = dict(heap_cost.run("esp32", "2M"))
    assert all(size > 0 for sizes in rows.values() for size in sizes)
    table = heap_cost.table(rows.items())
    assert table.startswith("| part | 64-bit unix port, .mpy files | 32-bit, .mpy files | 32-bit, ROMFS |\n"
                            "|---|---:|---:|---:|\n| base: ")
    default, everything = rows["create_app: default config"], rows["create_app: everything (serial, restore, Hono)"]
    hono = rows["Hono (device API and application API)"]
    for column in range(3):
        # The default config imports neither Hono nor the bridge and its parser.
        assert everything[column] - default[column] > hono[column]
    # At 32-bit the code in a ROMFS image stays out of the heap.
    assert default[2] < default[1] * 0.7


def test_32_bit_probe_is_a_32_bit_micropython(board_tree):
    assert heap_cost.Interpreter(board_tree, 32).run(["import sys\nprint(sys.maxsize)"])[-2] == str(2 ** 31 - 1)


def test_each_board_fits_its_heap_budget_at_32_bit():
    """Every configuration a board file promises (`fits`) still fits its
    `heap_budget`: the least heap its live run on the board's 32-bit twin
    served with (`live`, tools/board_live.py), grown by what its heap after
    `create_app` with 20 entities has grown since, measured at 32-bit
    (README "Board matrix")."""
    rows = heap_cost.board_rows()
    promised = [(board, entry["what"], m["left"]) for board, _, entry, m in rows if heap_cost.promised(entry)]
    assert {board for board, _, _ in promised} == set(build.boards())
    assert [p for p in promised if p[2] < 0] == []
    # A configuration that does not fit is shown by what its run needed.
    assert [(board, entry["what"]) for board, _, entry, m in rows
            if not heap_cost.promised(entry) and m["left"] >= 0] == []
    assert heap_cost.board_table(rows).count("(promised)") == len(promised)


def test_heapsize_and_mpy_are_refused_on_cpython(tmp_path):
    r = run_ugate("run", "--config-dir", tmp_path, "--heapsize", "512K")
    assert r.returncode == 2
    assert r.stderr == "error: --mpy and --heapsize are for --runtime micropython\n"
