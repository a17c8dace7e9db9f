"""RFLink: every label's encoding, control lines, repeat collapsing and switch
commands, on both runtimes (see test_sensors_common)."""
import pytest

from test_sensors_common import feed, reading, run_steps, values

NOTHING = {"readings": [], "replies": []}


def test_reference_samples(runtime):
    res = feed(runtime, "rflink", [
        "20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R46;",
        "20;2D;UPM/Esic;ID=0001;TEMP=00cf;HUM=16;BAT=OK;",
        "20;36;Alecto V1;ID=0334;TEMP=800d;HUM=33;BAT=OK;",
        "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;",
        "20;12;Pir;ID=aa66;PIR=ON;",
    ])
    assert res[0] == NOTHING
    assert values(res[1]) == {"sensor.rflink_upm_esic_0001_temperature": 20.7,
                              "sensor.rflink_upm_esic_0001_humidity": 16,
                              "binary_sensor.rflink_upm_esic_0001_battery": "off"}
    assert values(res[2]) == {"sensor.rflink_alecto_v1_0334_temperature": -1.3,
                              "sensor.rflink_alecto_v1_0334_humidity": 33,
                              "binary_sensor.rflink_alecto_v1_0334_battery": "off"}
    temp = reading(res[2], "sensor.rflink_alecto_v1_0334_temperature")
    assert temp["device"] == "rflink_alecto_v1_0334" and temp["device_name"] == "Alecto V1 0334"
    assert (temp["unit"], temp["device_class"]) == ("°C", "temperature")
    assert temp["friendly_name"] == "Alecto V1 0334 Temperature"
    assert temp["attributes"] == {"protocol": "rflink", "rflink_protocol": "Alecto V1", "id": "0334"}
    switch = reading(res[3], "binary_sensor.rflink_newkaku_00c142_switch_1")
    assert switch["value"] == "on" and switch["attributes"]["switch"] == "1"
    assert values(res[4]) == {"binary_sensor.rflink_pir_aa66_motion": "on"}
    assert reading(res[4], "binary_sensor.rflink_pir_aa66_motion")["device_class"] == "motion"


@pytest.mark.parametrize("label, raw, key, value, unit, device_class", [
    ("TEMP", "00cf", "temperature", 20.7, "°C", "temperature"),
    ("TEMP", "800d", "temperature", -1.3, "°C", "temperature"),
    ("TEMP", "8000", "temperature", 0, "°C", "temperature"),
    ("TEMP", "7fff", "temperature", 3276.7, "°C", "temperature"),
    ("WINCHL", "80a5", "wind_chill", -16.5, "°C", "temperature"),
    ("WINTMP", "0064", "wind_temperature", 10.0, "°C", "temperature"),
    ("HUM", "85", "humidity", 85, "%", "humidity"),
    ("BARO", "03f1", "pressure", 1009, "hPa", "pressure"),
    ("UV", "0023", "uv", 35, "UV index", None),
    ("LUX", "01f4", "illuminance", 500, "lx", "illuminance"),
    ("WATT", "00ff", "power", 255, "W", "power"),
    ("KWATT", "0010", "power_kw", 16, "kW", "power"),
    ("RAIN", "01a4", "rain", 42.0, "mm", "precipitation"),
    ("RAINRATE", "000f", "rain_rate", 1.5, "mm/h", "precipitation_intensity"),
    ("WINSP", "0060", "wind_speed", 9.6, "km/h", "wind_speed"),
    ("AWINSP", "0050", "wind_average", 8.0, "km/h", "wind_speed"),
    ("WINGS", "0088", "wind_gust", 13.6, "km/h", "wind_speed"),
    ("WINDIR", "0002", "wind_direction", 45.0, "°", None),
    ("WINDIR", "15", "wind_direction", 337.5, "°", None),
    ("CO2", "412", "co2", 412, "ppm", "carbon_dioxide"),
    ("SOUND", "55", "sound", 55, "dB", "sound_pressure"),
    ("CURRENT", "12", "current", 12, "A", "current"),
    ("DIST", "130", "distance", 130, None, None),
    ("METER", "1234", "meter", 1234, None, None),
    ("VOLT", "230", "voltage", 230, "V", "voltage"),
])
def test_sensor_labels(runtime, label, raw, key, value, unit, device_class):
    [res] = feed(runtime, "rflink", ["20;47;Cresta;ID=8001;{}={};".format(label, raw)])
    r = reading(res, "sensor.rflink_cresta_8001_" + key)
    assert r["value"] == pytest.approx(value) and (r["unit"], r["device_class"]) == (unit, device_class)


@pytest.mark.parametrize("field, key, value, device_class", [
    ("BAT=OK", "battery", "off", "battery"),
    ("BAT=LOW", "battery", "on", "battery"),
    ("PIR=OFF", "motion", "off", "motion"),
    ("SMOKEALERT=ON", "smoke", "on", "smoke"),
    ("SWITCH=A3;CMD=OFF", "switch_a3", "off", None),
    ("SWITCH=2;CMD=ALLON", "switch_2", "on", None),
    ("CMD=ON", "switch", "on", None),
])
def test_binary_labels(runtime, field, key, value, device_class):
    [res] = feed(runtime, "rflink", ["20;0A;Kaku;ID=41;{};".format(field)])
    r = reading(res, "binary_sensor.rflink_kaku_41_" + key)
    assert (r["value"], r["kind"], r["device_class"]) == (value, "binary_sensor", device_class)


def test_other_switch_commands(runtime):
    res = feed(runtime, "rflink", ["20;0B;BrelMotor;ID=19a3;SWITCH=1;CMD=UP;",
                                   "20;0C;NewKaku;ID=31;SWITCH=2;CMD=SET_LEVEL=7;"])
    assert values(res[0]) == {"sensor.rflink_brelmotor_19a3_switch_1_command": "up"}
    assert values(res[1]) == {"sensor.rflink_newkaku_31_switch_2_level": 7}


def test_control_lines(runtime):
    res = feed(runtime, "rflink", ["20;01;PONG;", "20;02;OK;", "20;03;VER=1.1;REV=46;BUILD=0c;",
                                   "10;NewKaku;00c142;1;ON;", "11;NewKaku;00c142;1;ON;", "20;04;CMD UNKNOWN;"])
    assert res == [NOTHING] * 6


def test_malformed_lines(runtime):
    bad = {
        "20;36;Alecto V1;ID=0334;TEMP=800d;HUM=3": "truncated line",
        "21;36;Alecto V1;ID=0334;TEMP=800d;": "not an RFLink line",
        "20;3;Alecto V1;ID=0334;TEMP=800d;": "not an RFLink line",
        "20;;": "not an RFLink line",
        "20;zz;Alecto V1;ID=0334;TEMP=800d;": "bad hex value",
        "20;36;Alecto V1;ID=0334;TEMP=80g0;": "bad hex value",
        "20;36;Alecto V1;ID=0334;TEMP=0cf;": "bad signed value",
        "20;36;Alecto V1;ID=xyz;TEMP=00cf;": "bad hex value",
        "20;36;Alecto V1;ID=0334;TEMP00cf;": "bad field 'TEMP00cf'",
        "20;36;Alecto V1;ID=0334;HUM=;": "bad number",
        "20;36;Alecto V1;ID=0334;HUM=E16;": "bad number",
        "20;36;Alecto V1;ID=0334;BAT=MAYBE;": "bad battery value",
        "20;36;Alecto V1;ID=0334;WINDIR=16;": "bad wind direction",
        "20;12;Pir;ID=aa66;PIR=1;": "bad ON/OFF value",
        "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=DANCE;": "unknown command 'DANCE'",
        "20;3A;Chime;ID=00c142;CHIME=01;": "no known values (CHIME)",
    }
    res = feed(runtime, "rflink", list(bad))
    assert [r.get("error") for r in res] == list(bad.values())


def test_unknown_labels_beside_known_ones_are_skipped(runtime):
    [res] = feed(runtime, "rflink", ["20;3B;Oregon;ID=1a2d;TEMP=00cf;BFORECAST=1;HSTATUS=2;"])
    assert values(res) == {"sensor.rflink_oregon_1a2d_temperature": 20.7}


def test_repeated_frames_of_one_press_count_once(runtime):
    frame = "NewKaku;ID=00c142;SWITCH=1;CMD=ON;"
    steps = [{"line": "20;3A;" + frame, "ticks": 1000},
             {"line": "20;3B;" + frame, "ticks": 1200},          # repeat: new counter, same frame
             {"line": "20;3C;Pir;ID=aa66;PIR=ON;", "ticks": 1300},  # another device in between
             {"line": "20;3D;" + frame, "ticks": 1900},          # still within 1 s of the last copy
             {"line": "20;3E;" + frame, "ticks": 3000},          # a new press
             {"line": "20;3F;" + frame.replace("ON", "OFF"), "ticks": 3100}]
    res = run_steps(runtime, "rflink", steps)
    counts = [len(r["readings"]) for r in res]
    assert counts == [1, 0, 1, 0, 1, 1]


def test_repeat_window_option(runtime):
    frame = "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;"
    steps = [{"line": frame, "ticks": 0}, {"line": frame, "ticks": 150}, {"line": frame, "ticks": 400}]
    assert [len(r["readings"]) for r in run_steps(runtime, "rflink", steps, {"repeat_window_ms": 200})] == [1, 0, 1]
    assert [len(r["readings"]) for r in run_steps(runtime, "rflink", steps, {"repeat_window_ms": 0})] == [1, 1, 1]


def test_a_rejected_line_does_not_count_as_seen(runtime):
    steps = [{"line": "20;01;Pir;ID=aa66;PIR=1;", "ticks": 0}, {"line": "20;02;Pir;ID=aa66;PIR=1;", "ticks": 10},
             {"line": "20;03;Pir;ID=aa66;PIR=ON;", "ticks": 20}]
    res = run_steps(runtime, "rflink", steps)
    assert "error" in res[0] and "error" in res[1] and len(res[2]["readings"]) == 1


def test_switch_commands(runtime):
    [res] = feed(runtime, "rflink", ["20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;",])
    attrs = reading(res, "binary_sensor.rflink_newkaku_00c142_switch_1")["attributes"]
    [sensor] = feed(runtime, "rflink", ["20;36;Alecto V1;ID=0334;TEMP=800d;"])
    steps = [{"command": attrs, "value": "on"}, {"command": attrs, "value": "off"},
             {"command": attrs, "value": False}, {"command": attrs, "value": "ALLOFF"},
             {"command": sensor["readings"][0]["attributes"], "value": "on"},
             {"command": attrs, "value": "dim"},
             {"command": {"protocol": "rflink", "rflink_protocol": "Kaku", "id": "41"}, "value": "on"}]
    out = run_steps(runtime, "rflink", steps)
    assert [o.get("line") for o in out[:4]] == ["10;NewKaku;00c142;1;ON;", "10;NewKaku;00c142;1;OFF;",
                                                "10;NewKaku;00c142;1;OFF;", "10;NewKaku;00c142;1;ALLOFF;"]
    assert out[4] == {"error": "not an RFLink switch"}
    assert out[5] == {"error": "unsupported command 'dim'"}
    assert out[6] == {"error": "not an RFLink switch"}  # a CMD without SWITCH has no unit to address
