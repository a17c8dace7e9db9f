"""Static files from `<config_dir>/www/` at `/local/` (ha-api.md 2.5) on both
runtimes: no auth, 404 for anything outside the folder or missing, Home
Assistant's Cache-Control, files larger than a board's buffers."""
import os

import pytest

PAGE = b"<!doctype html><title>ugate</title>"


@pytest.fixture
def www_gateway(start_gateway, tmp_path):
    config_dir = tmp_path / "static"
    www = config_dir / "www"
    (www / "img").mkdir(parents=True)
    (www / "index.html").write_bytes(PAGE)
    (www / "img" / "logo.svg").write_bytes(b"<svg/>")
    (www / "a b+c.txt").write_bytes(b"spaces and plus")
    (www / "sound.mp3").write_bytes(os.urandom(300 * 1024 + 17))
    (www / "noext").write_bytes(b"\x00\x01")
    (config_dir / "secret.txt").write_bytes(b"outside www")
    return start_gateway({}, config_dir=config_dir)


def status(answer):
    return int(answer.split(b" ", 2)[1])


def test_files_are_served_without_auth(www_gateway):
    gw = www_gateway
    r = gw.get("/local/index.html", token=False)
    assert r.status_code == 200
    assert r.content == PAGE
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "public, max-age=2678400"
    assert r.headers["Content-Length"] == str(len(PAGE))
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r = gw.get("/local/img/logo.svg", token=False)
    assert r.content == b"<svg/>" and r.headers["Content-Type"] == "image/svg+xml"
    r = gw.get("/local/a%20b+c.txt", token=False)
    assert r.content == b"spaces and plus" and r.headers["Content-Type"].startswith("text/plain")
    r = gw.get("/local/noext", token=False)
    assert r.headers["Content-Type"] == "application/octet-stream"
    # Not a login attempt: no token needed, none counted.
    assert gw.get("/api/states/persistent_notification.http_login").status_code == 404


def test_a_large_file_is_streamed_whole(www_gateway):
    gw = www_gateway
    with open(os.path.join(gw.config_dir, "www", "sound.mp3"), "rb") as f:
        expected = f.read()
    r = gw.get("/local/sound.mp3", token=False)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "audio/mpeg"
    assert r.content == expected


def test_head_gives_headers_only(www_gateway):
    r = www_gateway.request("HEAD", "/local/index.html", token=False)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == str(len(PAGE))


@pytest.mark.parametrize("path", [
    "/local/../secret.txt",
    "/local/img/../../secret.txt",
    "/local/%2e%2e/secret.txt",
    "/local/%2E%2E%2Fsecret.txt",
    "/local/img%2f..%2f..%2fsecret.txt",
    "/local/..%5csecret.txt",
    "/local//etc/passwd",
    "/local/%2fetc%2fpasswd",
    "/local/./index.html",
    "/local/index.html%00.txt",
    "/local/%zz",
    "/local/%c3%28",
])
def test_paths_that_escape_the_folder_are_404(www_gateway, path):
    # Raw requests: an HTTP client would normalise the dots away.
    answer = www_gateway.raw("GET {} HTTP/1.0\r\n\r\n".format(path).encode())
    assert status(answer) == 404, answer
    assert b"outside www" not in answer and b"root:" not in answer
    assert b"X-Frame-Options: SAMEORIGIN" in answer


def test_missing_files_and_folders_are_404(www_gateway):
    gw = www_gateway
    for path in ("/local/nothing.html", "/local/img", "/local/img/", "/local/", "/local"):
        r = gw.get(path, token=False)
        assert r.status_code == 404, path
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_no_www_folder_is_404(gateway):
    assert gateway.get("/local/index.html", token=False).status_code == 404
