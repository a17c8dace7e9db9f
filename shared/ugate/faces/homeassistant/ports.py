"""`GET /api/ugate/ports`: the state of each serial and radio port (see
`ugate.sources.bridge`), so an owner can tell an unplugged stick from a quiet one."""
from ugate.http.auth import requires_auth
from ugate.http.responses import json_response


def setup(app, hub):
    auth = requires_auth(hub.tokens)

    @app.get("/api/ugate/ports")
    @auth
    async def api_ports(request):
        return json_response([port.status() for port in hub.ports])
