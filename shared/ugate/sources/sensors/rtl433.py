"""rtl_433 JSON lines (`rtl_433 -F json`): one decoded radio message a line.

`model`, `channel` and `id` identify a device (`rtl433_<model>_<channel>_<id>`).
A field `<quantity>_<unit>` is a sensor keyed `<quantity>` with that unit
(UNITS); `humidity`, `moisture`, `uv`, older `temperature` (°C) are known
without a suffix; `battery_ok` (and older `battery: "OK"/"LOW"`) is a battery
binary sensor that is on when the battery is low; `motion`, `tamper`,
`alarm`, `*_open` with 0/1 are binary sensors. Other numbers are plain sensors;
`time`, `mic`, radio metadata and text fields are not readings. Copies of one
message (rtl_433 prints each repeat it decodes) within `repeat_window_ms`
(default 1000) count once.
"""
from ugate.hub.states import slugify
from ugate.sources.sensors import Protocol, Reading, Repeats, finite, on_off, strictjson

#: Unit suffix -> (unit, device class); the longest matching suffix wins.
UNITS = (
    ("_mm_h", "mm/h", "precipitation_intensity"),
    ("_in_h", "in/h", "precipitation_intensity"),
    ("_km_h", "km/h", "wind_speed"),
    ("_mi_h", "mph", "wind_speed"),
    ("_ug_m3", "µg/m³", None),
    ("_m_s", "m/s", "wind_speed"),
    ("_hPa", "hPa", "pressure"),
    ("_kPa", "kPa", "pressure"),
    ("_PSI", "psi", "pressure"),
    ("_deg", "°", None),
    ("_lux", "lx", "illuminance"),
    ("_kWh", "kWh", "energy"),
    ("_ppm", "ppm", None),
    ("_mm", "mm", None),
    ("_in", "in", None),
    ("_cm", "cm", "distance"),
    ("_km", "km", "distance"),
    ("_mV", "mV", "voltage"),
    ("_dB", "dB", "sound_pressure"),
    ("_C", "°C", "temperature"),
    ("_F", "°F", "temperature"),
    ("_W", "W", "power"),
    ("_V", "V", "voltage"),
    ("_A", "A", "current"),
)
#: Device classes that depend on the quantity, not only on the unit.
QUANTITY_CLASSES = {"rain": "precipitation", "co2": "carbon_dioxide", "pm2_5": "pm25", "pm10": "pm10",
                    "depth": "distance"}
#: Fields known without a unit suffix: (unit, device class).
PLAIN = {
    "temperature": ("°C", "temperature"),
    "humidity": ("%", "humidity"),
    "moisture": ("%", "moisture"),
    "uv": ("UV index", None),
    "uvi": ("UV index", None),
}
#: Binary fields -> device class ("on" when the field is non-zero).
BINARY = {"motion": "motion", "tamper": "tamper", "alarm": "safety", "contact_open": "opening",
          "reed_open": "opening"}
#: Fields that identify or describe a message rather than measure something.
NOT_READINGS = ("time", "model", "id", "channel", "mic", "protocol", "subtype", "rssi", "snr", "noise",
                "freq", "freq1", "freq2", "mod", "sequence", "message_type")


def unit_of(field):
    for suffix, unit, device_class in UNITS:
        if field.endswith(suffix) and len(field) > len(suffix):
            quantity = field[:-len(suffix)]
            return quantity, unit, QUANTITY_CLASSES.get(quantity, device_class)
    unit, device_class = PLAIN.get(field, (None, None))
    return field, unit, device_class


class Rtl433(Protocol):
    name = "rtl_433"
    option_names = ("repeat_window_ms",)

    def __init__(self, options=None, state_dir=None):
        Protocol.__init__(self, options, state_dir)
        self.repeats = Repeats(self.option_int("repeat_window_ms", 1000))

    def parse(self, line):
        obj = strictjson.loads_object(line)
        model = obj.get("model")
        if not isinstance(model, str) or not model:
            raise ValueError("missing model")
        parts = [model]
        for name in ("channel", "id"):
            value = obj.get(name)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
                parts.append(str(value))
        device = "rtl433_" + slugify("_".join(parts))
        device_name = " ".join(parts)
        attrs = {"protocol": "rtl_433", "model": model}
        for name in ("channel", "id"):
            if name in obj:
                attrs[name] = obj[name]
        readings = []
        keys = []
        for field in sorted(obj):
            if field in NOT_READINGS:
                continue
            reading = self._reading(device, device_name, field, obj[field], attrs)
            if reading is None:
                continue
            if reading.key in keys:  # e.g. temperature_C and temperature_F: keep both
                reading.key = slugify(field)
            keys.append(reading.key)
            readings.append(reading)
        if self.repeats.repeated(line, self.ticks_ms()):
            return [], []
        return readings, []

    def _reading(self, device, device_name, field, value, attrs):
        if field == "battery_ok" or field == "battery" and value in ("OK", "LOW"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                low = value < 0.5  # 0/1, or a 0..1 level from some decoders
            elif value in ("OK", "LOW"):
                low = value == "LOW"
            else:
                raise ValueError("bad battery value")
            return Reading(device, device_name, "battery", on_off(low), "binary_sensor", None, "battery",
                           dict(attrs))
        if field in BINARY and (isinstance(value, bool) or isinstance(value, int) and value in (0, 1)):
            return Reading(device, device_name, field, on_off(value), "binary_sensor", None, BINARY[field],
                           dict(attrs))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # text, lists and flags are not sensor values
        key, unit, device_class = unit_of(field)
        return Reading(device, device_name, key, finite(value), "sensor", unit, device_class, dict(attrs))


PROTOCOL = Rtl433
