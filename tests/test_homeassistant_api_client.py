"""An unmodified third-party client, `homeassistant-api` from PyPI, talks to
ugate as it would to Home Assistant, on both runtimes."""
from homeassistant_api import Client, State
from homeassistant_api.errors import UnauthorizedError

from sse_client import EventStream


def client(gateway, token=None):
    return Client(gateway.url("/api/"), token or gateway.token)


def test_config_states_events_and_services(gateway):
    with client(gateway) as ha:
        assert ha.check_api_running()
        config = ha.get_config()
        assert config["state"] == "RUNNING" and config["location_name"] == "ugate"
        assert "api" in ha.get_components()

        new = ha.set_state(State(entity_id="sensor.garden", state="12.5",
                                 attributes={"unit_of_measurement": "°C"}))
        assert new.entity_id == "sensor.garden" and new.state == "12.5"
        assert new.context is not None and new.context.user_id
        assert ha.get_state(entity_id="sensor.garden").attributes == {"unit_of_measurement": "°C"}
        assert "sensor.garden" in [s.entity_id for s in ha.get_states()]

        with EventStream(gateway, "/api/stream?restrict=sprinkler") as sse:
            assert sse.frame() == "ping"
            assert ha.fire_event("sprinkler", zone=3) == "Event sprinkler fired."
            assert sse.event()["data"] == {"zone": 3}

        domains = ha.get_domains()
        notify = domains["persistent_notification"]
        assert notify.services["create"].fields["message"].required is True
        # The library first asks for a service response, gets HA's 400
        # ("does not support responses") and calls again without.
        changed = notify.services["create"].trigger(message="Water low", notification_id="water")
        assert [s.entity_id for s in changed] == ["persistent_notification.water"]
        assert ha.get_state(entity_id="persistent_notification.water").attributes["message"] \
            == "Water low"
        notify.services["dismiss"].trigger(notification_id="water")
        assert "persistent_notification.water" not in [s.entity_id for s in ha.get_states()]


def test_bad_token_is_refused(gateway):
    ha = client(gateway, token="not-a-token")
    try:
        ha.get_config()
    except UnauthorizedError:
        pass
    else:
        raise AssertionError("a bad token was accepted")


def test_error_log(start_gateway, tmp_path):
    gw = start_gateway({"log_file": str(tmp_path / "ugate.log")})
    with client(gw) as ha:
        assert "listening on" in ha.get_error_log()
