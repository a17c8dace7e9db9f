"""Server-sent events: `GET /api/stream[?restrict=type1,type2]` (ha-api.md
1.3), the bus as `text/event-stream`, each event serialised once when it
fires, for all clients (bounded per client by `ugate.http.sse`)."""
from microdot import Response

from ugate.http.auth import requires_auth, watch_revocation
from ugate.http.server import remote
from ugate.http.sse import EventStreamBody, frame_text
from ugate.hub.bus import MATCH_ALL


class BusStream(EventStreamBody):
    """The body of one `/api/stream` response: the bus, one frame per event."""

    def __init__(self, bus, sock, client, restrict=None, watch=None):
        super().__init__(sock, client, watch)
        self.bus = bus
        self.restrict = restrict

    def subscribe(self):
        return self.bus.listen(MATCH_ALL, self._forward)

    def _forward(self, event):
        if not self.restrict or event.event_type in self.restrict:
            self.push(frame_text(event.json()))


def setup(app, hub):
    @app.get("/api/stream")
    @requires_auth(hub.auth)
    async def api_stream(request):
        restrict = request.args.get("restrict")
        stream = BusStream(hub.bus, request.sock, remote(request),
                           restrict.split(",") if restrict else None,
                           watch_revocation(hub.auth, request))
        return Response(stream, headers={"Content-Type": "text/event-stream",
                                         "Cache-Control": "no-cache"})
