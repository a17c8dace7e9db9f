"""`render_template` of Home Assistant's WebSocket API: a subscription. The
first render answers at once; the template is rendered again when a state
it read changes (and every minute when it reads `now()`), and each new
result arrives as an event. The template engine (`template`) is loaded
at the first render."""
import asyncio

from ugate.base.compat import OrderedDict
from ugate.faces.homeassistant.websocket_commands import (error_message, event_message, field,
                                                          result_message)

ERR_TEMPLATE_ERROR = "template_error"
#: Seconds between renders of a template that reads the clock.
CLOCK_INTERVAL = 60


def _listeners(template):
    return OrderedDict([("all", False), ("domains", []), ("entities", sorted(template.entities)),
                        ("time", template.uses_now)])


async def render_template(conn, msg):
    from ugate.faces.homeassistant.template import Template, TemplateError
    msg_id = msg["id"]
    source = field(msg, "template", str, required=True)
    variables = field(msg, "variables", dict, {})
    report_errors = field(msg, "report_errors", bool, False)
    template = Template(conn.hub, source)
    try:
        result = template.render(variables)
    except TemplateError as exc:
        conn.enqueue(error_message(msg_id, ERR_TEMPLATE_ERROR, str(exc)))
        return
    last = [result]

    def render():
        try:
            value = template.render(variables)
        except TemplateError as exc:
            if report_errors:
                conn.enqueue(event_message(msg_id, {"error": str(exc), "level": "ERROR"}))
            return
        if value != last[0]:
            last[0] = value
            conn.enqueue(event_message(msg_id, {"result": value, "listeners": _listeners(template)}))

    def changed(event):
        if event.data["entity_id"] in template.entities:
            render()

    async def clock():
        while True:
            await asyncio.sleep(CLOCK_INTERVAL)
            if template.uses_now:
                render()

    def start():
        stop_listening = conn.hub.bus.listen("state_changed", changed)
        ticking = asyncio.create_task(clock())

        def stop():
            stop_listening()
            ticking.cancel()
        return stop

    conn.subscribe(msg_id, start)
    conn.enqueue(result_message(msg_id))
    conn.enqueue(event_message(msg_id, {"result": result, "listeners": _listeners(template)}))


COMMANDS = {"render_template": render_template}
