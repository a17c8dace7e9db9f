"""The `limits` section on both runtimes, over raw sockets: bodies over the
limit get 413, over-long lines 400, connections beyond the cap 503 (and the
gateway serves again after), silent clients are closed after
`idle_timeout`; every answer carries the security headers."""
import socket
import time

import pytest

from sse_client import EventStream

SECURITY = (b"Referrer-Policy: no-referrer", b"X-Content-Type-Options: nosniff",
            b"X-Frame-Options: SAMEORIGIN")


def limits(**values):
    return {"limits": values}


def status(answer):
    assert answer.startswith(b"HTTP/1."), answer
    return int(answer.split(b" ", 2)[1])


def assert_secure(answer):
    for header in SECURITY:
        assert header in answer, answer


def post_head(gw, length, extra=""):
    return ("POST /api/states/sensor.big HTTP/1.0\r\nAuthorization: Bearer {}\r\n"
            "Content-Type: application/json\r\nContent-Length: {}\r\n{}\r\n").format(
                gw.token, length, extra).encode()


def body(n):
    """A JSON state of exactly n bytes."""
    head = b'{"state": "1", "attributes": {"fill": "'
    return head + b"x" * (n - len(head) - 3) + b'"}}'


def wait_until_served(gw, timeout=15):
    deadline = time.time() + timeout
    while True:
        try:
            if gw.get("/api/").status_code == 200:
                return
        except Exception:
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            raise AssertionError("the gateway does not serve again")
        time.sleep(0.2)


def test_body_over_the_limit_is_413(start_gateway):
    gw = start_gateway(limits(max_body_bytes=1024))
    # The head alone, the body announced but not sent.
    answer = gw.raw(post_head(gw, 5000))
    assert status(answer) == 413
    assert_secure(answer)
    # Head and body sent at once: the answer still arrives (no reset).
    answer = gw.raw(post_head(gw, 5000) + body(5000))
    assert status(answer) == 413
    # An ordinary client sending a large body sees the 413 too.
    r = gw.post("/api/states/sensor.big", content=body(4000),
                headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    # Without a token as well: the limit comes before anything else.
    assert gw.post("/api/states/sensor.big", token=False, content=body(2000)).status_code == 413
    # Up to the limit is accepted.
    assert status(gw.raw(post_head(gw, 1024) + body(1024))) == 201
    assert len(gw.get("/api/states/sensor.big").json()["attributes"]["fill"]) == 1024 - 42


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_a_bad_content_length_is_400(start_gateway, length):
    gw = start_gateway(limits(max_body_bytes=1024))
    answer = gw.raw(post_head(gw, length) + b'{"state": "1"}')
    assert status(answer) == 400
    assert_secure(answer)
    assert gw.get("/api/").status_code == 200


def test_over_long_request_or_header_lines_are_400(start_gateway):
    gw = start_gateway(limits(max_header_line=256))
    answer = gw.raw(b"GET /api/states/" + b"a" * 400 + b" HTTP/1.0\r\n\r\n")
    assert status(answer) == 400
    assert_secure(answer)
    answer = gw.raw(b"GET /api/ HTTP/1.0\r\nX-Long: " + b"b" * 5000 + b"\r\n\r\n")
    assert status(answer) == 400
    # A huge line is refused without the gateway holding it in memory.
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        try:
            s.sendall(b"GET /api/ HTTP/1.0\r\nX-Huge: " + b"h" * (4 * 1024 * 1024))
            s.recv(1024)
        except OSError:
            pass  # the gateway may close before all of it is sent
    # Lines just under the limit are fine.
    answer = gw.raw("GET /api/ HTTP/1.0\r\nAuthorization: Bearer {}\r\nX-Fill: {}\r\n\r\n".format(
        gw.token, "c" * 200).encode())
    assert status(answer) == 200
    assert gw.get("/api/").status_code == 200


def test_malformed_request_lines_are_400(gateway):
    for junk in (b"GARBAGE\r\n\r\n", b"GET /api/\r\n\r\n", b"GET /api/ HTTP/1.0\r\nNoColon\r\n\r\n",
                 b"\xff\xfe\xfd /x HTTP/1.0\r\n\r\n"):
        answer = gateway.raw(junk)
        assert status(answer) == 400, junk
        assert_secure(answer)
    assert gateway.get("/api/").status_code == 200


def closed(s, timeout=5):
    """Whether the gateway closed the socket `s` (within `timeout` s)."""
    s.settimeout(timeout)
    try:
        return s.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def get_api(gw):
    return "GET /api/ HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n".format(gw.token).encode()


def test_idle_connections_give_way_to_a_newcomer(start_gateway):
    gw = start_gateway(limits(max_connections=2, idle_timeout=60))
    time.sleep(0.5)  # the fixture's readiness probe has been closed and let go
    idle = []
    try:
        for _ in range(2):
            idle.append(socket.create_connection(("127.0.0.1", gw.port), timeout=10))
            time.sleep(0.3)  # accepted one after the other: the first is idle longest
        answer = gw.raw(get_api(gw))
        assert status(answer) == 200
        assert closed(idle[0]), "the connection idle longest was not closed"
        assert not closed(idle[1], 0.3), "a second idle connection was closed too"
    finally:
        for s in idle:
            s.close()


def test_forty_idle_connections_do_not_keep_a_client_from_an_answer(start_gateway):
    # A board's slots (8): an attacker holds them and keeps reconnecting.
    gw = start_gateway(limits(max_connections=8, idle_timeout=20))
    idle = []
    try:
        for _ in range(40):
            idle.append(socket.create_connection(("127.0.0.1", gw.port), timeout=10))
        start = time.time()
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            s.sendall(get_api(gw))
            answer = s.recv(65536)
        assert status(answer) == 200
        assert time.time() - start < 2
    finally:
        for s in idle:
            s.close()
    wait_until_served(gw)


def test_when_every_connection_is_busy_a_newcomer_gets_503_and_service_resumes(start_gateway):
    gw = start_gateway(limits(max_connections=2, idle_timeout=60))
    time.sleep(0.5)
    # Event streams are busy for as long as they last: they are never closed for a newcomer.
    streams = [EventStream(gw) for _ in range(2)]
    try:
        for stream in streams:
            assert stream.frame() == "ping"
        for _ in range(3):
            answer = gw.raw(get_api(gw))
            assert status(answer) == 503
            assert b"Retry-After: 1" in answer
            assert_secure(answer)
    finally:
        for stream in streams:
            stream.close()
    wait_until_served(gw)
    assert gw.get("/api/").status_code == 200


def test_a_silent_client_is_closed_after_idle_timeout(start_gateway):
    gw = start_gateway(limits(idle_timeout=1, max_connections=2))
    for sent in (b"", b"GET /api/ HTTP/1.0\r\nHost: x\r\n"):  # nothing, or half a head
        with socket.create_connection(("127.0.0.1", gw.port), timeout=15) as s:
            s.sendall(sent)
            start = time.time()
            try:
                closed = s.recv(1024) == b""
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                closed = False
            assert closed, "the gateway kept a silent client"
            assert time.time() - start < 14
    # The closed clients no longer count against max_connections.
    assert gw.get("/api/").status_code == 200
    assert gw.get("/api/").status_code == 200


def test_error_answers_carry_the_security_headers(gateway):
    for method, path, token, code in (("GET", "/nothing/here", True, 404),
                                      ("GET", "/api/", False, 401),
                                      ("PUT", "/api/", True, 405)):
        r = gateway.request(method, path, token=token)
        assert r.status_code == code
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_too_many_header_lines_or_too_large_a_head_is_431(gateway):
    many = b"GET /api/ HTTP/1.0\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"\r\n"
    answer = gateway.raw(many)
    assert status(answer) == 431
    assert_secure(answer)
    # Lines each under max_header_line, the head far over any bound: refused
    # before it is all read.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as s:
        s.sendall(b"GET /api/ HTTP/1.0\r\n")
        answer = b""
        try:
            for _ in range(4000):
                s.sendall(b"X-Fill: " + b"f" * 1000 + b"\r\n")
        except OSError:
            pass  # closed after answering
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    assert status(answer) == 431
    assert gateway.get("/api/").status_code == 200


def test_a_large_body_is_not_read_before_the_route_and_credentials_are_checked(start_gateway):
    gw = start_gateway(limits(max_body_bytes=1024 * 1024, idle_timeout=30))
    head = ("POST /api/states/sensor.big HTTP/1.0\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000000\r\n{}\r\n")
    # The body is announced, not sent: the answers come without waiting for it.
    for auth, path, code in (("", "/api/states/sensor.big", 401),
                             ("Authorization: Bearer nope\r\n", "/api/states/sensor.big", 401),
                             ("Authorization: Bearer {}\r\n".format(gw.token), "/no/such/route", 404),
                             ("Authorization: Bearer {}\r\n".format(gw.token), "/api/", 405)):
        start = time.time()
        answer = gw.raw(head.format(auth).replace("/api/states/sensor.big", path).encode(), timeout=10)
        assert status(answer) == code, answer
        assert_secure(answer)
        assert time.time() - start < 5
    # A small body is read first, as before; with a token a large one is read too.
    assert status(gw.raw(post_head(gw, 100).replace(b"Authorization", b"X-No") + body(100))) == 401
    assert status(gw.raw(post_head(gw, 200000) + body(200000), timeout=20)) == 201
    assert len(gw.get("/api/states/sensor.big").json()["attributes"]["fill"]) == 200000 - 42
