"""X-Forwarded-For behind a reverse proxy (ha-api.md 2.2) on both runtimes.

The gateway's idea of the client address is read back from the login-failure
notification, which names it. Requests come from 127.0.0.1 (the proxy)."""
import pytest

PROXIES = {"use_x_forwarded_for": True,
           "trusted_proxies": ["127.0.0.0/24", "1.1.1.1", "10.10.10.0/24"]}


def client_of(gw, headers):
    """The address the gateway sees for a request with these headers."""
    r = gw.get("/api/", token=False, headers=headers)
    assert r.status_code == 401, r.text
    message = gw.get("/api/states/persistent_notification.http_login").json()["attributes"]["message"]
    return message.split(" from ", 1)[1].split(" ", 1)[0]


def status(response):
    return int(response.split(b" ", 2)[1])


def raw_get(gw, *header_lines):
    head = "GET /api/ HTTP/1.0\r\n" + "".join(h + "\r\n" for h in header_lines) + "\r\n"
    return gw.raw(head.encode())


def assert_400(gw, *header_lines, log=None):
    answer = raw_get(gw, *header_lines)
    assert status(answer) == 400, answer
    assert b"X-Content-Type-Options: nosniff" in answer
    if log:
        assert log in gw.logs()


def test_without_xff_the_peer_is_the_client_and_proto_host_are_ignored(start_gateway):
    gw = start_gateway(PROXIES)
    assert client_of(gw, {}) == "127.0.0.1"
    assert client_of(gw, {"X-Forwarded-Proto": "a,,b", "X-Forwarded-Host": ""}) == "127.0.0.1"


def test_xff_without_the_option_is_400(start_gateway):
    gw = start_gateway({})
    assert_400(gw, "X-Forwarded-For: 1.2.3.4", log="use_x_forwarded_for is off")
    assert gw.get("/api/").status_code == 200  # without the header all is well


def test_xff_from_an_untrusted_peer_is_400(start_gateway):
    gw = start_gateway({"use_x_forwarded_for": True, "trusted_proxies": ["10.0.0.0/8"]})
    assert_400(gw, "X-Forwarded-For: 1.2.3.4", log="which is not in trusted_proxies")


def test_several_xff_headers_are_400(start_gateway):
    gw = start_gateway(PROXIES)
    assert_400(gw, "X-Forwarded-For: 1.2.3.4", "x-forwarded-for: 5.6.7.8",
               log="more than one X-Forwarded-For header")


@pytest.mark.parametrize("value", ["", ",", "1.2.3.4,", "1.2.3.0/24", "example.com",
                                   "1.2.3.4, not-an-ip", "1.2.3.4:8080", "256.1.1.1",
                                   "::-1", "::+f", "::1_0", "1:2:3:4:5:6:7: 8", "\u0661.2.3.4"])
def test_an_element_that_is_not_an_ip_is_400(start_gateway, value):
    gw = start_gateway(PROXIES)
    assert_400(gw, "X-Forwarded-For: " + value, log="in X-Forwarded-For")


def test_walk_right_to_left_skipping_trusted_proxies(start_gateway):
    gw = start_gateway(PROXIES)
    assert client_of(gw, {"X-Forwarded-For": "10.10.10.10, 1.1.1.1"}) == "10.10.10.10"
    assert client_of(gw, {"X-Forwarded-For": "123.123.123.123, 2.2.2.2, 1.1.1.1"}) == "2.2.2.2"
    assert client_of(gw, {"X-Forwarded-For": "8.8.8.8"}) == "8.8.8.8"
    assert client_of(gw, {"X-Forwarded-For": "2001:db8::1, 10.10.10.1"}) == "2001:db8::1"
    # All trusted: the left-most is the client.
    assert client_of(gw, {"X-Forwarded-For": "10.10.10.5, 1.1.1.1, 127.0.0.2"}) == "10.10.10.5"


def test_the_reference_example_with_one_trusted_network(start_gateway):
    gw = start_gateway({"use_x_forwarded_for": True, "trusted_proxies": ["127.0.0.0/24"]})
    assert client_of(gw, {"X-Forwarded-For": "123.123.123.123, 2.2.2.2, 1.1.1.1"}) == "1.1.1.1"


def test_forwarded_proto_rules(start_gateway):
    gw = start_gateway(PROXIES)
    xff = "X-Forwarded-For: 5.5.5.5, 1.1.1.1"
    assert client_of(gw, {"X-Forwarded-For": "5.5.5.5, 1.1.1.1", "X-Forwarded-Proto": "https"}) == "5.5.5.5"
    assert client_of(gw, {"X-Forwarded-For": "5.5.5.5, 1.1.1.1",
                          "X-Forwarded-Proto": "https, http"}) == "5.5.5.5"
    assert_400(gw, xff, "X-Forwarded-Proto: https, http, http",
               log="X-Forwarded-Proto has 3 elements, expected 1 or 2")
    assert_400(gw, xff, "X-Forwarded-Proto: https,", log="empty element in X-Forwarded-Proto")
    assert_400(gw, xff, "X-Forwarded-Proto:", log="empty element in X-Forwarded-Proto")
    assert_400(gw, xff, "X-Forwarded-Proto: https", "X-Forwarded-Proto: https",
               log="more than one X-Forwarded-Proto header")


def test_forwarded_host_rules(start_gateway):
    gw = start_gateway(PROXIES)
    xff = "X-Forwarded-For: 5.5.5.5"
    assert client_of(gw, {"X-Forwarded-For": "5.5.5.5", "X-Forwarded-Host": "ha.example.com"}) == "5.5.5.5"
    assert_400(gw, xff, "X-Forwarded-Host:", log="empty X-Forwarded-Host header")
    assert_400(gw, xff, "X-Forwarded-Host: a.example.com", "X-Forwarded-Host: b.example.com",
               log="more than one X-Forwarded-Host header")


def test_a_400_does_not_stop_the_gateway(start_gateway):
    gw = start_gateway(PROXIES)
    for _ in range(3):
        assert_400(gw, "X-Forwarded-For: nonsense")
    assert gw.get("/api/", headers={"X-Forwarded-For": "5.5.5.5"}).status_code == 200
