"""A new user's first start on both runtimes: a config directory that does
not exist yet (a board deployed without CONFIG) starts with the defaults and
says so; the console says plainly what to copy and how to get another
token (`make token`)."""
import os
import re
import subprocess
import sys
import time

import httpx

from conftest import MICROPYTHON, ROOT, free_port
from ugate_host.cli import micropython_path

START = "from ugate import app; from ugate_host.platform import HostPlatform; " \
        "app.run({!r}, {{'server_host': '127.0.0.1', 'server_port': {}}}, HostPlatform())"


def start(runtime, config_dir, port, out):
    """The core's own start (app.run) with nothing made beforehand: main.py
    as a board runs it, or app.run on CPython."""
    if runtime == "micropython":
        argv = [MICROPYTHON, os.path.join(ROOT, "firmware", "main.py"), "--config-dir", config_dir,
                "--host", "127.0.0.1", "--port", str(port)]
        env = dict(os.environ, MICROPYPATH=micropython_path())
    else:
        argv, env = [sys.executable, "-u", "-c", START.format(config_dir, port)], None
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)


def test_first_start_without_a_config_directory(runtime, tmp_path):
    config_dir = str(tmp_path / "ugate-data")  # as `make deploy` without CONFIG leaves a board
    port = free_port()
    with open(tmp_path / "console", "w") as out:
        proc = start(runtime, config_dir, port, out)
    try:
        deadline = time.time() + 20
        while "Lost it?" not in (tmp_path / "console").read_text():
            assert proc.poll() is None and time.time() < deadline, (tmp_path / "console").read_text()
            time.sleep(0.1)
        lines = (tmp_path / "console").read_text().splitlines()
        at = lines.index("Owner long-lived access token, shown once (only its hash is stored). Copy it now:")
        token = lines[at + 1]
        assert re.fullmatch("[0-9a-f]{64}", token)
        assert lines[at + 2] == ("Lost it? Make another: ugate token create --config-dir {} --name NAME "
                                 "(make token in a checkout)".format(config_dir))
        assert "No {}/config.json: running with the defaults.".format(config_dir) in lines
        r = httpx.get("http://127.0.0.1:{}/api/".format(port), headers={"Authorization": "Bearer " + token})
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_make_token_prints_a_new_token(tmp_path):
    r = subprocess.run(["make", "-s", "-C", ROOT, "token", "CONFIG_DIR=" + str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch("[0-9a-f]{64}\n", r.stdout)


def test_readme_commands_run_as_typed():
    """The README's commands after `make run`: the tools it names take
    --help with the environment's python, the make targets it names exist,
    and it tells the reader to activate the environment they live in."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert ". .venv/bin/activate" in readme
    assert os.path.exists(os.path.join(os.path.dirname(sys.executable), "activate"))
    tools = set(re.findall(r"python (tools/[a-z_]+\.py)", readme))
    assert "tools/ptyboard.py" in tools and "tools/deploy.py" in tools
    for tool in tools:
        r = subprocess.run([sys.executable, tool, "--help"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and r.stdout.startswith("usage: "), (tool, r.stderr)
    for target in set(re.findall(r"`make ([a-z-]+)", readme)) | {"token"}:
        r = subprocess.run(["make", "-n", "-C", ROOT, target, "PORT=/dev/null"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, (target, r.stderr)
