"""HTTP/1.1 persistent connections on both runtimes: a client that allows it
keeps its connection for the next request (as Home Assistant's clients
expect), every answer says where it ends (Content-Length, or chunked), an
HTTP/1.0 client is answered and closed as before, and the keep-alive limits
(idle time between requests, requests per connection) close a connection."""
import http.client
import json
import socket

from conftest import free_port, run_core


def test_one_connection_serves_many_requests(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    auth = {"Authorization": "Bearer " + gateway.token}
    post = dict(auth, **{"Content-Type": "application/json"})
    try:
        conn.connect()
        sock = conn.sock
        for i in range(5):
            conn.request("POST", "/api/states/sensor.kept_{}".format(i),
                         json.dumps({"state": str(i)}), post)
            r = conn.getresponse()
            assert r.status == 201 and json.loads(r.read())["state"] == str(i)
            assert r.getheader("Connection") is None
        conn.request("GET", "/api/states", headers=auth)
        r = conn.getresponse()
        # The length of a list written a state at a time is not known in advance.
        assert r.getheader("Transfer-Encoding") == "chunked"
        assert {"sensor.kept_{}".format(i) for i in range(5)} <= {
            s["entity_id"] for s in json.loads(r.read())}
        # Refusals and errors keep the connection too.
        for method, path, headers, code in (("GET", "/api/", {}, 401),
                                            ("GET", "/no/such/path", auth, 404),
                                            ("POST", "/api/states/sensor.x", post, 400),
                                            ("HEAD", "/api/states", auth, 200),
                                            ("GET", "/api/states/sensor.kept_3", auth, 200)):
            conn.request(method, path, "{" if method == "POST" else None, headers)
            r = conn.getresponse()
            assert r.status == code, (method, path)
            r.read()
        assert conn.sock is sock, "the gateway closed a connection the client kept"
    finally:
        conn.close()


def answers(data, port):
    """Send raw bytes; return everything answered until the gateway closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_pipelined_requests_and_connection_close(gateway):
    get = "GET /api/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n{}\r\n"
    data = answers((get.format(gateway.token, "") + get.format(gateway.token, "Connection: close\r\n")
                    ).encode(), gateway.port)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert data.count(b'{"message": "API running."}') == 2
    assert data.endswith(b'{"message": "API running."}')
    assert b"Connection: close" in data.split(b"\r\n\r\n")[1]  # the second answer's head


def test_http_1_0_clients_are_closed_unless_they_ask_for_keep_alive(gateway):
    get = "GET /api/ HTTP/1.0\r\nAuthorization: Bearer {}\r\n{}\r\n"
    data = answers(get.format(gateway.token, "").encode(), gateway.port)
    assert data.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: close" in data
    data = answers((get.format(gateway.token, "Connection: keep-alive\r\n")
                    + get.format(gateway.token, "")).encode(), gateway.port)
    assert data.count(b"HTTP/1.0 200 OK\r\n") == 2
    assert b"Connection: keep-alive" in data
    # A body of unknown length cannot be chunked for HTTP/1.0: it ends with the connection.
    data = answers(("GET /api/states HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Bearer {}"
                    "\r\n\r\n").format(gateway.token).encode(), gateway.port)
    assert b"Connection: close" in data and data.rstrip().endswith(b"]")


def test_a_refused_body_closes_the_connection(start_gateway):
    gw = start_gateway({"limits": {"max_body_bytes": 1024}})
    data = answers(("POST /api/states/sensor.x HTTP/1.1\r\nAuthorization: Bearer {}\r\n"
                    "Content-Length: 5000\r\n\r\n").format(gw.token).encode() + b"x" * 5000, gw.port)
    assert data.startswith(b"HTTP/1.1 413") and b"Connection: close" in data


LIMITS = """
import asyncio
from ugate.http.server import Server

app = Server()
app.keepalive_timeout = 1
app.max_keepalive_requests = 3

@app.get("/ok")
async def ok(request):
    return "fine"

async def request(reader, writer):
    writer.write(b"GET /ok HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    await writer.drain()
    head = b""
    while b"fine" not in head:
        data = await reader.read(4096)
        if not data:
            return "closed"
        head += data
    return "close" if b"Connection: close" in head else "kept"

async def main():
    server = asyncio.create_task(app.start_server("127.0.0.1", PORT))
    await asyncio.sleep(0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    results = []
    for _ in range(4):
        results.append(await request(reader, writer))
    print("requests:", results)
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    print("first:", await request(reader, writer))
    await asyncio.sleep(2.5)  # past keepalive_timeout
    print("after a pause:", await request(reader, writer))
    print("open:", app.connections)
    app.shutdown()

asyncio.run(main())
"""


def test_keep_alive_limits_close_the_connection(runtime):
    out = run_core(runtime, LIMITS.replace("PORT", str(free_port())))
    assert "requests: ['kept', 'kept', 'close', 'closed']" in out, out
    assert "first: kept" in out, out
    assert "after a pause: closed" in out, out
    assert "open: 0" in out, out


def test_chunked_request_bodies(start_gateway):
    """A body sent chunked (clients that stream a body do) is read and
    joined; one over the body limit gets 413, a broken one 400, and the
    connection ends after each."""
    gateway = start_gateway({"limits": {"max_body_bytes": 4096}})

    def post(chunks, path="/api/states/sensor.chunked"):
        head = ("POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").format(
                    path, gateway.token).encode()
        return answers(head + chunks, gateway.port)

    body = b'{"state": "42", "attributes": {"unit_of_measurement": "W"}}'
    ok = post(b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:]))
              + b"0\r\nX-Trailer: 1\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 201 "), ok
    assert b"Connection: close" in ok
    assert gateway.get("/api/states/sensor.chunked").json()["attributes"] == {"unit_of_measurement": "W"}
    chunk = b"%x\r\n%s\r\n" % (1000, b" " * 1000)
    assert post(chunk * 5 + b"0\r\n\r\n").startswith(b"HTTP/1.1 413 ")
    assert post(chunk * 4 + b"0\r\n\r\n").startswith(b"HTTP/1.1 400 ")  # 4000 spaces: not a JSON object
    assert post(b"zz\r\n{}\r\n0\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert post(b"2\r\n{}XX0\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    # Without a token the body is not read: 401.
    assert answers(b"POST /api/states/sensor.chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"2\r\n{}\r\n0\r\n\r\n", gateway.port).startswith(b"HTTP/1.1 401 ")
