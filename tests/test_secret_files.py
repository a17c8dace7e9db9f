"""Files that hold secrets (token hashes, Hono password hashes) are readable
by their owner only, whichever runtime or command writes them, and so is a
config directory the commands create. Every test runs under the usual umask
(022), which alone would leave them world-readable."""
import json
import os
import stat

import pytest

from conftest import Gateway, run_ugate
from hono_helpers import hono


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_first_start_owner_token_file_is_private(runtime, tmp_path):
    gw = Gateway(runtime, tmp_path / "fresh")
    auth = os.path.join(gw.config_dir, "auth.json")
    os.remove(auth)  # no token yet: the gateway creates the owner's, on its runtime
    gw.start()
    try:
        assert gw.get("/api/").status_code == 401  # the fixture's token went with the file
        with open(auth) as f:
            assert [t["name"] for t in json.load(f)["tokens"]] == ["owner"]
        assert mode(auth) == 0o600
    finally:
        gw.stop()


def test_token_command_makes_private_dir_and_file(tmp_path):
    config_dir = tmp_path / "new"
    r = run_ugate("token", "create", "--config-dir", config_dir)
    assert r.returncode == 0, r.stderr
    assert mode(config_dir) == 0o700
    assert mode(config_dir / "auth.json") == 0o600


def test_token_command_tightens_an_existing_file(tmp_path):
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"owner": {"id": "x", "name": "Owner"}, "tokens": []}))
    os.chmod(auth, 0o644)
    r = run_ugate("token", "create", "--config-dir", tmp_path)
    assert r.returncode == 0, r.stderr
    assert mode(auth) == 0o600


def test_hono_registry_is_private(tmp_path):
    config_dir = tmp_path / "c"
    assert hono(config_dir, "tenant", "ACME").returncode == 0
    assert hono(config_dir, "device", "ACME", "pump").returncode == 0
    assert hono(config_dir, "credential", "ACME", "pump", "pump", password="s3cret").returncode == 0
    assert mode(config_dir) == 0o700
    assert mode(config_dir / "hono_registry.json") == 0o600
