"""Fuzzing with hypothesis, a bounded number of examples from a fixed seed
(derandomized: the same inputs every run), so `make test` stays quick and
repeatable: the serial parsers on both runtimes side by side, and a running
gateway on each runtime fed request heads and JSON bodies. Properties: no
crash, no 500, both runtimes agree on every line, and whatever was accepted
leaves GET /api/states answering strict UTF-8 JSON."""
import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import RUNTIMES
from test_sensors_common import run_steps

FUZZ = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# -- serial parsers ------------------------------------------------------------

SAMPLES = {
    "mysensors": ["1;0;1;0;0;21.5", "255;255;3;0;3;", "1;255;3;0;11;Weather", "1;1;0;0;3;Relay",
                  "1;1;2;0;2;", "1;255;3;0;0;79"],
    "rflink": ["20;2D;UPM/Esic;ID=0001;TEMP=00cf;HUM=16;BAT=OK;", "20;3A;NewKaku;ID=00c142;SWITCH=1;CMD=ON;"],
    "rtl_433": ['{"model":"Nexus-TH","id":42,"channel":2,"battery_ok":1,"temperature_C":20.5}'],
    "jsonl": ['{"id": "kitchen", "temperature": 21.5, "motion": true, "mode": "eco"}'],
}
# Characters the protocols give meaning to, and some they must refuse.
ALPHABET = st.sampled_from(list(';=,:{}[]"0123456789abcdefABCDEF-+.eE xnultr\\/') +
                           ["\x00", "\x1b", "\x7f", "\ufffd", "\u00e9", "\U0001F600", "\\ud800"])


@st.composite
def noisy_line(draw, protocol):
    """A sample line with a few edits, or text of the protocol's alphabet."""
    if draw(st.booleans()):
        return "".join(draw(st.lists(ALPHABET, max_size=60)))
    line = list(draw(st.sampled_from(SAMPLES[protocol])))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(line)))
        op = draw(st.integers(0, 2))
        if op == 0 and pos < len(line):
            del line[pos]
        elif op == 1:
            line.insert(pos, draw(ALPHABET))
        elif pos < len(line):
            line[pos] = draw(ALPHABET)
    return "".join(line)


def parsed(results):
    """Results with error texts left out: number parsing words its errors
    differently on the two runtimes; the fact of an error is compared."""
    return [r if "readings" in r else "error" for r in results]


@pytest.mark.parametrize("protocol", sorted(SAMPLES))
def test_parsers_agree_on_noise(protocol, tmp_path_factory):
    @FUZZ
    @given(st.lists(noisy_line(protocol), min_size=20, max_size=20))
    def check(lines):
        steps = [{"line": line} for line in lines]
        results = []
        for runtime in RUNTIMES:
            state_dir = str(tmp_path_factory.mktemp(runtime))
            results.append(parsed(run_steps(runtime, protocol, steps, state_dir=state_dir)))
        assert results[0] == results[1], lines
        for result in results[0]:
            if result != "error":
                for reading in result["readings"]:
                    json.dumps(reading).encode("utf-8")  # strict: fails on surrogates

    check()


# -- a running gateway ---------------------------------------------------------

def answer_status(gw, data):
    """The status code of the gateway's answer to raw bytes; None when it
    closed without one."""
    reply = gw.raw(data, timeout=2)  # an incomplete request gets no answer: it waits
    if not reply:
        return None
    status_line = reply.split(b"\r\n", 1)[0].split(b" ")
    assert status_line[0] in (b"HTTP/1.0", b"HTTP/1.1"), reply[:200]
    return int(status_line[1])


def still_whole(gw):
    r = gw.get("/api/states")
    assert r.status_code == 200
    return json.loads(r.content.decode("utf-8"))


TOKEN_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters=":")
HEAD_BYTES = st.binary(max_size=40) | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))


@st.composite
def request_head(draw):
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"G\x00T"]))
    path = draw(st.sampled_from([b"/api/", b"/api/states", b"/api/states/sensor.x", b"/telemetry",
                                 b"/api/websocket", b"/local/x", b"/%ff%c0", b"/../.."])) + draw(HEAD_BYTES)
    version = draw(st.sampled_from([b"HTTP/1.0", b"HTTP/1.1", b"HTTP/9", b""]))
    head = method + b" " + path + b" " + version + b"\r\n"
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from([b"Host", b"Content-Length", b"Authorization", b"Transfer-Encoding",
                                     b"Upgrade", b"X-Forwarded-For", b"Origin", b"QoS-Level"])
                    | st.text(TOKEN_CHARS, min_size=1, max_size=10).map(str.encode))
        head += name + b": " + draw(HEAD_BYTES).replace(b"\n", b"") + b"\r\n"
    return head + b"\r\n"


def test_request_heads(gateway):
    @FUZZ
    @given(request_head())
    def check(head):
        status = answer_status(gateway, head)
        assert status != 500 and (status is None or 200 <= status < 600), head

    check()
    still_whole(gateway)
    assert "Traceback" not in gateway.logs()


def json_values():
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


BODIES = (json_values().map(lambda v: json.dumps(v).encode())
          | json_values().map(lambda v: json.dumps(v, ensure_ascii=False).encode())
          | st.builds(lambda v, depth: ("[" * depth + json.dumps(v) + "]" * depth).encode(),
                      json_values(), st.integers(0, 60))
          | st.binary(max_size=60))


@st.composite
def state_body(draw):
    if draw(st.booleans()):
        return draw(BODIES)
    return json.dumps({"state": draw(json_values()), "attributes": draw(json_values())}).encode()


def test_json_bodies(gateway):
    @FUZZ
    @given(state_body(), BODIES)
    def check(state, other):
        r = gateway.post("/api/states/sensor.fuzz", content=state)
        assert r.status_code in (200, 201, 400), (state, r.status_code, r.text)
        r = gateway.post("/api/events/fuzz_event", content=other)
        assert r.status_code in (200, 400), (other, r.status_code, r.text)
        r = gateway.post("/api/services/persistent_notification/create", content=other)
        assert r.status_code in (200, 400), (other, r.status_code, r.text)

    check()
    still_whole(gateway)
    assert "Traceback" not in gateway.logs() and " failed: " not in gateway.logs()


def test_raw_sockets_still_answer(gateway):
    """After the fuzzing above, a plain socket still gets an answer."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5):
        pass
    assert gateway.get("/api/").status_code == 200
