"""What a new user runs into at the start, on both runtimes where it runs:
each a one-line error naming what to fix, exit 2, never a traceback, and
nothing done before it that the error makes pointless (a token printed)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

from conftest import ROOT, Gateway, run_ugate
from ugate import VERSION


def run(runtime, config_dir, *args):
    return run_ugate("run", "--config-dir", config_dir, "--runtime", runtime, "--host", "127.0.0.1", *args)


def assert_refused(r, message):
    assert r.returncode == 2, r.stdout + r.stderr
    assert "error: " + message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_port_in_use_is_one_line(runtime, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(runtime, tmp_path, "--port", str(port))
    assert_refused(r, "cannot listen on 127.0.0.1:{}: ".format(port))
    assert r.stderr.count("\n") <= 3


def test_port_option_and_file_are_checked_apart(tmp_path):
    r = run("cpython", tmp_path, "--port", "99999")
    assert_refused(r, "--port: expected an integer from 1 to 65535, got 99999")
    assert "config.json" not in r.stderr
    (tmp_path / "config.json").write_text(json.dumps({"server_port": "x"}))
    r = run("cpython", tmp_path, "--port", "8124")
    assert_refused(r, "{}/config.json: key 'server_port': expected an integer".format(tmp_path))


def test_unknown_keys_in_a_serial_port_are_refused(tmp_path):
    port = {"port": "/dev/null", "protocol": "rflink", "repeat_window_ms": 5, "baud": 9600}
    (tmp_path / "config.json").write_text(json.dumps({"serial": [port]}))
    assert_refused(run("cpython", tmp_path), "{}/config.json: unknown key 'serial[0].baud'".format(tmp_path))


def test_a_missing_tls_file_is_named_before_any_token(runtime, tmp_path):
    missing = str(tmp_path / "fullchain.pem")
    (tmp_path / "config.json").write_text(json.dumps({"ssl_certificate": missing,
                                                      "ssl_key": str(tmp_path / "privkey.pem")}))
    r = run(runtime, tmp_path)
    assert_refused(r, "cannot load ssl_certificate {}: no such file".format(missing))
    assert "token" not in r.stdout


def test_a_relative_log_file_is_in_the_config_directory(runtime, tmp_path):
    gw = Gateway(runtime, tmp_path / "c", {"log_file": "ugate.log"})
    gw.start()
    try:
        assert gw.get("/api/error_log").status_code == 200
        with open(os.path.join(gw.config_dir, "ugate.log")) as f:
            assert "listening on" in f.read()
    finally:
        gw.stop()


def test_token_list_does_not_make_a_typo_directory(tmp_path):
    typo = tmp_path / "ugatee"
    r = run_ugate("token", "list", "--config-dir", typo)
    assert r.returncode == 2 and r.stderr == "error: no config directory {}\n".format(typo)
    assert not typo.exists()


def test_version():
    r = run_ugate("--version")
    assert (r.returncode, r.stdout) == (0, "ugate {}\n".format(VERSION))


def test_ptyboard_help_and_sigterm(tmp_path):
    tool = os.path.join(ROOT, "tools", "ptyboard.py")
    r = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: ptyboard.py [-h] DIR")
    assert os.listdir(tmp_path) == []  # no board in a folder named --help
    board = subprocess.Popen([sys.executable, tool, str(tmp_path / "flash")], stdout=subprocess.PIPE, text=True)
    assert board.stdout.readline().startswith("/dev/pts/")
    children = subprocess.run(["pgrep", "-P", str(board.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1
    board.send_signal(signal.SIGTERM)
    assert board.wait(10) == 0
    deadline = time.time() + 5
    while os.path.exists("/proc/" + children[0]) and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists("/proc/" + children[0])  # the MicroPython board ended with it
