"""`GET /api/error_log`: the configured log file as text, behind a token;
404 without a log file."""
from conftest import run_interpreter


def test_error_log_serves_the_log_file(start_gateway, tmp_path):
    log_file = str(tmp_path / "ugate.log")
    gw = start_gateway({"log_file": log_file})
    gw.post("/api/services/light/turn_on", json={})  # logged: unknown service
    r = gw.get("/api/error_log")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "listening on" in r.text
    assert "unknown service light.turn_on" in r.text
    with open(log_file) as f:
        assert r.text == f.read()
    assert gw.token not in r.text
    r = gw.get("/api/error_log", token=False)
    assert (r.status_code, r.text) == (401, "401: Unauthorized")


def test_no_error_log_without_a_log_file(gateway):
    r = gateway.get("/api/error_log")
    assert (r.status_code, r.text) == (404, "404: Not Found")


def test_log_file_is_cut_to_its_newest_lines(start_gateway, tmp_path):
    """Past 256 KiB (64 KiB on a board, MicroPythonPlatform.class_limits) the
    log keeps its newest half, cut at a line start (even where a multi-byte
    character straddles the cut), and is still served."""
    log_file = tmp_path / "ugate.log"
    with open(log_file, "w", encoding="utf-8") as f:
        for i in range(6000):  # ~330 KB
            f.write("2026-01-01T00:00:00.000 INFO ugate.old: é line {:06d}\n".format(i))
    gw = start_gateway({"log_file": str(log_file)})
    r = gw.get("/api/error_log")
    assert r.status_code == 200
    data = log_file.read_bytes()
    limit = {"cpython": 256, "micropython": 64}[gw.runtime] * 1024
    assert limit // 3 < len(data) <= limit
    text = data.decode("utf-8")
    assert text.startswith("2026-01-01T00:00:00.000 INFO ugate.old: é line ")
    assert "line 005999\n" in text and "line 000000\n" not in text
    assert "listening on" in text
    assert r.text == text
    assert gw.request("HEAD", "/api/error_log").status_code == 200


def test_log_cut_fits_a_small_heap(tmp_path):
    """The cut copies a chunk at a time: MicroPython with a 64 KiB heap cuts
    a 330 KB log (reading it whole would raise MemoryError in the caller)."""
    log_file = tmp_path / "ugate.log"
    with open(log_file, "w") as f:
        for i in range(6000):
            f.write("2026-01-01T00:00:00.000 INFO ugate.old: line {:06d}\n".format(i))
    code = ("from ugate.base import log\nlog.configure('info', {!r})\n"
            "log.get('t').info('after the cut')\nprint('ok')").format(str(log_file))
    r = run_interpreter("micropython", ["-c", code], heapsize="64K")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    text = log_file.read_text()
    assert len(text) <= 256 * 1024 and text.endswith("t: after the cut\n")


def test_control_characters_from_a_request_cannot_forge_log_lines(start_gateway, tmp_path):
    """A failed login logs the path and the User-Agent: an escape sequence or
    a CR there is written as \\xNN in the terminal's log, the log file and
    /api/error_log, never as itself."""
    log_file = tmp_path / "ugate.log"
    gw = start_gateway({"log_file": str(log_file)})
    head = (b"GET /api/states/x\x1b[2J HTTP/1.0\r\n"
            b"User-Agent: curl\r2026-01-01T00:00:00.000 INFO ugate.app: forged\x1b]0;title\x07\xc2\x9b\r\n"
            b"Authorization: Bearer wrong\r\n\r\n")
    assert gw.raw(head).startswith(b"HTTP/1.0 401 ")
    for text in (gw.logs(), log_file.read_text(encoding="utf-8"), gw.get("/api/error_log").text):
        line = [x for x in text.split("\n") if "Requested URL" in x][0]
        assert "'/api/states/x\\x1b[2J'" in line
        assert "curl\\x0d2026-01-01T00:00:00.000 INFO ugate.app: forged\\x1b]0;title\\x07\\x9b" in line
        assert not any(c in text for c in "\x1b\r\x07\x9b")
