"""Home Assistant's service endpoints: `GET /api/services` lists what
`hub.services` offers, `POST /api/services/<domain>/<service>` calls it and
answers with the states the call changed (HA's APIDomainServicesView)."""
from ugate.base import log
from ugate.faces.homeassistant.rest import parse_json_body, request_context
from ugate.http.auth import requires_auth
from ugate.http.responses import error_response, json_message, json_response
from ugate.hub.commands import DeviceUnavailable
from ugate.hub.services import RESPONSE_NOT_SUPPORTED, RESPONSE_REQUIRED, ServiceNotFound

_log = log.get("api.services")


#: What a refused call answers (see `Services.refusal`), Home Assistant's words.
REFUSALS = {
    RESPONSE_NOT_SUPPORTED: "Service does not support responses. Remove return_response from request.",
    RESPONSE_REQUIRED: "Service call requires responses but caller did not ask for responses. "
                       "Add ?return_response to query parameters.",
}


def setup(app, hub):
    auth = requires_auth(hub.auth)

    @app.get("/api/services")
    @auth
    async def api_services(request):
        return json_response(hub.services.as_list())

    @app.post("/api/services/<domain>/<service>")
    @auth
    async def api_call_service(request, domain, service):
        try:
            data = parse_json_body(request)
        except ValueError:
            return json_message("Data should be valid JSON.", 400)
        if data is None:
            data = {}
        response_requested = "return_response" in request.args
        try:
            refusal = hub.services.refusal(domain, service, response_requested)
        except ServiceNotFound:
            # Home Assistant answers an unknown service or unusable data
            # with a bare HTTPBadRequest.
            _log.info("call of unknown service {}.{}".format(domain, service))
            return error_response(400)
        if not isinstance(data, dict):
            return error_response(400)
        if refusal:
            return json_message(REFUSALS[refusal], 400)

        context = request_context(request)
        changed = []

        def collect(event):
            new_state = event.data.get("new_state")
            if event.context.id == context.id and new_state:
                changed.append(new_state)

        stop_collecting = hub.bus.listen("state_changed", collect)
        try:
            result = await hub.services.call(domain, service, data, context)
        except ValueError as exc:  # the service refused the data (HA: vol.Invalid)
            _log.info("{}.{} refused its data: {}".format(domain, service, exc))
            return error_response(400)
        except DeviceUnavailable as exc:  # the caller did nothing wrong: the device is out of reach
            _log.warning("{}.{}: {}".format(domain, service, exc))
            return json_message(str(exc), 503)
        finally:
            stop_collecting()
        if response_requested:
            return json_response({"changed_states": changed, "service_response": result})
        return json_response(changed)
