"""Entity ids: Home Assistant's validity rule and the slugs ugate builds
names from, identical on both runtimes."""
import json

from conftest import run_core

SLUGS = [
    ("Living Room 2", "living_room_2"),
    ("Küche", "kuche"),
    ("STRAßE Öl", "strasse_ol"),
    ("Ærø", "aero"),
    ("__a--b__", "a_b"),
    ("日本", "unknown"),
    ("", "unknown"),
]
IDS = [
    ("sensor.x", True), ("binary_sensor.radio_2", True), ("bad.entity.id", False),
    ("sensor._x", False), ("sensor.x_", False), ("sensor.a__b", False), ("sensor.", False),
    ("Sensor.x", False), ("sensor.ü", False), ("sensorx", False),
]


def test_slugify_and_entity_ids(runtime):
    code = ("import json\nfrom ugate.hub.states import slugify, valid_entity_id\n"
            "print(json.dumps([[slugify(t) for t in {}], [valid_entity_id(e) for e in {}]]))").format(
        json.dumps([t for t, _ in SLUGS]), json.dumps([e for e, _ in IDS]))
    slugs, valid = json.loads(run_core(runtime, code))
    assert slugs == [s for _, s in SLUGS]
    assert valid == [v for _, v in IDS]
