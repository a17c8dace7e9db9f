"""`ugate token create|list|revoke` against a running gateway on both
runtimes: a token works as soon as it is created and stops working as soon
as it is revoked; the list never shows a token."""
from conftest import run_ugate


def token_cmd(gw, *args):
    return run_ugate("token", *args, "--config-dir", gw.config_dir)


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


def test_a_broken_token_file_keeps_the_tokens_read_before(gateway):
    """A hand edit gone wrong must not lock the owner out (or get them banned)."""
    path = gateway.config_dir + "/auth.json"
    with open(path) as f:
        good = f.read()
    with open(path, "w") as f:
        f.write('{"tokens": [')  # cut short
    assert gateway.get("/api/").status_code == 200
    assert gateway.get("/api/", token="wrong").status_code == 401
    assert "auth.json is unreadable" in gateway.logs()
    r = token_cmd(gateway, "list")
    assert r.returncode == 2 and "auth.json: unreadable" in r.stderr and "Traceback" not in r.stderr
    with open(path, "w") as f:
        f.write(good)
    assert gateway.get("/api/").status_code == 200


def test_gateway_refuses_to_start_with_a_broken_token_file(tmp_path, runtime):
    (tmp_path / "auth.json").write_text("[1, 2]")
    r = run_ugate("run", "--config-dir", tmp_path, "--runtime", runtime)
    assert r.returncode == 2
    assert "auth.json: unreadable (not a token file)" in r.stderr and "Traceback" not in r.stderr
