"""The sensor parsers are pure code that must behave the same on a board and on
the desktop, so every parser test runs its lines through the same driver
script under CPython and under the MicroPython unix port (`run_steps`), and
checks each runtime's answer against the expected readings.

This file holds that driver and the tests of what all protocols share:
entity naming, line guards, repeat collapsing, `create`."""
import json

import pytest

from conftest import RUNTIMES, run_core

# Reads {"protocol", "options", "state_dir", "steps"} on stdin and prints one
# JSON result a line per step (as it goes: a board-sized heap holds one). A step is {"line": ..} (feed), {"command": attrs,
# "value": ..}, {"telemetry": true} (of the last fed line) or
# {"restart": true} (a new parser on the same state_dir); "ticks" and "time"
# set the parser's clocks first.
DRIVER = r"""
import sys, json
from ugate.sources import sensors

job = json.loads(sys.stdin.read())
clock = {"ticks": 0, "time": 1700000000}

def new():
    p = sensors.create(job["protocol"], job.get("options"), job.get("state_dir"))
    p.ticks_ms = lambda: clock["ticks"]
    p.unix_time = lambda: clock["time"]
    return p

def out(result):
    print(json.dumps(result))

try:
    p = new()
except ValueError as e:
    p = None
    out({"error": str(e)})
last = []
for step in job["steps"]:
    for k in ("ticks", "time"):
        if k in step:
            clock[k] = step[k]
    try:
        if "restart" in step:
            p = new()
            out({})
        elif "command" in step:
            out({"line": p.command(step["command"], step["value"])})
        elif "telemetry" in step:
            out({"telemetry": p.telemetry(last)})
        else:
            last, replies = p.feed(step["line"])
            out({"readings": [r.as_dict() for r in last], "replies": replies})
    except ValueError as e:
        out({"error": str(e)})
"""


def run_steps(runtime, protocol, steps, options=None, state_dir=None):
    """Results of `steps` (see DRIVER) on one runtime, one per step."""
    # Not ASCII-escaped: MicroPython's json.loads keeps each half of an escaped
    # surrogate pair as a code point of its own (ugate.base.jsoninput joins them).
    job = json.dumps({"protocol": protocol, "options": options or {}, "state_dir": state_dir, "steps": steps},
                     ensure_ascii=False)
    return [json.loads(line) for line in run_core(runtime, DRIVER, input=job, timeout=60).splitlines()]


def feed(runtime, protocol, lines, options=None, state_dir=None):
    return run_steps(runtime, protocol, [{"line": line} for line in lines], options, state_dir)


def values(result):
    """{entity_id: value} of one step's readings."""
    return {r["entity_id"]: r["value"] for r in result["readings"]}


def reading(result, entity_id):
    for r in result["readings"]:
        if r["entity_id"] == entity_id:
            return r
    raise AssertionError("no {} in {}".format(entity_id, values(result)))


# -- what every protocol shares ----------------------------------------------

def test_entity_id_and_friendly_name_follow_the_naming_scheme(runtime):
    [res] = feed(runtime, "jsonl", ['{"id": "Living Room/2", "name": "Living room", "wind_avg": 3}'])
    r = reading(res, "sensor.jsonl_living_room_2_wind_avg")
    assert r["device"] == "jsonl_living_room_2"
    assert r["friendly_name"] == "Living room Wind Avg"


@pytest.mark.parametrize("protocol", ["mysensors", "rflink", "rtl_433", "jsonl"])
def test_guards_reject_bad_lines_and_keep_working(runtime, protocol, tmp_path):
    good = {"mysensors": "1;0;1;0;0;20.7", "rflink": "20;36;Alecto V1;ID=0334;TEMP=00cf;",
            "rtl_433": '{"model":"Nexus-TH","id":1,"temperature_C":20.7}',
            "jsonl": '{"id":"k","temperature":20.7}'}[protocol]
    bad = [good + "x" * 300, good[:10] + "\x00\x01\x02" + good[10:], good[:5] + "\ufffd" + good[5:]]
    res = feed(runtime, protocol, bad + [good], state_dir=str(tmp_path))
    assert [r.get("error") for r in res[:3]] == [
        "line too long ({} > 256)".format(len(bad[0])), "binary garbage", "binary garbage"]
    assert 20.7 in values(res[3]).values()


@pytest.mark.parametrize("protocol", ["mysensors", "rflink", "rtl_433", "jsonl"])
def test_blank_lines_and_line_endings(runtime, protocol, tmp_path):
    res = feed(runtime, protocol, ["", "  ", "\r"], state_dir=str(tmp_path))
    assert res == [{"readings": [], "replies": []}] * 3


def test_unknown_protocol_and_bad_options(runtime):
    [res] = run_steps(runtime, "zigbee", [])
    assert res == {"error": "unknown protocol 'zigbee' (one of jsonl, mysensors, rflink, rtl_433)"}
    [res] = run_steps(runtime, "rflink", [], options={"repeat_window_ms": -1})
    assert res == {"error": "option repeat_window_ms must be an integer >= 0"}
    [res] = run_steps(runtime, "mysensors", [], options={"unit_system": "nautical"})
    assert res == {"error": "option unit_system must be metric or us_customary"}


def test_telemetry_is_one_payload_per_line(runtime):
    res = run_steps(runtime, "rtl_433", [
        {"line": '{"model":"Nexus-TH","id":42,"channel":2,"battery_ok":1,"temperature_C":20.5,"humidity":83}'},
        {"telemetry": True}])
    assert res[1]["telemetry"] == {"battery": "off", "humidity": 83, "temperature": 20.5}


def test_both_runtimes_agree_on_every_sample():
    """The same lines give byte-for-byte the same readings on both runtimes."""
    lines = {
        "rflink": ["20;2D;UPM/Esic;ID=0001;TEMP=00cf;HUM=16;BAT=OK;", "20;36;Alecto V1;ID=0334;TEMP=800d;HUM=33;BAT=OK;",
                   "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;", "20;12;Pir;ID=aa66;PIR=ON;",
                   "20;47;Cresta;ID=8001;WINDIR=0002;WINSP=0060;WINGS=0088;WINCHL=80a5;"],
        "mysensors": ["255;255;3;0;3;", "1;0;0;0;6;", "1;0;1;0;0;21.5", "1;255;3;0;0;79"],
        "rtl_433": ['{"time":"2019-08-29 08:38:19","model":"Nexus-TH","id":42,"channel":2,"battery_ok":1,'
                    '"temperature_C":20.5,"humidity":83}'],
        "jsonl": ['{"id": "kitchen", "temperature": -0.1, "humidity": 40, "door": false, "mode": "eco"}'],
    }
    for protocol, protocol_lines in lines.items():
        results = [feed(rt, protocol, protocol_lines) for rt in RUNTIMES]
        assert results[0] == results[1], protocol
        assert all("readings" in r for r in results[0]), results[0]


def corrupted(lines, count, seed):
    """`count` lines a noisy radio or cable could make of `lines`."""
    import random
    rng = random.Random(seed)
    alphabet = ';=,:{}[]"0123456789abcdefABCDEF-.eE xnul\\' + "\x00\xff\u00b0"
    out = []
    for _ in range(count):
        line = list(rng.choice(lines))
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(line))
            op = rng.randrange(3)
            if op == 0:
                del line[pos]
            elif op == 1:
                line.insert(pos, rng.choice(alphabet))
            else:
                line[pos] = rng.choice(alphabet)
        out.append("".join(line))
    return out


@pytest.mark.parametrize("protocol, lines", [
    ("mysensors", ["1;0;0;0;6;", "1;0;1;0;0;21.5", "1;255;3;0;0;79", "1;1;1;0;16;1", "255;255;3;0;3;",
                   "1;1;2;0;16;", "1;255;3;0;11;Weather"]),
    ("rflink", ["20;2D;UPM/Esic;ID=0001;TEMP=00cf;HUM=16;BAT=OK;", "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;",
                "20;47;Cresta;ID=8001;WINDIR=0002;WINSP=0060;WINGS=0088;WINCHL=80a5;"]),
    ("rtl_433", ['{"model":"Nexus-TH","id":42,"channel":2,"battery_ok":1,"temperature_C":20.5,"humidity":83}']),
    ("jsonl", ['{"id": "kitchen", "temperature": 21.5, "humidity": 40, "motion": true, "mode": "eco"}']),
])
def test_runtimes_agree_on_corrupted_lines(protocol, lines, tmp_path):
    """Whatever noise makes of a line, both runtimes accept or reject it alike
    and accepted lines give the same readings (error texts of number parsing
    differ between the runtimes, so only the fact of an error is compared)."""
    bad = corrupted(lines, 400, protocol)
    results = []
    for rt in RUNTIMES:
        state = tmp_path / rt
        state.mkdir()
        results.append([r if "readings" in r else "error" for r in feed(rt, protocol, bad, state_dir=str(state))])
    for line, cpython, micropython in zip(bad, *results):
        assert cpython == micropython, line
    assert "error" in results[0] and any(r != "error" for r in results[0])
