"""Input never grows the interned names of a MicroPython heap.

MicroPython interns each character it takes out of a str one at a time
(iterating, indexing, chr()), and an interned name is never freed. Request
bodies, serial lines, usernames or headers written in many scripts would
so fill a board's heap a little more with every new character, for good.
Each entry point below reads text made of 300 characters nothing interned
before; the count of interned names must not move."""
import re

import pytest

from conftest import free_port, run_core, run_interpreter

#: Text nothing interned before, made without interning it (SIZE
#: characters a call), for the scripts below.
NEW_TEXT = r"""
_base = [0x4e00]


def fresh(n=None):
    # CJK characters built as UTF-8 bytes and decoded: making them interns nothing.
    n = n or SIZE
    out = bytearray()
    for cp in range(_base[0], _base[0] + n):
        out += bytes((0xE0 | cp >> 12, 0x80 | cp >> 6 & 63, 0x80 | cp & 63))
    _base[0] += n
    return out.decode()


def new_name():
    _base[0] += 1
    return "n{}".format(_base[0])


def escaped(n=50):
    # Characters beyond U+FFFF as JSON escapes them: surrogate pairs.
    out = []
    for cp in range(0x10000 + _base[0], 0x10000 + _base[0] + n):
        cp -= 0x10000
        out.append("\\u{:04x}\\u{:04x}".format(0xD800 | cp >> 10, 0xDC00 | cp & 0x3FF))
    _base[0] += n
    return "".join(out)
"""

SCRIPT = r"""
import micropython
from ugate.base import compat, jsoninput, log, ipnet, dates
from ugate.http import url
from ugate.hub import users
from ugate.hub.states import StateMachine, slugify, valid_entity_id
from ugate.hub.bus import Bus
from ugate.sources import sensors
from ugate.sources.sensors import strictjson
from ugate.sources.hono.adapter import b64_text
from ugate.faces.homeassistant.template import Template
SIZE = 300
""" + NEW_TEXT + r"""

def entry(name, call):
    # Twice, each time with new characters: the first call may intern what
    # the entry point interns whatever its input (its own names, once).
    for _ in range(2):
        try:
            call()
        except Exception:  # a refusal is fine: what it interned is the question
            pass
        print("--", name)
        micropython.qstr_info()


deep = '[' * 25 + ']' * 25
states = StateMachine(Bus())
parsers = {p: sensors.create(p, {}, None) for p in ("jsonl", "mysensors", "rflink", "rtl_433")}
entry("jsoninput.loads (nesting checked)", lambda: jsoninput.loads('{"a": "' + fresh() + '", "b": ' + deep + '}'))
entry("jsoninput.loads (escaped surrogate pairs)", lambda: jsoninput.loads('"' + escaped() + '"'))
entry("jsoninput.loads (bytes)", lambda: jsoninput.loads(('{"' + fresh() + '": 1}').encode()))
entry("strictjson.loads_object", lambda: strictjson.loads_object('{"a": "' + fresh() + '"}'))
entry("jsonl line", lambda: parsers["jsonl"].feed('{"id": "' + fresh() + '", "name": "' + fresh() + '", "t": 1}'))
entry("mysensors presentation", lambda: parsers["mysensors"].feed("1;0;0;0;6;" + fresh()))
entry("mysensors sketch name", lambda: parsers["mysensors"].feed("1;255;3;0;11;" + fresh()))
entry("mysensors garbage", lambda: parsers["mysensors"].feed(fresh()))
entry("rflink frame", lambda: parsers["rflink"].feed("20;01;" + fresh() + ";ID=" + fresh() + ";TEMP=00c8;"))
entry("rtl_433 line", lambda: parsers["rtl_433"].feed('{"model": "' + fresh() + '", "id": 1, "temperature_C": 2}'))
entry("slugify", lambda: slugify(fresh() + "Küche"))
entry("valid_entity_id", lambda: valid_entity_id("sensor." + fresh()))
entry("state set", lambda: states.set("sensor.x", fresh(), {"friendly_name": fresh()}))
entry("state JSON", lambda: states.json(states.get("sensor.x")))
entry("log.printable", lambda: log.printable(fresh() + "\x01\u0085"))
entry("url.quote", lambda: url.quote(fresh()))
entry("url.unquote", lambda: url.unquote(url.quote(fresh())))
entry("users.normalize", lambda: users.normalize(fresh() + "ABC"))
entry("users name check", lambda: users._printable(fresh() + "\x01", "name", 1000))
entry("ipnet.parse_address", lambda: ipnet.parse_address(fresh()))
entry("ipnet.parse_address (IPv6 groups)", lambda: ipnet.parse_address("::" + fresh(4)))
entry("dates.parse", lambda: dates.parse(fresh()))
entry("Basic credentials (base64)", lambda: b64_text(fresh(4)))
entry("template, a character outside strings", lambda: Template(None, "{{ 1 " + fresh(1) + " }}").render())
entry("template, a name after now()", lambda: Template(None, "{{ now()." + new_name() + " }}").render())
entry("compat.digits", lambda: compat.digits(fresh()))
entry("compat.integer", lambda: compat.integer(fresh()))
"""


def test_input_in_many_scripts_interns_nothing():
    out = run_core("micropython", SCRIPT)
    counts = re.findall(r"-- (.+)\nqstr pool: n_pool=\d+, n_qstr=(\d+)", out)
    assert len(counts) == 2 * SCRIPT.count('entry("'), out
    grew = ["{}: {} more".format(name, int(second) - int(first))
            for (name, first), (_, second) in zip(counts[::2], counts[1::2]) if second != first]
    assert grew == []


@pytest.mark.parametrize("text,slug", [("Küche", "kuche"), ("Straße 2", "strasse_2"), ("ÆON Œuvre", "aeon_oeuvre"),
                                       ("Living Room", "living_room"), ("温度", "unknown"), ("a  -- b", "a_b")])
def test_slugs_spell_latin_letters_in_ascii(runtime, text, slug):
    code = "from ugate.hub.states import slugify\nprint(slugify({!r}))".format(text)
    assert run_core(runtime, code).strip() == slug


SERVED = r"""
import asyncio, json, sys, micropython
import mp_platform
from ugate import app, hub as _hub

config_dir, port = sys.argv[-2], int(sys.argv[-1])
hub = _hub.Hub(app.load_config(config_dir), config_dir, mp_platform.MicroPythonPlatform())
gw = app.create_app(hub)
token = hub.tokens.create("owner")
SIZE = 100  # the request line and header lines stay within the board's limit
""" + NEW_TEXT + r"""


def quoted(text):
    return "".join("%{:02X}".format(b) for b in text.encode())


async def request(method, path, body=None, auth=True, header="", forwarded=None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = (body if isinstance(body, str) else json.dumps(body)).encode() if body is not None else b""
    head = "{} {} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Length: {}\r\n".format(
        method, path, len(data))
    if auth:
        head += "Authorization: Bearer {}\r\n".format(token if auth is True else auth)
    if forwarded:
        head += "X-Forwarded-For: {}\r\n".format(forwarded)
    head += "X-Note: {}\r\n\r\n".format(header)
    writer.write(head.encode() + data)
    await writer.drain()
    answer = b""
    while True:
        piece = await reader.read(1024)
        if not piece:
            break
        answer += piece
    await writer.aclose()
    return int(answer[9:12])


async def requests():
    return [
        await request("POST", "/api/states/sensor.x", {"state": fresh(), "attributes": {fresh(): fresh()}},
                      header=fresh()),
        await request("GET", "/api/states/sensor." + quoted(fresh())),
        await request("GET", "/api/states?" + quoted(fresh()) + "=" + quoted(fresh())),
        await request("POST", "/api/events/" + quoted(fresh()), {fresh(): fresh()}),
        await request("POST", "/api/services/persistent_notification/create",
                      {"message": fresh(), "title": fresh()}),
        await request("GET", "/" + quoted(fresh())),
        await request("GET", "/api/", auth=fresh()),
        await request("POST", "/api/states/sensor.y", None, header=fresh()),
        # Nested deep enough to be checked, and escaped surrogate pairs.
        await request("POST", "/api/states/sensor.z", '{"state": "' + fresh() + '", "attributes": {"a": ' +
                      json.dumps([[i] for i in range(25)]) + "}}"),
        await request("POST", "/api/events/x", '{"a": "' + escaped() + '"}'),
        # Not an address: refused, and logged.
        await request("GET", "/api/", forwarded=fresh()),
    ]


async def main():
    server = asyncio.create_task(gw.start_server("127.0.0.1", port))
    await asyncio.sleep(0.3)
    # Three rounds, each with new characters: the first interns what the
    # code paths intern whatever the input.
    for _ in range(3):
        print("statuses", await requests())
        micropython.qstr_info()
    gw.shutdown()
    server.cancel()


asyncio.run(main())
"""


def test_requests_in_many_scripts_intern_nothing(tmp_path):
    """The same, end to end: requests whose paths, query strings, headers,
    tokens and bodies hold new characters, served over a socket by the
    gateway (Microdot's parsing and every layer included)."""
    port = free_port()
    (tmp_path / "config.json").write_text(
        '{"log_level": "warning", "use_x_forwarded_for": true, "trusted_proxies": ["127.0.0.1"]}')
    r = run_interpreter("micropython", ["-c", SERVED, str(tmp_path), str(port)], timeout=60)
    assert r.returncode == 0, r.stderr
    statuses = re.findall(r"statuses (\[.*\])", r.stdout)
    assert statuses == ["[{0}, 404, 200, 200, 200, 404, 401, 400, {0}, 200, 400]".format(created)
                        for created in (201, 200, 200)], r.stdout
    counts = [int(n) for n in re.findall(r"n_qstr=(\d+)", r.stdout)]
    assert len(counts) == 3 and counts[1] == counts[2], r.stdout
