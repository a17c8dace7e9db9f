"""Files that the gateway and the `ugate` commands change (auth.json, the Hono
registry) are changed one writer at a time: parallel commands lose no
update, whichever runtime the gateway reading them runs on, and the lock
(`ugate.base.lockfile.update_json`) serialises writers on both runtimes."""
import json
import subprocess
import sys

from conftest import MICROPYTHON, UGATE, run_ugate
from ugate.hub.tokens import TokenStore
from ugate_host.cli import micropython_path

WORKERS = 4
EACH = 6


def parallel(commands, stdin=None):
    """Run shell command lines at once; their outputs, after all ended."""
    procs = [subprocess.Popen(["sh", "-c", c], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True)
             for c in commands]
    outs = [p.communicate(stdin, timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    return [out for out, _ in outs]


def test_parallel_token_creates_are_all_stored_and_work(gateway):
    loops = ["for i in $(seq {n}); do {u} token create --name w{w}-$i --config-dir {d}; done".format(
        n=EACH, u=UGATE, w=w, d=gateway.config_dir) for w in range(WORKERS)]
    tokens = "".join(parallel(loops)).split()
    assert len(tokens) == WORKERS * EACH
    names = [t["name"] for t in TokenStore(gateway.config_dir).list()]
    assert sorted(n for n in names if n.startswith("w")) == sorted(
        "w{}-{}".format(w, i) for w in range(WORKERS) for i in range(1, EACH + 1))
    for token in tokens:
        assert gateway.get("/api/", token=token).status_code == 200


def test_parallel_hono_credentials_are_all_stored(tmp_path):
    d = tmp_path / "c"
    assert run_ugate("hono", "tenant", "ACME", "--config-dir", d).returncode == 0
    assert run_ugate("hono", "device", "ACME", "pump", "--config-dir", d).returncode == 0
    loops = ["for i in $(seq {n}); do echo pw | {u} hono credential ACME pump a{w}-$i "
             "--config-dir {d}; done".format(n=EACH, u=UGATE, w=w, d=d) for w in range(WORKERS)]
    parallel(loops)
    with open(d / "hono_registry.json") as f:
        ids = [c["auth-id"] for c in json.load(f)["credentials"]["ACME"]]
    assert sorted(ids) == sorted("a{}-{}".format(w, i) for w in range(WORKERS) for i in range(1, EACH + 1))


COUNTER = """
import sys
from ugate.base import lockfile
def add(data):
    data["n"] = data.get("n", 0) + 1
for _ in range({n}):
    lockfile.update_json(sys.argv[-1], add)
"""


def test_lock_serialises_writers_on_both_runtimes(tmp_path):
    """Two MicroPython and two CPython processes add 1 to one counter 40
    times each: every increment counts."""
    path = str(tmp_path / "counter.json")
    code = COUNTER.format(n=40)
    env = {"MICROPYPATH": micropython_path()}
    procs = [subprocess.Popen([exe, "-c", code, path], env=env, stderr=subprocess.PIPE, text=True)
             for exe in (MICROPYTHON, sys.executable, MICROPYTHON, sys.executable)]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read()
    with open(path) as f:
        assert json.load(f) == {"n": 160}
