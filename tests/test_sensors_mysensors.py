"""MySensors serial gateway 2.x: readings and the controller's duties, on
both runtimes (see test_sensors_common)."""
import json
import os

from conftest import run_interpreter
from test_sensors_common import feed, reading, run_steps, values

SESSION = [
    "0;255;3;0;14;Gateway startup complete.",
    "255;255;3;0;3;",
    "1;255;0;0;17;2.3.2",
    "1;0;0;0;6;",
    "1;0;1;0;0;21.5",
    "1;255;3;0;0;79",
    "1;255;3;0;1;",
    "1;255;3;0;6;0",
    "1;255;3;0;11;Weather node sketch name",
    "1;1;0;0;3;Relay",
    "1;1;1;0;2;1",
    "1;1;2;0;2;",
]


def test_reference_session(runtime, tmp_path):
    res = feed(runtime, "mysensors", SESSION, state_dir=str(tmp_path))
    nothing = {"readings": [], "replies": []}
    assert res[0] == nothing  # gateway startup
    assert res[1] == {"readings": [], "replies": ["255;255;3;0;4;1"]}
    assert res[2] == res[3] == nothing  # presentation alone makes no reading
    temp = reading(res[4], "sensor.mysensors_1_0_temp")
    assert temp["value"] == 21.5 and temp["unit"] == "°C" and temp["device_class"] == "temperature"
    assert temp["kind"] == "sensor" and temp["friendly_name"] == "MySensors 1 0 Temp"
    assert temp["attributes"] == {"protocol": "mysensors", "node_id": 1, "child_id": 0, "value_type": "V_TEMP",
                                  "sensor_type": "S_TEMP"}
    # Battery: a battery sensor for the node, and battery_level on its entities.
    assert values(res[5]) == {"sensor.mysensors_1_battery": 79, "sensor.mysensors_1_0_temp": 21.5}
    battery = reading(res[5], "sensor.mysensors_1_battery")
    assert (battery["unit"], battery["device_class"]) == ("%", "battery")
    assert reading(res[5], "sensor.mysensors_1_0_temp")["attributes"]["battery_level"] == 79
    assert res[6]["replies"] == ["1;255;3;0;1;1700000000"]
    assert res[7]["replies"] == ["1;255;3;0;6;M"]
    # The sketch name names the device; entity ids stay as they were.
    renamed = reading(res[8], "sensor.mysensors_1_0_temp")
    assert renamed["friendly_name"] == "Weather node sketch name 0 Temp"
    assert renamed["attributes"]["sketch_name"] == "Weather node sketch name"
    relay = reading(res[10], "binary_sensor.mysensors_1_1_status")
    assert relay["value"] == "on" and relay["device_class"] is None
    assert relay["attributes"]["description"] == "Relay"
    # A request is answered with the last known value, as a set.
    assert res[11] == {"readings": [], "replies": ["1;1;1;0;2;1"]}


def test_us_customary_units_and_config(runtime, tmp_path):
    res = feed(runtime, "mysensors", ["2;0;0;0;6;", "2;0;1;0;0;70.2", "2;255;3;0;6;0"],
               options={"unit_system": "us_customary"}, state_dir=str(tmp_path))
    assert reading(res[1], "sensor.mysensors_2_0_temp")["unit"] == "°F"
    assert res[2]["replies"] == ["2;255;3;0;6;I"]


def test_kinds_units_and_device_classes(runtime, tmp_path):
    lines = [
        "3;1;0;0;0;", "3;1;1;0;16;1",      # S_DOOR, V_TRIPPED
        "3;2;0;0;1;", "3;2;1;0;16;0",      # S_MOTION
        "3;3;0;0;2;", "3;3;1;0;16;1",      # S_SMOKE
        "3;4;0;0;7;", "3;4;1;0;1;45",      # S_HUM, V_HUM
        "3;5;0;0;16;", "3;5;1;0;37;300",   # S_LIGHT_LEVEL, V_LEVEL
        "3;6;0;0;8;", "3;6;1;0;5;sunny",   # S_BARO, V_FORECAST (text)
        "3;7;1;0;16;1",                    # never presented: V_TRIPPED alone
        "3;8;1;0;43;cm", "3;8;1;0;13;12",  # V_UNIT_PREFIX then V_DISTANCE
        "3;9;1;0;38;3.3",                  # V_VOLTAGE
    ]
    res = feed(runtime, "mysensors", lines, state_dir=str(tmp_path))

    def check(i, entity_id, value, unit, device_class):
        r = reading(res[i], entity_id)
        assert (r["value"], r["unit"], r["device_class"]) == (value, unit, device_class), r

    check(1, "binary_sensor.mysensors_3_1_tripped", "on", None, "door")
    check(3, "binary_sensor.mysensors_3_2_tripped", "off", None, "motion")
    check(5, "binary_sensor.mysensors_3_3_tripped", "on", None, "smoke")
    check(7, "sensor.mysensors_3_4_hum", 45, "%", "humidity")
    check(9, "sensor.mysensors_3_5_level", 300, "lx", "illuminance")
    check(11, "sensor.mysensors_3_6_forecast", "sunny", None, None)
    check(12, "binary_sensor.mysensors_3_7_tripped", "on", None, None)
    assert res[13] == {"readings": [], "replies": []}
    check(14, "sensor.mysensors_3_8_distance", 12, "cm", "distance")
    check(15, "sensor.mysensors_3_9_voltage", 3.3, "V", "voltage")


def test_node_ids_persist_across_a_new_parser(runtime, tmp_path):
    steps = [{"line": "255;255;3;0;3;"}, {"line": "255;255;3;0;3;"},
             {"line": "5;0;0;0;6;"}, {"line": "5;255;3;0;11;Garden"},
             {"restart": True},
             {"line": "255;255;3;0;3;"}, {"line": "5;0;1;0;0;-4.5"}]
    res = run_steps(runtime, "mysensors", steps, state_dir=str(tmp_path))
    assert res[0]["replies"] == ["255;255;3;0;4;1"]
    assert res[1]["replies"] == ["255;255;3;0;4;2"]
    # After the restart: ids 1, 2 (assigned) and 5 (seen) are taken.
    assert res[5]["replies"] == ["255;255;3;0;4;3"]
    # What node 5 presented survives too: kind, unit and name.
    temp = reading(res[6], "sensor.mysensors_5_0_temp")
    assert (temp["value"], temp["unit"], temp["device_name"]) == (-4.5, "°C", "Garden")
    saved = json.loads((tmp_path / "mysensors.json").read_text())
    assert sorted(saved["nodes"]) == ["1", "2", "3", "5"]


NO_FREE_ID = ("no free node id: all 254 are used by nodes heard from within 30 days "
              "(MySensors.recycle_after_days)")
ID_REQUEST = "255;255;3;0;3;"
DAY = 86400


def test_no_free_node_id(runtime, tmp_path):
    """Nodes from a file without dates count as heard from at the start."""
    nodes = {str(i): {"children": {}} for i in range(1, 255)}
    (tmp_path / "mysensors.json").write_text(json.dumps({"nodes": nodes}))
    [res] = feed(runtime, "mysensors", [ID_REQUEST], state_dir=str(tmp_path))
    assert res == {"error": NO_FREE_ID}


def assigned(result):
    return int(result["replies"][0].split(";")[-1])


def test_ids_nobody_used_are_free_again_after_ten_minutes(runtime, tmp_path):
    """255 id requests (noise, or a node in a loop) used to take the whole
    pool for good, across restarts too."""
    t = 1700000000
    steps = [{"line": ID_REQUEST, "time": t}] * 254 + [
        {"line": "7;0;0;0;6;Kitchen", "time": t + 5},  # node 7 uses its id
        {"line": ID_REQUEST, "time": t + 599},
        {"restart": True},
        {"line": ID_REQUEST, "time": t + 600},
        {"line": ID_REQUEST, "time": t + 600}]
    res = run_steps(runtime, "mysensors", steps, state_dir=str(tmp_path))
    assert [assigned(r) for r in res[:254]] == list(range(1, 255))
    assert res[255] == {"error": NO_FREE_ID}
    assert assigned(res[257]) == 1 and assigned(res[258]) == 2
    saved = json.loads((tmp_path / "mysensors.json").read_text())["nodes"]
    assert saved["7"]["seen"] == t + 5 and saved["7"]["claimed"] is None
    assert saved["2"]["claimed"] == t + 600 and saved["2"]["seen"] is None


def test_ids_of_nodes_silent_for_30_days_are_recycled_when_the_pool_is_full(runtime, tmp_path):
    t = 1700000000
    nodes = {str(i): {"children": {"0": ["TEMP", ""]}, "seen": t + i} for i in range(1, 255)}
    (tmp_path / "mysensors.json").write_text(json.dumps({"nodes": nodes}))
    steps = [{"line": "3;0;1;0;0;20", "time": t + 2 * DAY},  # node 3 is heard from again
             {"line": ID_REQUEST, "time": t + 30 * DAY + 1},  # node 1 is silent for 30 days
             {"line": ID_REQUEST, "time": t + 30 * DAY + 1},  # node 2 for a second less
             {"line": ID_REQUEST, "time": t + 30 * DAY + 2},
             {"line": ID_REQUEST, "time": t + 30 * DAY + 4}]  # 3 was heard later: 4
    res = run_steps(runtime, "mysensors", steps, state_dir=str(tmp_path))
    assert assigned(res[1]) == 1
    assert res[2] == {"error": NO_FREE_ID}
    assert assigned(res[3]) == 2 and assigned(res[4]) == 4
    saved = json.loads((tmp_path / "mysensors.json").read_text())["nodes"]
    assert saved["1"]["children"] == {} and saved["1"]["seen"] is None  # forgotten, handed out anew


def test_presented_children_are_bounded(runtime, tmp_path):
    steps = [{"line": "{};{};0;0;6;".format(1 + i // 200, i % 200)} for i in range(257)]
    res = run_steps(runtime, "mysensors", steps, state_dir=str(tmp_path))
    assert all("error" not in r for r in res[:256])
    assert res[256] == {"error": "child 56 of node 2 not kept: 256 children are presented already "
                                 "(MySensors.max_children)"}


def test_full_pool_of_presented_nodes_fits_a_board_heap(tmp_path, board_tree):
    """254 nodes that present a child and a sketch name each, then one id
    request too many, in a 288 KB heap on the board's tree: the controller
    file is written a node at a time (written whole it failed with a
    MemoryError, which then escaped: the id request went unanswered and the
    file fell behind)."""
    code = """
import sys
import mp_platform
from ugate.sources import sensors
mp_platform.MicroPythonPlatform()  # sets the board's collection threshold
p = sensors.create("mysensors", {}, sys.argv[-1])
for i in range(255):
    try:
        r, replies = p.feed("255;255;3;0;3;")
    except sensors.Alert as e:
        print(i, e)
        break
    node = int(replies[0].split(";")[-1])
    p.feed("%d;0;0;0;6;Thermometer in room %d" % (node, node))
    p.feed("%d;255;3;0;11;Sketch for node %d" % (node, node))
"""
    r = run_interpreter("micropython", ["-c", code, str(tmp_path)], heapsize="288K",
                        path=[os.path.join(board_tree, "lib")])
    assert (r.returncode, r.stdout) == (0, "254 " + NO_FREE_ID + "\n"), r.stderr
    saved = json.loads((tmp_path / "mysensors.json").read_text())["nodes"]
    assert len(saved) == 254 and saved["254"]["sketch_name"] == "Sketch for node 254"


def test_damaged_state_file_starts_over(runtime, tmp_path):
    (tmp_path / "mysensors.json").write_text('{"nodes": [1, 2')
    res = feed(runtime, "mysensors", ["255;255;3;0;3;"], state_dir=str(tmp_path))
    assert res[0]["replies"] == ["255;255;3;0;4;1"]


def test_without_state_dir_ids_are_assigned_in_memory(runtime):
    res = feed(runtime, "mysensors", ["255;255;3;0;3;", "255;255;3;0;3;"])
    assert [r["replies"] for r in res] == [["255;255;3;0;4;1"], ["255;255;3;0;4;2"]]


def test_malformed_lines_are_rejected_without_touching_state(runtime, tmp_path):
    bad = {
        "1;0;1": "too few fields",
        "1;0;1;0": "too few fields",
        "x;0;1;0;0;1": "bad node id",
        "256;0;1;0;0;1": "bad node id",
        "1;-1;1;0;0;1": "bad child id",
        "1;0;5;0;0;1": "bad command",
        "1;0;1;2;0;1": "bad ack",
        "1;0;1;0;57;1": "unknown value type 57",
        "1;0;0;0;40;": "unknown sensor type 40",
        "1;255;3;0;34;": "unknown internal type 34",
        "1;0;1;0;0;" + "1" * 26: "payload too long",
        "1;1;1;0;16;2": "bad binary value",
        "255;0;1;0;0;20": "node has no id",
        "1;255;3;0;0;101": "bad battery level",
    }
    lines = ["1;0;1;0;0;21.5"] + list(bad) + ["1;0;1;0;0;abc", "1;0;1;0;0;nan", "1;0;2;0;0;"]
    res = feed(runtime, "mysensors", lines, state_dir=str(tmp_path))
    assert [r.get("error") for r in res[1:len(bad) + 1]] == list(bad.values())
    assert "error" in res[-3] and "error" in res[-2]
    # The last good value is still the one a request gets.
    assert res[-1]["replies"] == ["1;0;1;0;0;21.5"]


def test_request_for_an_unknown_value_is_not_answered(runtime):
    [res] = feed(runtime, "mysensors", ["7;1;2;0;2;"])
    assert res == {"readings": [], "replies": []}


def test_gateway_log_and_stream_lines_are_control(runtime):
    res = feed(runtime, "mysensors", ["0;255;3;0;9;TSF:MSG:READ,1-1-0,s=0,c=1,t=0,pt=7,l=5,sg=0:21.5",
                                       "0;255;3;0;2;2.3.2", "1;255;4;0;0;0100"])
    assert res == [{"readings": [], "replies": []}] * 3


def test_commands(runtime, tmp_path):
    steps = [{"line": "1;1;0;0;3;"}, {"line": "1;1;1;0;2;0"}, {"line": "1;0;1;0;0;21.5"}]
    res = run_steps(runtime, "mysensors", steps, state_dir=str(tmp_path))
    relay = reading(res[1], "binary_sensor.mysensors_1_1_status")["attributes"]
    temp = reading(res[2], "sensor.mysensors_1_0_temp")["attributes"]
    cmds = [{"command": relay, "value": "on"}, {"command": relay, "value": "off"},
            {"command": relay, "value": True}, {"command": temp, "value": 20},
            {"command": {"protocol": "rflink", "switch": "1"}, "value": "on"},
            {"command": relay, "value": "a;b"}]
    out = run_steps(runtime, "mysensors", cmds, state_dir=str(tmp_path))
    assert out[:3] == [{"line": "1;1;1;0;2;1"}, {"line": "1;1;1;0;2;0"}, {"line": "1;1;1;0;2;1"}]
    assert out[3] == {"error": "V_TEMP cannot be set"}
    assert out[4] == {"error": "not a MySensors child"}
    assert out[5] == {"error": "bad value"}


def test_unwritable_state_dir_still_assigns_ids(runtime, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    res = feed(runtime, "mysensors", ["255;255;3;0;3;", "255;255;3;0;3;"], state_dir=str(blocker))
    assert [r["replies"] for r in res] == [["255;255;3;0;4;1"], ["255;255;3;0;4;2"]]


def test_number_forms(runtime):
    """Numbers are checked the same way on both runtimes (MicroPython's
    float() alone takes "e5" and "." as 0)."""
    good = {"-4.50": -4.5, "+3": 3, "1.5e1": 15.0, "0.25E-1": 0.025, "007": 7}
    bad = ["e5", ".", "5.", ".5", "1e", "-", " 21", "21 ", "１", "0x1f", "inf", "nan", "1_000"]
    res = feed(runtime, "mysensors", ["1;0;1;0;0;" + text for text in list(good) + bad])
    assert [values(r)["sensor.mysensors_1_0_temp"] for r in res[:len(good)]] == list(good.values())
    assert [r.get("error") for r in res[len(good):]] == ["bad number"] * len(bad)
    assert feed(runtime, "mysensors", ["１;0;1;0;0;1"]) == [{"error": "bad node id"}]
