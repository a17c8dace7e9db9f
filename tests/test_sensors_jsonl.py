"""JSON lines from home-made sensors, on both runtimes (see test_sensors_common)."""
import json

import pytest

from test_sensors_common import feed, reading, run_steps, values


def test_example_line(runtime):
    [res] = feed(runtime, "jsonl", ['{"id": "kitchen", "temperature": 21.5, "humidity": 40}'])
    assert values(res) == {"sensor.jsonl_kitchen_temperature": 21.5, "sensor.jsonl_kitchen_humidity": 40}
    temp = reading(res, "sensor.jsonl_kitchen_temperature")
    assert (temp["unit"], temp["device_class"], temp["friendly_name"]) == ("°C", "temperature",
                                                                          "kitchen Temperature")
    assert temp["attributes"] == {"protocol": "jsonl", "id": "kitchen", "key": "temperature"}


@pytest.mark.parametrize("key, value, unit, device_class", [
    ("pressure", 1013.5, "hPa", "pressure"),
    ("battery", 87, "%", "battery"),
    ("illuminance", 320, "lx", "illuminance"),
    ("co2", 812, "ppm", "carbon_dioxide"),
    ("pm25", 7.5, "µg/m³", "pm25"),
    ("voltage", 3.3, "V", "voltage"),
    ("power", 12, "W", "power"),
    ("energy", 1.25, "kWh", "energy"),
    ("moisture", 35, "%", "moisture"),
    ("rpm", 1500, None, None),
    ("temperature", -12.25, "°C", "temperature"),
])
def test_numeric_keys(runtime, key, value, unit, device_class):
    [res] = feed(runtime, "jsonl", [json.dumps({"id": "n1", key: value})])
    r = reading(res, "sensor.jsonl_n1_" + key)
    assert (r["value"], r["unit"], r["device_class"], r["kind"]) == (value, unit, device_class, "sensor")


@pytest.mark.parametrize("key, value, state, device_class", [
    ("motion", True, "on", "motion"),
    ("door", False, "off", "door"),
    ("window", 1, "on", "window"),
    ("smoke", 0, "off", "smoke"),
    ("leak", True, "on", "moisture"),
    ("pump", True, "on", None),
])
def test_binary_keys(runtime, key, value, state, device_class):
    [res] = feed(runtime, "jsonl", [json.dumps({"id": 3, key: value})])
    r = reading(res, "binary_sensor.jsonl_3_" + key)
    assert (r["value"], r["device_class"]) == (state, device_class)


def test_name_and_text_values(runtime):
    [res] = feed(runtime, "jsonl", ['{"id": "gh1", "name": "Greenhouse", "mode": "watering"}'])
    r = reading(res, "sensor.jsonl_gh1_mode")
    assert (r["value"], r["device_name"], r["friendly_name"]) == ("watering", "Greenhouse", "Greenhouse Mode")


def test_heartbeat_without_values(runtime):
    assert feed(runtime, "jsonl", ['{"id": "x"}']) == [{"readings": [], "replies": []}]


def test_malformed_lines(runtime):
    bad = {
        '{"id": "kitchen", "temperature": 21.5': "invalid JSON",
        '"kitchen"': "not a JSON object",
        '{"temperature": 21.5}': "missing id",
        '{"id": "", "temperature": 21.5}': "missing id",
        '{"id": true}': "missing id",
        '{"id": "a", "name": 5}': "name must be a string",
        '{"id": "a", "t": [1]}': "unsupported value for t",
        '{"id": "a", "t": null}': "unsupported value for t",
    }
    res = feed(runtime, "jsonl", list(bad))
    assert [r.get("error") for r in res] == list(bad.values())


def test_commands(runtime):
    [res] = feed(runtime, "jsonl", ['{"id": "porch", "light": false, "temperature": 3}'])
    light = reading(res, "binary_sensor.jsonl_porch_light")["attributes"]
    out = run_steps(runtime, "jsonl", [{"command": light, "value": "on"}, {"command": light, "value": 40},
                                       {"command": {"protocol": "rflink"}, "value": "on"}])
    assert json.loads(out[0]["line"]) == {"id": "porch", "light": True}
    assert out[0]["line"].startswith('{"id": "porch"')
    assert json.loads(out[1]["line"]) == {"id": "porch", "light": 40}
    assert out[2] == {"error": "not a jsonl entity"}


@pytest.mark.parametrize("line", [
    '{"id": "a", "t": , "u": 1}',        # MicroPython's json alone loads this as {"t": "u"}
    '{"id": "a" "t": 1}',
    '{"id": "a", "t" 5: 1}',
    '{"id": "a", "t": 1,}',
    '{"id": "a", "t": [1,]}',
    '{"id": "a", "t": 01}',
    '{"id": "a", "t": 1.}',
    '{"id": "a", "t": -}',
    '{"id": "a", "t": NaN}',
    '{"id": "a", "t": Infinity}',
    '{"id": "a", "t": tru}',
    '{"id": "a", "t": "x\\q"}',
    '{"id": "a", "t": "\\u00g0"}',
    '{"id": "a", "t": 1}}',
    '{"id": "a", "t": 1',
    '{"id": "a", 5: 1}',
    '{"id": "a"} x',
])
def test_json_is_checked_strictly_on_both_runtimes(runtime, line):
    [res] = feed(runtime, "jsonl", [line])
    assert res == {"error": "invalid JSON"}


def test_strict_json_accepts_every_valid_form(runtime):
    line = '{ "id" : "a\\u00e9\\n" , "t" : -1.5e2 , "u" : 0.25E-1 , "v" : [ ] , "w" : { } , "x" : 0 }'
    [res] = feed(runtime, "jsonl", [line.replace(', "v" : [ ] , "w" : { }', "")])
    # "aé\n" names the device: é is spelled "e" in the entity id, as HA slugifies
    assert values(res) == {"sensor.jsonl_ae_t": -150.0, "sensor.jsonl_ae_u": 0.025, "sensor.jsonl_ae_x": 0}
    [res] = feed(runtime, "jsonl", [line])
    assert res == {"error": "unsupported value for v"}  # valid JSON, but not a sensor value


def test_deep_nesting_is_refused(runtime):
    [res] = feed(runtime, "jsonl", ['{"id": "a", "t": ' + "[" * 20 + "]" * 20 + "}"])
    assert res == {"error": "JSON nested too deeply"}
