"""The Eclipse Hono face: the HTTP adapter devices publish to (`adapter`),
its registry of tenants, devices and hashed credentials (`registry`,
`passwords`), the consumers' side (`downstream`, `north`) and command and
control (`commands`). Bridged serial and radio devices take part too: their
readings go to the consumers as telemetry, and commands reach them through
the bridge."""
import json

from ugate import config
from ugate.faces import hono as north
from ugate.http.cors import Cors
from ugate.sources import bridge as bridge_mod
from ugate.sources.hono import adapter, commands, cors, downstream, registry


def setup(app, hub):
    conf = hub.config["hono"]
    if conf is None:  # on for the registry alone: the section's defaults
        conf = hub.config["hono"] = config.section(config.HONO)({}, "hono")
    reg = registry.Registry(hub.config_dir)
    reg.load()  # a bad registry stops the start, with the entry named
    down = downstream.Downstream(hub.config_dir, conf["settle_timeout"], conf["max_stored_events"])
    cmds = commands.Commands(hub)
    adapter.setup(app, adapter.Adapter(hub, reg, down, cmds))
    north.setup(app, hub, down, cmds, reg, conf["command_timeout"])
    # The adapter's preflights go before the Home Assistant CORS layer.
    at = len(app.layers)
    for i, layer in enumerate(app.layers):
        if isinstance(layer, Cors):
            at = i
    app.layers.insert(at, cors.Preflight())
    hub.bus.listen(bridge_mod.TELEMETRY_EVENT, lambda event: _bridged(down, event))
    hub.components.append("hono")


def _bridged(down, event):
    """A bridged device's reading -> QoS 0 telemetry for the tenant's
    consumers (dropped when none is connected, like Hono's QoS 0)."""
    data = event.data
    msg = downstream.Message(downstream.TELEMETRY, data["tenant"], data["device_id"],
                             "application/json", json.dumps(data["payload"]).encode(),
                             orig_adapter="ugate-bridge", orig_address=None)
    try:
        down.publish(msg)
    except downstream.NoConsumer:
        pass
