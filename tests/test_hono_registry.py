"""The Hono registry on both runtimes: the reference's hashing vectors,
secret validity, the `ugate hono` CLI (passwords from stdin, stored only
hashed), and registries the gateway refuses with the entry named."""
import hashlib
import json
import os

import pytest

from conftest import wait_for
from hono_helpers import TENANT, Consumer, demo_gateway, device, hono
from ugate.base.sha512 import pure_sha512

SHA512_VECTOR = {"hash-function": "sha-512", "salt": "VGhlU2FsdA==",
                 "pwd-hash": "mh1STqpQkjQvkJrZOP53vO0IWSWMLpSgTEnC5E6NzNwkVC2YzurtJsjD21hqlbfGkKVb2FhkKq8IPk7x3y9umQ=="}
BCRYPT_VECTOR = {"hash-function": "bcrypt",
                 "pwd-hash": "$2a$12$rcrgLZrGHkEMAMfP5atLGe4HOvI0ZdclQdWDt/6DfUcgNEphwK27i"}


def registry(config_dir, credentials):
    os.makedirs(config_dir, exist_ok=True)
    data = {"tenants": {TENANT: {}}, "devices": {TENANT: {"4711": {}}},
            "credentials": {TENANT: [dict({"auth-id": a, "type": "hashed-password", "device-id": "4711"}, **c)
                                     for a, c in credentials]}}
    with open(os.path.join(config_dir, "hono_registry.json"), "w") as f:
        json.dump(data, f)


def authenticates(gw, auth_id, password):
    """401 for bad credentials; 503 (no consumer) once they are good."""
    status = device(gw, "POST", "/telemetry", auth=(auth_id + "@" + TENANT, password)).status_code
    assert status in (401, 503)
    return status == 503


def test_pure_sha512_matches_hashlib():
    for n in (0, 1, 111, 112, 127, 128, 129, 1000):
        data = bytes(range(256)) * 4
        assert pure_sha512(data[:n]) == hashlib.sha512(data[:n]).digest()


def test_sha512_vector_and_secret_validity(start_gateway, tmp_path):
    registry(tmp_path / "c", [
        ("vec", {"secrets": [SHA512_VECTOR]}),
        ("future", {"secrets": [dict(SHA512_VECTOR, **{"not-before": "2999-01-01T00:00:00Z"})]}),
        ("expired", {"secrets": [dict(SHA512_VECTOR, **{"not-after": "2001-01-01T00:00:00+02:00"})]}),
        ("window", {"secrets": [dict(SHA512_VECTOR, **{"not-before": "2001-01-01T00:00:00.5-05:00",
                                                       "not-after": "2999-12-31T23:59:59Z"})]}),
        ("off", {"enabled": False, "secrets": [SHA512_VECTOR]}),
        ("secret-off", {"secrets": [dict(SHA512_VECTOR, enabled=False)]}),
        ("two", {"secrets": [dict(SHA512_VECTOR, **{"not-after": "2001-01-01T00:00:00Z"}),
                             {"hash-function": "sha-256", "salt": "c2FsdA==",
                              "pwd-hash": "vt6QOG1FDOqLd7gi+IhwZeTlq/Eywvncz8x/vUy6XjU="}]}),
    ])
    gw = start_gateway(config={}, config_dir=tmp_path / "c")
    assert authenticates(gw, "vec", "password")
    assert not authenticates(gw, "vec", "Password")
    assert not authenticates(gw, "future", "password")
    assert not authenticates(gw, "expired", "password")
    assert authenticates(gw, "window", "password")
    assert not authenticates(gw, "off", "password")
    assert not authenticates(gw, "secret-off", "password")
    # base64(sha256(b"salt" + b"secret")): the second secret still counts.
    assert authenticates(gw, "two", "secret")


def test_bcrypt_vector(start_gateway, tmp_path, runtime):
    registry(tmp_path / "c", [("kapua", {"secrets": [BCRYPT_VECTOR]})])
    if runtime == "micropython":
        # No bcrypt on boards: the start stops, naming the entry.
        with pytest.raises(RuntimeError) as exc:
            start_gateway(config={}, config_dir=tmp_path / "c")
        assert "credentials.DEFAULT_TENANT[0].secrets[0].hash-function: bcrypt secrets cannot be " \
               "checked on this runtime" in str(exc.value)
        return
    gw = start_gateway(config={}, config_dir=tmp_path / "c")
    assert authenticates(gw, "kapua", "kapua-password")
    assert not authenticates(gw, "kapua", "kapua-passwort")


def test_cli_stores_only_hashes(start_gateway, tmp_path, runtime):
    config_dir = tmp_path / "c"
    assert hono(config_dir, "tenant", "ACME", "--max-ttd", "30").returncode == 0
    assert hono(config_dir, "device", "ACME", "pump").returncode == 0
    functions = ["sha-256", "sha-512"] + (["bcrypt"] if runtime == "cpython" else [])
    for function in functions:
        r = hono(config_dir, "credential", "ACME", "pump", "pump-" + function, "--hash-function", function,
                 password="s3cret-" + function)
        assert r.returncode == 0, r.stderr
    # A password never comes from the command line, and an empty one is refused.
    r = hono(config_dir, "credential", "ACME", "pump", "nopw", password="")
    assert r.returncode == 2 and "empty password" in r.stderr
    r = hono(config_dir, "credential", "ACME", "nobody", "x", password="pw")
    assert r.returncode == 2 and "no device nobody in tenant ACME" in r.stderr
    r = hono(config_dir, "credential", "ACME", "pump", "x", "--not-after", "tomorrow", password="pw")
    assert r.returncode == 2 and "--not-after" in r.stderr
    with open(config_dir / "hono_registry.json") as f:
        text = f.read()
    assert "s3cret" not in text
    listed = hono(config_dir, "list")
    assert json.loads(listed.stdout)["tenants"]["ACME"]["ext"] == {"max-ttd": 30}
    gw = start_gateway(config={}, config_dir=config_dir)
    for function in functions:
        assert authenticates_in(gw, "pump-" + function + "@ACME", "s3cret-" + function)
        assert not authenticates_in(gw, "pump-" + function + "@ACME", "s3cret")
    # Removing credentials applies to the running gateway.
    assert hono(config_dir, "remove", "ACME", "--auth-id", "pump-sha-256").returncode == 0
    assert not authenticates_in(gw, "pump-sha-256@ACME", "s3cret-sha-256")
    assert authenticates_in(gw, "pump-sha-512@ACME", "s3cret-sha-512")
    assert hono(config_dir, "remove", "ACME", "pump").returncode == 0
    assert not authenticates_in(gw, "pump-sha-512@ACME", "s3cret-sha-512")


def authenticates_in(gw, user, password):
    status = device(gw, "POST", "/telemetry", auth=(user, password)).status_code
    assert status in (401, 503, 404)
    return status != 401


@pytest.mark.parametrize("content, key", [
    ("{not json", "not valid JSON"),
    ('{"tenants": {"T": {"enabled": "yes"}}}', "tenants.T.enabled: expected true or false"),
    ('{"tenants": {}, "devices": {"T": {"d": {"via": "gw"}}}}', "devices.T.d.via"),
    ('{"credentials": {"T": [{"auth-id": "a", "device-id": "d", "secrets": [{"hash-function": "md5", '
     '"pwd-hash": "x"}]}]}}', "credentials.T[0].secrets[0].hash-function: unknown hash-function"),
    ('{"credentials": {"T": [{"auth-id": "a", "device-id": "d", "secrets": [{"pwd-hash": "abcd", '
     '"not-after": "soon"}]}]}}', "credentials.T[0].secrets[0].not-after"),
    ('{"users": {}}', "users: unknown section"),
])
def test_bad_registry_stops_the_start(start_gateway, tmp_path, content, key):
    os.makedirs(tmp_path / "c")
    with open(tmp_path / "c" / "hono_registry.json", "w") as f:
        f.write(content)
    with pytest.raises(RuntimeError) as exc:
        start_gateway(config={}, config_dir=tmp_path / "c")
    assert "hono_registry.json: " in str(exc.value) and key in str(exc.value)


def test_bad_edit_while_running_keeps_the_registry(start_gateway, tmp_path):
    gw = demo_gateway(start_gateway, tmp_path)
    with open(os.path.join(gw.config_dir, "hono_registry.json"), "w") as f:
        f.write("{broken")
    with Consumer(gw):
        assert device(gw, "POST", "/telemetry").status_code == 202
    assert "keeping the registry loaded before" in gw.logs()


def test_bad_hono_config_names_the_key(start_gateway):
    with pytest.raises(RuntimeError) as exc:
        start_gateway(config={"hono": {"max_payload": "big"}})
    assert "key 'hono.max_payload'" in str(exc.value)


def test_demo_on_a_running_gateway_without_hono_works_at_once(start_gateway):
    """The README's first Hono step on a gateway started without Hono: the
    adapter used to answer 404 until a restart."""
    gw = start_gateway()
    assert device(gw, "POST", "/telemetry").status_code == 404
    assert hono(gw.config_dir, "demo").returncode == 0
    wait_for(lambda: device(gw, "POST", "/telemetry").status_code == 503, 15, "the adapter")
    with Consumer(gw) as app:
        assert device(gw, "POST", "/telemetry").status_code == 202
        assert app.next()["device_id"] == "4711"
    assert "the Hono adapter is on" in gw.logs()
