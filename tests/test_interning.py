"""Input never grows the interned names of a MicroPython heap.

MicroPython interns each character it takes out of a str one at a time
(iterating, indexing, chr()), and an interned name is never freed. Request
bodies, serial lines, usernames or headers written in many scripts would
so fill a board's heap a little more with every new character, for good.
Each entry point below reads text made of 300 characters nothing interned
before; the count of interned names must not move."""
import re

import pytest

from conftest import run_core

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

_base = [0x4e00]


def fresh(n=300):
    # CJK characters built as UTF-8 bytes and decoded: creating them interns nothing.
    out = bytearray()
    for cp in range(_base[0], _base[0] + n):
        out += bytes((0xE0 | cp >> 12, 0x80 | cp >> 6 & 63, 0x80 | cp & 63))
    _base[0] += n
    return out.decode()


def new_name():
    _base[0] += 1
    return "n{}".format(_base[0])


def astral_escapes(n=100):
    # JSON escapes of characters beyond U+FFFF, as surrogate pairs.
    out = []
    for cp in range(0x20000 + _base[0], 0x20000 + _base[0] + n):
        cp -= 0x10000
        out.append("\\u{:04x}\\u{:04x}".format(0xD800 | cp >> 10, 0xDC00 | cp & 0x3FF))
    _base[0] += n
    return "".join(out)


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
entry("jsoninput.loads (escaped surrogate pairs)", lambda: jsoninput.loads('"' + astral_escapes() + '"'))
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
