"""rtl_433 JSON lines, on both runtimes (see test_sensors_common)."""
import json

import pytest

from test_sensors_common import feed, reading, run_steps, values

SAMPLE = ('{"time":"2019-08-29 08:38:19","model":"Nexus-TH","id":42,"channel":2,"battery_ok":1,'
          '"temperature_C":20.5,"humidity":83}')


def test_reference_sample(runtime):
    [res] = feed(runtime, "rtl_433", [SAMPLE])
    assert values(res) == {"sensor.rtl433_nexus_th_2_42_temperature": 20.5,
                           "sensor.rtl433_nexus_th_2_42_humidity": 83,
                           "binary_sensor.rtl433_nexus_th_2_42_battery": "off"}
    temp = reading(res, "sensor.rtl433_nexus_th_2_42_temperature")
    assert (temp["unit"], temp["device_class"], temp["device_name"]) == ("°C", "temperature", "Nexus-TH 2 42")
    assert temp["attributes"] == {"protocol": "rtl_433", "model": "Nexus-TH", "channel": 2, "id": 42}
    battery = reading(res, "binary_sensor.rtl433_nexus_th_2_42_battery")
    assert battery["device_class"] == "battery"
    hum = reading(res, "sensor.rtl433_nexus_th_2_42_humidity")
    assert (hum["unit"], hum["device_class"]) == ("%", "humidity")


def test_battery_low_is_on(runtime):
    [res] = feed(runtime, "rtl_433", ['{"model":"Nexus-TH","id":42,"channel":2,"battery_ok":0,"temperature_C":-7.3}'])
    assert values(res) == {"sensor.rtl433_nexus_th_2_42_temperature": -7.3,
                           "binary_sensor.rtl433_nexus_th_2_42_battery": "on"}


def test_older_field_names(runtime):
    res = feed(runtime, "rtl_433", ['{"model":"Prologue sensor","id":5,"temperature":-2.5,"battery":"OK"}',
                                    '{"model":"Prologue sensor","id":5,"temperature":-2.6,"battery":"LOW"}'])
    assert values(res[0]) == {"sensor.rtl433_prologue_sensor_5_temperature": -2.5,
                              "binary_sensor.rtl433_prologue_sensor_5_battery": "off"}
    assert reading(res[0], "sensor.rtl433_prologue_sensor_5_temperature")["unit"] == "°C"
    assert values(res[1])["binary_sensor.rtl433_prologue_sensor_5_battery"] == "on"


@pytest.mark.parametrize("field, value, key, unit, device_class", [
    ("temperature_F", 68.9, "temperature", "°F", "temperature"),
    ("pressure_hPa", 1013.2, "pressure", "hPa", "pressure"),
    ("pressure_kPa", 230, "pressure", "kPa", "pressure"),
    ("wind_avg_km_h", 12.5, "wind_avg", "km/h", "wind_speed"),
    ("wind_max_m_s", 4.2, "wind_max", "m/s", "wind_speed"),
    ("wind_dir_deg", 270, "wind_dir", "°", None),
    ("rain_mm", 12.7, "rain", "mm", "precipitation"),
    ("rain_rate_mm_h", 2.5, "rain_rate", "mm/h", "precipitation_intensity"),
    ("rain_in", 0.5, "rain", "in", "precipitation"),
    ("light_lux", 1200, "light", "lx", "illuminance"),
    ("power_W", 340.5, "power", "W", "power"),
    ("energy_kWh", 12.5, "energy", "kWh", "energy"),
    ("co2_ppm", 600, "co2", "ppm", "carbon_dioxide"),
    ("pm2_5_ug_m3", 12, "pm2_5", "µg/m³", "pm25"),
    ("battery_mV", 2900, "battery", "mV", "voltage"),
    ("humidity", 55, "humidity", "%", "humidity"),
    ("moisture", 30, "moisture", "%", "moisture"),
    ("uv", 3, "uv", "UV index", None),
    ("strike_count", 7, "strike_count", None, None),
])
def test_fields_with_units(runtime, field, value, key, unit, device_class):
    [res] = feed(runtime, "rtl_433", [json.dumps({"model": "WS", "id": 7, field: value})])
    r = reading(res, "sensor.rtl433_ws_7_" + key)
    assert (r["value"], r["unit"], r["device_class"]) == (value, unit, device_class)


def test_binary_fields_and_what_is_not_a_reading(runtime):
    line = json.dumps({"time": "2024-01-01 00:00:00", "model": "Door", "id": "a1b2", "channel": "A",
                       "contact_open": 1, "tamper": 0, "motion": True, "alarm": 3, "mic": "CRC",
                       "rssi": -12.1, "snr": 9.9, "button": "pressed", "codes": [1, 2]})
    [res] = feed(runtime, "rtl_433", [line])
    assert values(res) == {"binary_sensor.rtl433_door_a_a1b2_contact_open": "on",
                           "binary_sensor.rtl433_door_a_a1b2_tamper": "off",
                           "binary_sensor.rtl433_door_a_a1b2_motion": "on",
                           "sensor.rtl433_door_a_a1b2_alarm": 3}
    assert reading(res, "binary_sensor.rtl433_door_a_a1b2_contact_open")["device_class"] == "opening"


def test_two_units_for_one_quantity_keep_both(runtime):
    [res] = feed(runtime, "rtl_433", ['{"model":"T","temperature_C":20.0,"temperature_F":68.0}'])
    assert values(res) == {"sensor.rtl433_t_temperature": 20.0, "sensor.rtl433_t_temperature_f": 68.0}


def test_device_without_id_or_channel(runtime):
    [res] = feed(runtime, "rtl_433", ['{"model":"Generic-Remote","temperature_C":1}'])
    assert values(res) == {"sensor.rtl433_generic_remote_temperature": 1}


def test_malformed_lines(runtime):
    bad = {
        '{"model":"Nexus-TH","id":42,"temperature_C":20': "invalid JSON",
        '[1, 2]': "not a JSON object",
        '{"id":42,"temperature_C":20.5}': "missing model",
        '{"model":"","id":42}': "missing model",
        '{"model":"X","battery_ok":"yes"}': "bad battery value",
        'garbage': "invalid JSON",
        '{"model":"X","temperature_C":NaN}': "invalid JSON",
        '{"model":"X","temperature_C":1e999}': "not a finite number",
        # Corruptions MicroPython's json module would load as other values:
        '{"model":"X","temperature_C":,"humidity":83}': "invalid JSON",
        '{"model":"X","battery":"OK"4,"temperature":1}': "invalid JSON",
    }
    res = feed(runtime, "rtl_433", list(bad))
    assert [r.get("error") for r in res] == list(bad.values())


def test_repeated_messages_count_once(runtime):
    steps = [{"line": SAMPLE, "ticks": 0}, {"line": SAMPLE, "ticks": 50}, {"line": SAMPLE, "ticks": 100},
             {"line": SAMPLE, "ticks": 60000}]
    assert [len(r["readings"]) for r in run_steps(runtime, "rtl_433", steps)] == [3, 0, 0, 3]
