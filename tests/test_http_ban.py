"""Failed logins and IP bans (ha-api.md 2.3) on both runtimes.

Attackers get their own addresses through X-Forwarded-For from the trusted
loopback proxy, so the owner (127.0.0.1, no header) can still read the
notifications and the ban file while addresses get banned."""
import json
import os
import re

from ws_client import open_socket, recv, send

BANNED_AT = re.compile(r"^'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00'$")


def config(threshold=3, **extra):
    conf = {"use_x_forwarded_for": True, "trusted_proxies": ["127.0.0.1"],
            "ip_ban_enabled": True, "login_attempts_threshold": threshold}
    conf.update(extra)
    return conf


def get(gw, address, token=False, path="/api/"):
    return gw.get(path, token=token, headers={"X-Forwarded-For": address}).status_code


def notification(gw, object_id):
    r = gw.get("/api/states/persistent_notification." + object_id)
    assert r.status_code == 200, r.text
    return r.json()["attributes"]


def ban_file(gw):
    with open(os.path.join(gw.config_dir, "ip_bans.yaml")) as f:
        return f.read()


def write_ban_file(config_dir, text):
    os.makedirs(config_dir, exist_ok=True)
    with open(os.path.join(config_dir, "ip_bans.yaml"), "wb" if isinstance(text, bytes) else "w") as f:
        f.write(text)


def entries(text):
    """[(address, banned_at value)] of a file in Home Assistant's format:
    per entry a blank line, `address:` and `  banned_at: '<time>'`."""
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) % 3 == 1, repr(text)
    out = []
    for i in range(0, len(lines) - 1, 3):
        blank, key, field = lines[i:i + 3]
        assert blank == "" and key.endswith(":") and field.startswith("  banned_at: "), repr(text)
        out.append((key[:-1], field[len("  banned_at: "):]))
    return out


def test_every_401_warns_and_raises_the_login_notification(start_gateway):
    gw = start_gateway(config(threshold=-1))
    assert get(gw, "5.6.7.8", path="/api/states", token="wrong") == 401
    assert notification(gw, "http_login") == {
        "title": "Login attempt failed", "notification_id": "http-login",
        "message": "Login attempt or request with invalid authentication from 5.6.7.8 "
                   "(5.6.7.8). See the log for details."}
    assert ("Login attempt or request with invalid authentication from 5.6.7.8 (5.6.7.8). "
            "Requested URL: '/api/states'.") in gw.logs()
    assert "wrong" not in gw.logs()


def test_the_nth_failure_bans_and_the_ban_survives_a_restart(start_gateway):
    gw = start_gateway(config(threshold=3))
    assert [get(gw, "5.5.5.5") for _ in range(3)] == [401, 401, 401]
    # Banned: 403 before any handler, with a valid token, on any path.
    for path in ("/api/", "/api/states", "/local/x.txt", "/no/such/path"):
        assert get(gw, "5.5.5.5", token=True, path=path) == 403
    r = gw.get("/api/", headers={"X-Forwarded-For": "5.5.5.5"})
    assert r.text == "403: Forbidden" and r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert notification(gw, "ip_ban") == {
        "title": "Banning IP address", "notification_id": "ip-ban",
        "message": "Too many login attempts from 5.5.5.5"}
    assert "Banned IP 5.5.5.5 for too many login attempts" in gw.logs()
    # Other clients and the owner are not affected.
    assert get(gw, "6.6.6.6", token=True) == 200
    assert gw.get("/api/").status_code == 200

    [(address, banned_at)] = entries(ban_file(gw))
    assert address == "5.5.5.5" and BANNED_AT.match(banned_at)
    gw.restart()
    assert get(gw, "5.5.5.5", token=True) == 403
    assert get(gw, "6.6.6.6", token=True) == 200
    # Another address banned after the restart is appended, the first kept.
    assert [get(gw, "7.7.7.7") for _ in range(3)] == [401, 401, 401]
    assert get(gw, "7.7.7.7", token=True) == 403
    assert [a for a, _ in entries(ban_file(gw))] == ["5.5.5.5", "7.7.7.7"]


def test_threshold_one_bans_on_the_first_failure(start_gateway):
    gw = start_gateway(config(threshold=1))
    assert get(gw, "5.5.5.5") == 401
    assert get(gw, "5.5.5.5", token=True) == 403


def test_ipv6_clients_are_banned_and_written_quoted(start_gateway):
    gw = start_gateway(config(threshold=1))
    assert get(gw, "2001:db8::7") == 401
    assert get(gw, "2001:db8:0:0:0:0:0:7", token=True) == 403  # the same address
    [(address, _)] = entries(ban_file(gw))
    assert address == "'2001:db8::7'"
    gw.restart()
    assert get(gw, "2001:db8::7", token=True) == 403


def test_successful_websocket_login_resets_the_count(start_gateway):
    gw = start_gateway(config(threshold=2))

    def ws_login(token):
        ws = open_socket(gw, header=["X-Forwarded-For: 5.5.5.5"])
        assert recv(ws)["type"] == "auth_required"
        send(ws, {"type": "auth", "access_token": token})
        answer = recv(ws)["type"]
        ws.close()
        return answer

    assert get(gw, "5.5.5.5") == 401
    assert ws_login(gw.token) == "auth_ok"
    assert get(gw, "5.5.5.5") == 401  # counted from zero again: no ban
    assert get(gw, "5.5.5.5", token=True) == 200
    assert get(gw, "5.5.5.5") == 401
    assert get(gw, "5.5.5.5", token=True) == 403


def test_an_address_is_never_written_twice(start_gateway):
    gw = start_gateway(config(threshold=1))
    # A connection opened before the ban fails its login after it.
    ws = open_socket(gw, header=["X-Forwarded-For: 5.5.5.5"])
    assert recv(ws)["type"] == "auth_required"
    assert get(gw, "5.5.5.5") == 401
    send(ws, {"type": "auth", "access_token": "wrong"})
    assert recv(ws)["type"] == "auth_invalid"
    ws.close()
    assert [a for a, _ in entries(ban_file(gw))] == ["5.5.5.5"]
    # Loading the file at start does not rewrite or duplicate it either.
    before = ban_file(gw)
    gw.restart()
    assert get(gw, "5.5.5.5", token=True) == 403
    assert ban_file(gw) == before


def test_trusted_networks_are_never_banned(start_gateway):
    gw = start_gateway(config(threshold=2, trusted_networks=["192.168.1.0/24"]))
    assert [get(gw, "192.168.1.20") for _ in range(5)] == [401] * 5
    assert get(gw, "192.168.1.20", token=True) == 200
    assert "192.168.1.20" in notification(gw, "http_login")["message"]
    assert not os.path.exists(os.path.join(gw.config_dir, "ip_bans.yaml"))
    # Outside the trusted network the threshold applies.
    assert [get(gw, "192.168.2.20") for _ in range(2)] == [401, 401]
    assert get(gw, "192.168.2.20", token=True) == 403


def test_no_bans_with_threshold_minus_one_or_bans_disabled(start_gateway, tmp_path):
    gw = start_gateway(config(threshold=-1))
    assert [get(gw, "5.5.5.5") for _ in range(5)] == [401] * 5
    assert get(gw, "5.5.5.5", token=True) == 200
    # With ip_ban_enabled off, failures are still reported, nothing is
    # banned and the ban file is not enforced.
    directory = tmp_path / "disabled"
    write_ban_file(str(directory), "\n9.9.9.9:\n  banned_at: '2024-01-01T12:00:00.123456+00:00'\n")
    gw = start_gateway(config(threshold=1, ip_ban_enabled=False), config_dir=directory)
    assert get(gw, "9.9.9.9", token=True) == 200
    assert [get(gw, "5.5.5.5") for _ in range(3)] == [401] * 3
    assert get(gw, "5.5.5.5", token=True) == 200
    assert "5.5.5.5" in notification(gw, "http_login")["message"]


def test_bad_entries_are_skipped_and_logged(start_gateway, tmp_path):
    directory = str(tmp_path / "bans")
    write_ban_file(directory, "\n".join([
        "# banned by hand",
        "",
        "1.1.1.1:",
        "  banned_at: '2024-01-01T12:00:00.123456+00:00'  # the scanner",
        "",
        "not-an-address:",
        "  banned_at: '2024-01-01T12:00:00.123456+00:00'",
        "",
        "2.2.2.2:",
        "  banned_at: 'yesterday'",
        "",
        "3.3.3.3:",
        "  banned_at: '2016-11-16T19:20:03'",   # the seed's example
        "",
        "4.4.4.4:",
        "  color: red",
        "",
        "5.5.5.5: banned",
        "",
        "'2001:db8::5':",
        "  banned_at: '2024-01-01T12:00:00.123456+00:00'",
        "",
        "6.6.6.6:",
        "  banned_at: 2024-01-01T12:00:00",
        "",
    ]))
    gw = start_gateway(config(threshold=-1), config_dir=directory)
    for address in ("1.1.1.1", "3.3.3.3", "2001:db8::5", "6.6.6.6"):
        assert get(gw, address, token=True) == 403, address
    for address in ("2.2.2.2", "4.4.4.4", "5.5.5.5", "8.8.8.8"):
        assert get(gw, address, token=True) == 200, address
    logs = gw.logs()
    for address in ("not-an-address", "2.2.2.2", "4.4.4.4", "5.5.5.5"):
        assert "failed to load IP ban {}".format(address) in logs
    assert gw.get("/api/").status_code == 200


def test_a_missing_or_broken_file_means_no_bans(start_gateway, tmp_path):
    for name, text in [("tabs", "\n1.1.1.1:\n\tbanned_at: '2024-01-01T12:00:00+00:00'\n"),
                       ("indent", "  banned_at: '2024-01-01T12:00:00+00:00'\n1.1.1.1:\n"),
                       ("quote", "\n1.1.1.1:\n  banned_at: '2024-01-01T12:00:00\n"),
                       ("text", "this is not yaml at all\n"),
                       ("binary", b"\n1.1.1.1:\n  banned_at: '\xff\xfe'\n")]:
        directory = str(tmp_path / name)
        write_ban_file(directory, text)
        gw = start_gateway(config(threshold=2), config_dir=directory)
        assert get(gw, "1.1.1.1", token=True) == 200, name
        assert "unable to load" in gw.logs(), name
        # The gateway still bans, appending to the file.
        assert [get(gw, "5.5.5.5") for _ in range(2)] == [401, 401]
        assert get(gw, "5.5.5.5", token=True) == 403
        gw.stop()
    gw = start_gateway(config(threshold=2))
    assert get(gw, "1.1.1.1", token=True) == 200
    assert "unable to load" not in gw.logs()


def test_a_full_state_machine_does_not_stop_bans_or_their_notifications(start_gateway, tmp_path):
    """With every entity slot taken (here by restored states) failures still
    answer 401, count and ban, and the notifications are raised: they have
    their own bound (StateMachine.max_notifications)."""
    config_dir = tmp_path / "full"
    os.makedirs(config_dir)
    states = [["sensor.s{}".format(i), "1", {}, 1, 1, 1, ["01HZZZZZZZZZZZZZZZZZZZZZZZ", None, None]]
              for i in range(5)]  # limits.max_entities below
    with open(config_dir / "restore_state.json", "w") as f:
        json.dump({"version": 1, "states": states}, f)
    gw = start_gateway(config(threshold=2, restore_state=True, limits={"max_entities": 5}),
                       config_dir=config_dir)
    assert gw.get("/api/states/sensor.s4").status_code == 200
    assert [get(gw, "5.6.7.8") for _ in range(3)] == [401, 401, 403]
    assert gw.get("/api/states/persistent_notification.http_login").status_code == 200
    assert gw.get("/api/states/persistent_notification.ip_ban").status_code == 200
    assert entries(ban_file(gw))[0][0] == "5.6.7.8"


def test_bans_are_bounded(start_gateway):
    """Past limits.max_bans no new address is banned (many attacking
    addresses must not fill a board's heap or flash); the bans made hold."""
    gw = start_gateway(config(threshold=1, limits={"max_bans": 2}))
    for address in ("1.0.0.1", "1.0.0.2", "1.0.0.3"):
        assert get(gw, address) == 401
    assert [get(gw, a, token=True) for a in ("1.0.0.1", "1.0.0.2", "1.0.0.3")] == [403, 403, 200]
    assert [e[0] for e in entries(ban_file(gw))] == ["1.0.0.1", "1.0.0.2"]
    assert "not banning 1.0.0.3" in gw.logs()
