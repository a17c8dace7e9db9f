"""Home Assistant's REST API (ha-api.md section 1)."""
from ugate.base import jsoninput, jsonstream
from ugate.base.compat import OrderedDict
from ugate.http.auth import requires_auth
from ugate.http.responses import json_message, json_response, json_text
from ugate.hub.bus import Context
from ugate.hub.states import InvalidEntityId, InvalidState, TooManyEntities, valid_entity_id


def parse_json_body(request):
    """The request body as JSON (None when empty); ValueError when it is not
    valid JSON, not UTF-8 or nested too deeply (`ugate.base.jsoninput`)."""
    body = request.body
    if not body:
        return None
    return jsoninput.loads(body)


def config_dict(hub):
    c = hub.config
    metric = c["unit_system"] == "metric"
    return {
        "components": sorted(hub.components),
        "config_dir": hub.config_dir,
        "elevation": c["elevation"],
        "latitude": c["latitude"],
        "longitude": c["longitude"],
        "location_name": c["location_name"],
        "time_zone": c["time_zone"],
        "unit_system": {
            "length": "km" if metric else "mi",
            "accumulated_precipitation": "mm" if metric else "in",
            "mass": "g" if metric else "lb",
            "pressure": "Pa" if metric else "psi",
            "temperature": "°C" if metric else "°F",
            "volume": "L" if metric else "gal",
            "wind_speed": "m/s" if metric else "mph",
        },
        "version": hub.ha_version,
        "ugate_version": hub.version,
        "state": "RUNNING",
        "safe_mode": False,
        "recovery_mode": False,
        "whitelist_external_dirs": [],
        "allowlist_external_dirs": [],
        "allowlist_external_urls": [],
        "currency": "EUR",
        "country": None,
        "language": "en",
        "external_url": c["external_url"],
        "internal_url": c["internal_url"],
    }


def request_context(request):
    """The context of a change made by the authenticated user."""
    return Context(user_id=request.g.user.id)


def setup(app, hub):
    auth = requires_auth(hub.auth)

    @app.get("/api/")
    @auth
    async def api_status(request):
        return json_message("API running.")

    @app.get("/api/config")
    @auth
    async def api_config(request):
        return json_response(config_dict(hub))

    @app.get("/api/core/state")
    @auth
    async def api_core_state(request):
        return json_response({"state": "RUNNING"})

    @app.get("/api/components")
    @auth
    async def api_components(request):
        return json_response(sorted(hub.components))

    @app.get("/api/states")
    @auth
    async def api_states(request):
        return json_response(jsonstream.array(hub.states.all(), hub.states.json))

    @app.get("/api/states/<entity_id>")
    @auth
    async def api_get_state(request, entity_id):
        state = hub.states.get(entity_id)
        if state is None:
            return json_message("Entity not found.", 404)
        return json_text(hub.states.json(state))

    @app.post("/api/states/<entity_id>")
    @auth
    async def api_set_state(request, entity_id):
        # Checks in Home Assistant's order (ha-api.md 1.1).
        try:
            data = parse_json_body(request)
        except ValueError:
            return json_message("Invalid JSON specified.", 400)
        if not isinstance(data, dict):
            return json_message("State data should be a JSON object.", 400)
        new_state = data.get("state")
        if new_state is None:
            return json_message("No state specified.", 400)
        entity_id = entity_id.lower()
        if not valid_entity_id(entity_id):
            return json_message("Invalid entity ID specified.", 400)
        attributes = data.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            return json_message("Attributes should be a JSON object.", 400)
        force_update = data.get("force_update", False) is True
        try:
            state, created = hub.states.set(entity_id, new_state, attributes, force_update,
                                            request_context(request))
        except TooManyEntities as exc:
            # HA has no such limit; a board must: say which one was hit.
            return json_message(str(exc), 400)
        except (InvalidState, InvalidEntityId):
            return json_message("Invalid state specified.", 400)
        return json_text(hub.states.json(state), 201 if created else 200,
                         {"Location": "/api/states/" + entity_id})

    @app.delete("/api/states/<entity_id>")
    @auth
    async def api_delete_state(request, entity_id):
        if hub.states.remove(entity_id, request_context(request)):
            return json_message("Entity removed.")
        return json_message("Entity not found.", 404)

    @app.get("/api/events")
    @auth
    async def api_events(request):
        counts = hub.bus.listener_counts()
        return json_response([OrderedDict([("event", t), ("listener_count", counts[t])])
                              for t in sorted(counts)])

    @app.post("/api/events/<event_type>")
    @auth
    async def api_fire_event(request, event_type):
        try:
            data = parse_json_body(request)
        except ValueError:
            return json_message("Event data should be valid JSON.", 400)
        if data is not None and not isinstance(data, dict):
            return json_message("Event data should be a JSON object", 400)
        hub.bus.fire(event_type, data, origin="REMOTE", context=request_context(request))
        return json_message("Event {} fired.".format(event_type))
