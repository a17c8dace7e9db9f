"""`ugate token create|list|revoke` against a running gateway on both
runtimes: a token works as soon as it is created and stops working as soon
as it is revoked; the list never shows a token."""
import subprocess

from conftest import UGATE


def token_cmd(gw, *args):
    return subprocess.run([UGATE, "token", *args, "--config-dir", gw.config_dir],
                          capture_output=True, text=True, timeout=30)


def test_create_list_revoke_while_running(gateway):
    r = token_cmd(gateway, "create", "--name", "laptop")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert len(token) == 64 and r.stdout == token + "\n"
    assert gateway.get("/api/", token=token).status_code == 200

    listed = token_cmd(gateway, "list")
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert "laptop" in names and gateway.token not in listed.stdout and token not in listed.stdout

    r = token_cmd(gateway, "create", "--name", "laptop")
    assert r.returncode == 2 and "a token named 'laptop' exists already" in r.stderr

    assert token_cmd(gateway, "revoke", "laptop").returncode == 0
    assert gateway.get("/api/", token=token).status_code == 401
    assert gateway.get("/api/").status_code == 200  # the others still work
    r = token_cmd(gateway, "revoke", "laptop")
    assert r.returncode == 2 and "no token named 'laptop'" in r.stderr
