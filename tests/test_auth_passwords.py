"""Password hashes (PBKDF2-HMAC-SHA256) that move between runtimes: the
pure-Python PBKDF2 of the boards against RFC test vectors and the host's
hashlib, a hash made on CPython checked on MicroPython and back; and the
`ugate user` command against a running gateway on both runtimes."""
import hashlib
import json

import pytest

from auth_client import create_user, start_flow, step
from conftest import run_core, run_ugate
from ugate.base import pbkdf2

# RFC 7914 section 11 (PBKDF2-HMAC-SHA256) and longer inputs.
VECTORS = [
    (b"passwd", b"salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"),
    (b"password", b"salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
]


@pytest.mark.parametrize("password,salt,iterations", [
    (b"password", b"salt", 2), (b"x" * 100, b"long key: hashed first", 10), (b"", b"", 3),
    ("pässwörd".encode(), bytes(range(16)), 1000)])
def test_the_pure_python_pbkdf2_matches_hashlib(password, salt, iterations):
    assert pbkdf2.pure(password, salt, iterations) == \
        hashlib.pbkdf2_hmac("sha256", password, salt, iterations)


def test_rfc_vectors_on_both_runtimes(runtime):
    code = "import binascii\nfrom ugate.base import pbkdf2\n" + "".join(
        "print(binascii.hexlify(pbkdf2.derive({!r}, {!r}, {})).decode())\n".format(p, s, n)
        for p, s, n, _ in VECTORS)
    assert run_core(runtime, code).split() == [v[3] for v in VECTORS]


def test_a_board_keeps_serving_while_it_checks_a_password():
    # The pure-Python derivation hands the event loop a turn every few
    # hundred iterations: other tasks run meanwhile.
    out = run_core("micropython", """
import asyncio
from ugate.base import pbkdf2
turns = [0]
async def ticker():
    while True:
        turns[0] += 1
        await asyncio.sleep(0)
async def main():
    t = asyncio.create_task(ticker())
    await pbkdf2.derive_async(b"pw", b"salt", 20000)
    t.cancel()
    print(turns[0])
asyncio.run(main())
""")
    assert int(out) >= 20000 // pbkdf2.per_turn - 1


CHECK = """
import asyncio, json
from ugate.hub import users
encoded = json.load(open({path!r}))["users"][0]["password"]
print(asyncio.run(users.check_password({right!r}, encoded)), asyncio.run(users.check_password("wrong", encoded)))
"""


def test_a_hash_made_on_cpython_verifies_on_micropython_and_back(tmp_path):
    r = run_ugate("user", "create", "ada", "--config-dir", tmp_path, input="s3cret wörd\n")
    assert r.returncode == 0, r.stderr
    path = str(tmp_path / "users.json")
    encoded = json.load(open(path))["users"][0]["password"]
    assert encoded.startswith("pbkdf2_sha256$10000$")
    assert run_core("micropython", CHECK.format(path=path, right="s3cret wörd")).split() == ["True", "False"]

    made = run_core("micropython", "import asyncio\nfrom ugate.hub import users\n"
                    "print(asyncio.run(users.hash_password('b0ard pässword')))").strip()
    algorithm, iterations, salt, key = made.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", "10000")
    import base64
    assert base64.b64decode(key) == hashlib.pbkdf2_hmac("sha256", "b0ard pässword".encode(), salt.encode(), 10000)


def test_user_command(tmp_path):
    def user(*args, password=None):
        return run_ugate("user", *args, "--config-dir", tmp_path,
                         input=password + "\n" if password is not None else "")

    r = user("create", "Ada", "--name", "Ada Lovelace", password="pw")
    assert r.returncode == 0 and r.stdout == "created ada (the owner)\n"
    assert user("create", "bob", password="pw2").stdout == "created bob\n"
    r = user("create", "ADA", password="x")
    assert r.returncode == 2 and r.stderr == "error: a user named 'ada' exists already\n"
    r = user("create", "carol", password="")
    assert r.returncode == 2 and "empty password" in r.stderr
    r = run_ugate("user", "create", "carol", "--password", "x", "--config-dir", tmp_path)
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr  # never on the command line
    lines = [line.split("\t")[:3] for line in user("list").stdout.splitlines()]
    assert lines == [["ada", "Ada Lovelace", "owner"], ["bob", "bob", "user"]]
    assert "pw" not in user("list").stdout
    r = user("remove", "ada")
    assert r.returncode == 2 and "the owner cannot be removed" in r.stderr
    r = user("remove", "nobody")
    assert r.returncode == 2 and r.stderr == "error: no user named 'nobody'\n"
    assert user("remove", "bob").returncode == 0
    assert user("password", "ada", password="new").returncode == 0
    assert [line.split("\t")[0] for line in user("list").stdout.splitlines()] == ["ada"]


def test_users_change_while_the_gateway_runs(start_gateway):
    gw = start_gateway()
    assert gw.get("/auth/providers", token=False).status_code == 400
    create_user(gw, "ada", "old")
    assert gw.get("/auth/providers", token=False).status_code == 200
    flow_id = start_flow(gw)
    r = run_ugate("user", "password", "ada", "--config-dir", gw.config_dir, input="new\n")
    assert r.returncode == 0, r.stderr
    assert step(gw, flow_id, "ada", "old").json()["errors"] == {"base": "invalid_auth"}
    assert step(gw, flow_id, "ada", "new").json()["type"] == "create_entry"
