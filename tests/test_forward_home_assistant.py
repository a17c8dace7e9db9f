"""Forwarding into Home Assistant on both runtimes, with a second gateway as
the upstream (its REST API is Home Assistant's): states and removals arrive,
filtered and prefixed; an outage queues the newest state of each entity and
delivers it when the upstream is back, also across kill -9 of the forwarding
gateway; a refused token stops the forwarder with a notification; HTTPS with
the upstream's own CA."""
import os
import ssl

import trustme

from conftest import run_ugate, wait_for


def forwarding(start_gateway, upstream, tmp_path, **options):
    conf = dict({"type": "home_assistant", "name": "upstream", "url": upstream.base,
                 "token": upstream.token}, **options)
    return start_gateway(config={"forward": [conf], "restore_state": True},
                         config_dir=tmp_path / "forwarding")


def upstream_state(upstream, entity_id):
    r = upstream.get("/api/states/" + entity_id)
    return r.json() if r.status_code == 200 else None


def wait_upstream(upstream, entity_id, state):
    return wait_for(lambda: (upstream_state(upstream, entity_id) or {}).get("state") == state
                    and upstream_state(upstream, entity_id),
                    what="{} = {} upstream".format(entity_id, state))


def status(gw):
    [forwarder] = gw.get("/api/ugate/forwarders").json()
    return forwarder


def test_states_reach_the_upstream(start_gateway, tmp_path):
    upstream = start_gateway()
    # The token from DIR/secrets.json, as `ugate secret set` writes it.
    r = run_ugate("secret", "set", "upstream_token", "--config-dir", str(tmp_path / "forwarding"),
                  input=upstream.token + "\n")
    assert r.returncode == 0, r.stderr
    assert os.stat(tmp_path / "forwarding" / "secrets.json").st_mode & 0o777 == 0o600
    assert run_ugate("secret", "list", "--config-dir", str(tmp_path / "forwarding")).stdout == "upstream_token\n"
    gw = forwarding(start_gateway, upstream, tmp_path, token={"file": "upstream_token"},
                    include=["sensor.*"], exclude=["sensor.private_*"], prefix="gw1_")
    attributes = {"unit_of_measurement": "°C", "friendly_name": "Kitchen"}
    assert gw.post("/api/states/sensor.kitchen", json={"state": "21.5", "attributes": attributes}).status_code == 201
    gw.post("/api/states/sensor.private_diary", json={"state": "secret"})
    gw.post("/api/states/binary_sensor.door", json={"state": "on"})
    state = wait_upstream(upstream, "sensor.gw1_kitchen", "21.5")
    assert state["attributes"] == attributes
    gw.post("/api/states/sensor.kitchen", json={"state": "22", "attributes": attributes})
    wait_upstream(upstream, "sensor.gw1_kitchen", "22")
    assert upstream_state(upstream, "sensor.gw1_private_diary") is None
    assert upstream_state(upstream, "binary_sensor.gw1_door") is None
    # A removal is forwarded too.
    gw.delete("/api/states/sensor.kitchen")
    wait_for(lambda: upstream_state(upstream, "sensor.gw1_kitchen") is None, what="the removal upstream")
    s = status(gw)
    assert (s["name"], s["type"], s["connected"], s["queued"], s["failed"]) == (
        "upstream", "home_assistant", True, 0, 0)
    assert s["sent"] == 3 and s["last_error"] is None and s["last_success"]
    assert upstream.token not in gw.logs()


def test_an_outage_loses_nothing(start_gateway, tmp_path):
    upstream = start_gateway()
    gw = forwarding(start_gateway, upstream, tmp_path)
    gw.post("/api/states/sensor.a", json={"state": "0"})
    wait_upstream(upstream, "sensor.a", "0")
    upstream.stop()
    for value in ("1", "2", "3"):
        gw.post("/api/states/sensor.a", json={"state": value})
    gw.post("/api/states/sensor.b", json={"state": "5"})
    s = wait_for(lambda: not status(gw)["connected"] and status(gw), what="the forwarder to notice")
    assert s["queued"] == 2 and s["last_error"]  # the newest state of each entity
    upstream.start(same_port=True)
    wait_upstream(upstream, "sensor.a", "3")
    wait_upstream(upstream, "sensor.b", "5")
    assert wait_for(lambda: status(gw)["connected"] and status(gw)["queued"] == 0, what="reconnected")
    # Down again, and the forwarding gateway itself dies (kill -9) with a
    # state queued: once restore_state has saved it (within 10 s), it
    # arrives after the restart.
    upstream.stop()
    gw.post("/api/states/sensor.c", json={"state": "7"})
    wait_for(lambda: status(gw)["queued"] >= 1, what="queued")
    saved = os.path.join(gw.config_dir, "restore_state.json")
    wait_for(lambda: os.path.exists(saved) and "sensor.c" in open(saved).read(), timeout=30,
             what="the state saved")
    gw.kill()
    gw.start()
    upstream.start(same_port=True)
    wait_upstream(upstream, "sensor.c", "7")


def test_a_refused_token_stops_the_forwarder_and_notifies(start_gateway, tmp_path):
    upstream = start_gateway()
    gw = forwarding(start_gateway, upstream, tmp_path, token="not-a-token")
    gw.post("/api/states/sensor.x", json={"state": "1"})
    s = wait_for(lambda: status(gw)["last_error"] and status(gw), what="the refusal")
    assert not s["connected"] and "401" in s["last_error"]
    note = gw.get("/api/states/persistent_notification.forward_upstream").json()
    assert note["attributes"]["title"] == "Forwarder upstream stopped"
    assert upstream_state(upstream, "sensor.x") is None
    assert "not-a-token" not in gw.logs()


def test_https_with_the_upstreams_own_ca(start_gateway, tmp_path):
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    (tmp_path / "cert.pem").write_bytes(leaf.cert_chain_pems[0].bytes())
    (tmp_path / "key.pem").write_bytes(leaf.private_key_pem.bytes())
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem.bytes())
    upstream = start_gateway({"ssl_certificate": str(tmp_path / "cert.pem"), "ssl_key": str(tmp_path / "key.pem")},
                             scheme="https", verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")))
    gw = forwarding(start_gateway, upstream, tmp_path, ca_file=str(tmp_path / "ca.pem"))
    gw.post("/api/states/sensor.tls", json={"state": "1"})
    wait_upstream(upstream, "sensor.tls", "1")
    # Another CA is not trusted: nothing is delivered, the forwarder says why.
    other = trustme.CA()
    (tmp_path / "other.pem").write_bytes(other.cert_pem.bytes())
    gw2 = start_gateway(config={"forward": [{"type": "home_assistant", "name": "up", "url": upstream.base,
                                             "token": upstream.token, "ca_file": str(tmp_path / "other.pem")}]},
                        config_dir=tmp_path / "untrusting")
    gw2.post("/api/states/sensor.never", json={"state": "1"})
    s = wait_for(lambda: status(gw2)["last_error"] and status(gw2), what="a TLS failure")
    assert not s["connected"] and s["queued"] == 1
    assert upstream_state(upstream, "sensor.never") is None


def test_secrets_json_must_be_owner_only(start_gateway, tmp_path):
    import pytest
    (tmp_path / "secrets.json").write_text('{"t": "x"}')
    os.chmod(tmp_path / "secrets.json", 0o644)
    config = {"forward": [{"type": "home_assistant", "name": "up", "url": "http://127.0.0.1:9",
                           "token": {"file": "t"}}]}
    with pytest.raises(RuntimeError) as exc:
        start_gateway(config=config, config_dir=tmp_path)
    assert "secrets.json is readable by others" in str(exc.value)
    os.chmod(tmp_path / "secrets.json", 0o600)
    config["forward"][0]["token"] = {"file": "missing"}
    with pytest.raises(RuntimeError) as exc:
        start_gateway(config=config, config_dir=tmp_path)
    assert "key 'forward[0].token': no secret 'missing' in" in str(exc.value)
