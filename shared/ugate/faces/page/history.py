"""`GET /api/history/period[/<start>]?filter_entity_id=a,b`: the recent
values the hub keeps in memory (`ugate.hub.history`), in the shape of Home
Assistant's history API with `minimal_response`: one list per entity, the
first item naming the entity, the others `{"state", "last_changed"}`.
`start` (ISO 8601, default one day ago) and `end_time` bound the times.
Only numeric states are kept, at most `History.max_points` per entity: this
is for sparklines, not a recorder. Imported on the first request."""
from ugate.base import compat, dates
from ugate.base.compat import OrderedDict
from ugate.http.responses import error_response, json_message, json_response
from ugate.http.url import unquote

DAY_US = 86400 * 1000000


def _time(text, default):
    if text is None:
        return default
    try:
        return dates.parse(unquote(text))
    except ValueError:
        return None


def _series(hub, entity_id, start, end):
    items = []
    for seconds, value in hub.history.points(entity_id):
        us = seconds * 1000000
        if start <= us <= end:
            item = OrderedDict()
            if not items:
                item["entity_id"] = entity_id
            item["state"] = "{:.7g}".format(value)
            item["last_changed"] = dates.iso(us)
            items.append(item)
    return items


async def view(hub, request, path):
    """/api/history/<path>: `period` or `period/<start>`."""
    if path == "period":
        start_text = None
    elif path.startswith("period/"):
        start_text = path[7:]
    else:
        return error_response(404)
    ids = request.args.get("filter_entity_id")
    if not ids:
        return json_message("filter_entity_id is missing", 400)
    now = compat.now_us()
    start = _time(start_text, now - DAY_US)
    end = _time(request.args.get("end_time"), now)
    if start is None:
        return json_message("Invalid datetime", 400)
    if end is None:
        return json_message("Invalid end_time", 400)
    found = [_series(hub, e.strip().lower(), start, end) for e in ids.split(",")]
    return json_response([items for items in found if items])
