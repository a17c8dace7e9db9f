"""Each line the gateway logs, also as a `system_log_event` on the bus (the
event Home Assistant's system_log fires, with its fields), so the web page
shows new log lines as they come through `subscribe_events`. Fired only
while someone subscribes to it by name: clients of every event (SSE,
`subscribe_events` without a type) are not sent the log. A line logged
while one is being fired (a failing listener logs) is not fired again."""
from ugate.base import dates, log
from ugate.base.compat import OrderedDict

EVENT = "system_log_event"


def setup(hub):
    firing = []

    def fire(name, level, msg, us):
        if firing or not hub.bus.listened(EVENT):
            return
        firing.append(True)
        try:
            seconds = dates.epoch_float(us)
            hub.bus.fire(EVENT, OrderedDict([
                ("name", name), ("message", [msg]), ("level", level), ("source", [name, 0]),
                ("timestamp", seconds), ("exception", ""), ("count", 1), ("first_occurred", seconds)]))
        finally:
            firing.pop()

    log.Log.listeners.append(fire)
    hub.on_stop.append(lambda: log.Log.listeners.remove(fire))
