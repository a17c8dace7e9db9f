"""Bad configs are refused with a message naming the file and the key, and a
non-zero exit; never a traceback. Checked through `ugate run` for both
runtimes and through firmware/main.py under MicroPython directly."""
import json
import os

import pytest

from conftest import ROOT, run_interpreter, run_ugate
from ugate import config

BAD = [
    ({"nope": 1}, "unknown key 'nope'"),
    ({"server_port": "8123"}, "key 'server_port': expected an integer from 1 to 65535, got \"8123\""),
    ({"server_port": 70000}, "key 'server_port': expected an integer from 1 to 65535, got 70000"),
    ({"ip_ban_enabled": "yes"}, "key 'ip_ban_enabled': expected true or false"),
    ({"cors_allowed_origins": "https://a"}, "key 'cors_allowed_origins': expected a list"),
    ({"trusted_proxies": ["10.0.0.300"]}, "key 'trusted_proxies[0]': expected an IP address or network"),
    ({"ssl_certificate": "/x.pem"}, "'ssl_certificate' and 'ssl_key' go together"),
    ({"use_x_forwarded_for": True}, "'use_x_forwarded_for' needs 'trusted_proxies'"),
    ({"login_attempts_threshold": 0}, "key 'login_attempts_threshold'"),
    ({"limits": {"max_connections": 0}}, "key 'limits.max_connections': expected an integer >= 1, got 0"),
    ({"limits": {"bogus": 1}}, "unknown key 'limits.bogus'"),
    ({"disabled_faces": ["rest"]}, "key 'disabled_faces[0]': expected one of websocket, stream, auth, mobile_app, page, history, got \"rest\""),
    ([1, 2], "the top level must be a JSON object"),
]


def write(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(path)


def run_firmware(config_dir):
    """firmware/main.py under MicroPython, as a board starts it."""
    return run_interpreter("micropython", [os.path.join(ROOT, "firmware", "main.py"), "--config-dir", str(config_dir)])


@pytest.mark.parametrize("data,message", BAD)
def test_bad_config_is_refused_with_a_clear_error(tmp_path, runtime, data, message):
    path = write(tmp_path, data)
    r = run_ugate("run", "--config-dir", tmp_path, "--runtime", runtime)
    assert r.returncode == 2
    assert r.stderr.startswith("error: " + path + ": ")
    assert message in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("data,message", BAD)
def test_firmware_refuses_bad_config_itself(tmp_path, data, message):
    """firmware/main.py validates with the same core under MicroPython."""
    write(tmp_path, data)
    r = run_firmware(tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_invalid_json_names_the_file(tmp_path):
    path = write(tmp_path, "{not json")
    r = run_ugate("run", "--config-dir", tmp_path)
    assert r.returncode == 2 and "error: {}: not valid JSON".format(path) in r.stderr


def test_unreadable_file_is_reported(tmp_path):
    (tmp_path / "config.json").mkdir()  # a directory cannot be read as a file
    r = run_ugate("run", "--config-dir", tmp_path)
    assert r.returncode == 2 and "cannot read the file" in r.stderr and "Traceback" not in r.stderr


def test_command_line_overrides_the_file(tmp_path):
    write(tmp_path, {"server_port": 9000})
    conf = config.load(str(tmp_path), {"server_port": 9100, "server_host": None})
    assert conf["server_port"] == 9100 and conf["server_host"] == "0.0.0.0"


def test_defaults_mirror_home_assistant(tmp_path):
    conf = config.load(str(tmp_path))
    assert conf["server_port"] == 8123
    assert conf["ip_ban_enabled"] is True and conf["login_attempts_threshold"] == -1
    assert conf["cors_allowed_origins"] == [] and conf["use_x_forwarded_for"] is False


def test_config_that_is_not_utf8_names_the_file(tmp_path, runtime):
    (tmp_path / "config.json").write_bytes(b'{"location_name": "\xff"}')
    r = run_ugate("run", "--config-dir", tmp_path, "--runtime", runtime)
    assert r.returncode == 2 and "config.json: not UTF-8 text" in r.stderr
    r = run_firmware(tmp_path)
    assert r.returncode == 2 and "config.json: not UTF-8 text" in r.stderr
