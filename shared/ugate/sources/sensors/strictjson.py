"""JSON lines from a radio or a serial cable, checked strictly before they are
parsed. MicroPython's json module skips missing commas and colons
(`{"a":,"b":1}` loads as `{"a": "b"}`), so a corrupted line could become
wrong readings there while CPython rejects it; and CPython accepts NaN and
Infinity. The grammar check below makes both runtimes refuse the same lines.
"""
from ugate.base import compat, jsoninput

#: Objects and arrays nested deeper than this are refused (a sensor line is flat).
max_depth = 8

_WS = " \t\r\n"
_DIGITS = "0123456789"


def _bad():
    raise ValueError("invalid JSON")


def _skip(s, i):
    while i < len(s) and s[i:i + 1] in _WS:
        i += 1
    return i


def _string(s, i):
    """`s[i]` is the opening quote; the index after the closing one."""
    i += 1
    while i < len(s):
        c = s[i:i + 1]  # a slice: s[i] would intern the character (compat.only)
        if c == '"':
            return i + 1
        if c == "\\":
            esc = s[i + 1:i + 2]
            if esc == "u":
                code = s[i + 2:i + 6]
                if len(code) != 4 or not compat.only(code, compat.HEX):
                    _bad()
                i += 6
                continue
            if not esc or esc not in '"\\/bfnrt':
                _bad()
            i += 2
            continue
        if c < " ":
            _bad()
        i += 1
    _bad()


def _digits(s, i):
    j = i
    while j < len(s) and s[j:j + 1] in _DIGITS:
        j += 1
    if j == i:
        _bad()
    return j


def _number(s, i):
    if s[i:i + 1] == "-":
        i += 1
    if s[i:i + 1] == "0":
        i += 1
    else:
        i = _digits(s, i)
    if s[i:i + 1] == ".":
        i = _digits(s, i + 1)
    if s[i:i + 1] in ("e", "E"):
        i += 1
        if s[i:i + 1] in ("+", "-"):
            i += 1
        i = _digits(s, i)
    return i


def _value(s, i, depth):
    i = _skip(s, i)
    c = s[i:i + 1]
    if c == '"':
        return _string(s, i)
    if c in ("{", "["):
        if depth >= max_depth:
            raise ValueError("JSON nested too deeply")
        close = "}" if c == "{" else "]"
        i = _skip(s, i + 1)
        if s[i:i + 1] == close:
            return i + 1
        while True:
            if c == "{":
                if s[i:i + 1] != '"':
                    _bad()
                i = _skip(s, _string(s, i))
                if s[i:i + 1] != ":":
                    _bad()
                i += 1
            i = _skip(s, _value(s, i, depth + 1))
            if s[i:i + 1] == close:
                return i + 1
            if s[i:i + 1] != ",":
                _bad()
            i = _skip(s, i + 1)
    for word in ("true", "false", "null"):
        if s[i:i + len(word)] == word:
            return i + len(word)
    return _number(s, i)


def loads_object(line):
    """The JSON object on `line`; ValueError for anything else."""
    if _skip(line, _value(line, 0, 0)) != len(line):
        _bad()
    obj = jsoninput.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj
