"""The registry commands of Home Assistant's WebSocket API that the
companion apps call after connecting: `config/entity_registry/list`,
`list_for_display` and `get`, `config/device_registry/list`, and the area
and floor lists (ugate has no areas: empty).

Devices are the phones (from the parts in `hub.registries`, objects with
`devices()` and `entities()` in Home Assistant's shapes) and the bridged
serial and radio devices, found by the `device_id` attribute their
readings carry; their entities are listed with the protocol as platform.
"""
from ugate.base import compat
from ugate.base.compat import OrderedDict
from ugate.faces.homeassistant.websocket_commands import (ERR_NOT_FOUND, error_message, field,
                                                          result_message)

ENTITY_CATEGORIES = ("config", "diagnostic")


def device_id(name):
    """A bridged device's registry id: stable, 32 hex digits."""
    return compat.sha256_hex("ugate-device:" + name)[:32]


def entity_entry(entity_id, platform, unique_id, device, original_name, icon=None,
                 entity_category=None, disabled=False, config_entry_id=None):
    """An entity registry entry as Home Assistant lists it."""
    return OrderedDict([
        ("area_id", None), ("categories", {}), ("config_entry_id", config_entry_id),
        ("config_subentry_id", None), ("created_at", 0.0), ("device_id", device),
        ("disabled_by", "integration" if disabled else None), ("entity_category", entity_category),
        ("entity_id", entity_id), ("has_entity_name", False), ("hidden_by", None), ("icon", None),
        ("id", compat.sha256_hex("ugate-entity:" + entity_id)[:32]), ("labels", []),
        ("modified_at", 0.0), ("name", None), ("options", {}), ("original_icon", icon),
        ("original_name", original_name), ("platform", platform), ("translation_key", None),
        ("unique_id", unique_id)])


def device_entry(id, name, manufacturer, model, sw_version=None, config_entry_id=None):
    """A device registry entry as Home Assistant lists it."""
    return OrderedDict([
        ("area_id", None), ("config_entries", [config_entry_id] if config_entry_id else []),
        ("config_entries_subentries", {}), ("configuration_url", None), ("connections", []),
        ("created_at", 0.0), ("disabled_by", None), ("entry_type", None), ("hw_version", None),
        ("id", id), ("identifiers", [["ugate", name]]), ("labels", []),
        ("manufacturer", manufacturer), ("model", model), ("model_id", None),
        ("modified_at", 0.0), ("name_by_user", None), ("name", name),
        ("primary_config_entry", config_entry_id), ("serial_number", None),
        ("sw_version", sw_version), ("via_device_id", None)])


def _bridged(hub):
    """(devices, entities) of the bridged devices, from their readings."""
    devices, entities = OrderedDict(), []
    for state in hub.states.all():
        name = state.attributes.get("device_id")
        if not isinstance(name, str) or "/" not in name:
            continue
        protocol = name.split("/", 1)[0]
        if name not in devices:
            devices[name] = device_entry(device_id(name), name, protocol, protocol)
        entities.append(entity_entry(state.entity_id, protocol, state.entity_id, device_id(name),
                                     state.attributes.get("friendly_name")))
    return list(devices.values()), entities


def all_entities(hub):
    out = []
    for part in hub.registries:
        out.extend(part.entities())
    return out + _bridged(hub)[1]


async def entity_registry_list(conn, msg):
    conn.enqueue(result_message(msg["id"], all_entities(conn.hub)))


async def entity_registry_list_for_display(conn, msg):
    shown = []
    for e in all_entities(conn.hub):
        if e["disabled_by"]:
            continue
        entry = OrderedDict([("ei", e["entity_id"]), ("pl", e["platform"])])
        if e["device_id"]:
            entry["di"] = e["device_id"]
        if e["entity_category"] in ENTITY_CATEGORIES:
            entry["ec"] = ENTITY_CATEGORIES.index(e["entity_category"])
        if e["original_icon"]:
            entry["ic"] = e["original_icon"]
        shown.append(entry)
    conn.enqueue(result_message(msg["id"], OrderedDict([
        ("entity_categories", {str(i): c for i, c in enumerate(ENTITY_CATEGORIES)}),
        ("entities", shown)])))


async def entity_registry_get(conn, msg):
    entity_id = field(msg, "entity_id", str, required=True)
    for e in all_entities(conn.hub):
        if e["entity_id"] == entity_id:
            conn.enqueue(result_message(msg["id"], e))
            return
    conn.enqueue(error_message(msg["id"], ERR_NOT_FOUND, "Entity not found"))


async def device_registry_list(conn, msg):
    devices = []
    for part in conn.hub.registries:
        devices.extend(part.devices())
    conn.enqueue(result_message(msg["id"], devices + _bridged(conn.hub)[0]))


async def empty_list(conn, msg):
    conn.enqueue(result_message(msg["id"], []))


COMMANDS = {
    "config/entity_registry/list": entity_registry_list,
    "config/entity_registry/list_for_display": entity_registry_list_for_display,
    "config/entity_registry/get": entity_registry_get,
    "config/device_registry/list": device_registry_list,
    "config/area_registry/list": empty_list,
    "config/floor_registry/list": empty_list,
}
