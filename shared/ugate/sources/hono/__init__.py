"""Eclipse Hono's device API: the HTTP adapter devices publish to
(`adapter`), its registry of tenants, devices and hashed credentials
(`registry`, `passwords`) and command and control for devices waiting with
`hono-ttd` (`commands`). Devices' messages go into the hub's message
channel; Hono's application API (`ugate.faces.hono`) reads them there."""
from ugate.sources.hono import adapter, registry
from ugate.sources.hono.commands import WaitingDevices

#: Access-Control-Allow-Headers of a preflight to each endpoint (reference
#: section 7); answers expose the command headers.
CORS_HEADERS = (("/telemetry", "authorization, content-type, QoS-Level, hono-ttd"),
                ("/event", "authorization, content-type, hono-ttd"),
                ("/command/res", "authorization, content-type, hono-cmd-status"))
EXPOSED_HEADERS = "hono-command, hono-cmd-req-id, hono-cmd-target-device"


def setup(app, hub):
    conf = hub.config["hono"]
    reg = registry.Registry(hub.config_dir)
    reg.load()  # a bad registry stops the start, with the entry named
    messages = hub.open_messages()
    if conf["max_stored_events"]:
        messages.events.max_per_tenant = conf["max_stored_events"]
    messages.tenant_checks.append(lambda tenant: reg.tenant(tenant) is not None)
    waiting = WaitingDevices(reg)
    hub.commands.targets.append(waiting)
    device_api = adapter.Adapter(hub, reg, waiting)
    adapter.setup(app, device_api)
    for path, allow_headers in CORS_HEADERS:
        app.cors.open(path, "POST, PUT", allow_headers, EXPOSED_HEADERS)
        app.body_gates.append((path, device_api.body_gate))  # devices use Basic auth
    hub.components.append("hono")
