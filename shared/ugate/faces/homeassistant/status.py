"""ugate's own status API: `GET /api/ugate/ports`, the state of each serial
and radio port (so an owner can tell an unplugged stick from a quiet one),
and `GET /api/ugate/forwarders`, each forwarder's."""
from ugate.http.auth import requires_auth
from ugate.http.responses import json_response


def setup(app, hub):
    auth = requires_auth(hub.auth)

    @app.get("/api/ugate/ports")
    @auth
    async def api_ports(request):
        return json_response([port.status() for port in hub.ports])

    @app.get("/api/ugate/forwarders")
    @auth
    async def api_forwarders(request):
        return json_response([forwarder.status() for forwarder in hub.forwarders])
