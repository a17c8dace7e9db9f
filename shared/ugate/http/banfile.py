"""`ip_bans.yaml`, Home Assistant's ban file, read and written without a
YAML library (MicroPython has none). The file is a mapping of addresses to
`banned_at` times, appended one entry per ban:

    <blank line>
    200.201.202.204:
      banned_at: '2024-01-01T12:00:00.123456+00:00'

`parse` accepts that subset of YAML (plain or quoted keys and values,
comments, `{}` or an empty entry). Text outside it makes the whole file
broken (BanFileError), as a YAML parser would refuse it; an entry that parses
but is not a ban (bad address, bad time, unknown field) is only skipped.
"""
from ugate.base import dates, ipnet


class BanFileError(ValueError):
    pass


def entry(address, banned_at):
    """The text appended for one ban (IPv6 keys are quoted: a plain YAML
    key cannot start with ':')."""
    key = "'{}'".format(address) if ":" in address else address
    return "\n{}:\n  banned_at: '{}'\n".format(key, banned_at)


def _scalar(text, lineno):
    """A plain, 'single' or "double" quoted YAML scalar -> str; None for
    an empty value, null or ~."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = 1
        while True:
            end = text.find(quote, end)
            if end < 0:
                raise BanFileError("line {}: unterminated quoted value".format(lineno))
            if quote == "'" and text[end + 1:end + 2] == "'":
                end += 2  # '' is a quote inside single quotes
                continue
            break
        rest = text[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise BanFileError("line {}: text after a quoted value".format(lineno))
        inner = text[1:end]
        return inner.replace("''", "'") if quote == "'" else inner
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    return None if text in ("", "~", "null", "Null", "NULL") else text


def _split_key(line, lineno):
    """'key: value' -> (key, value text), with a quoted key allowed."""
    if line[:1] in ("'", '"'):
        end = line.find(line[0], 1)
        if end < 0 or line[end + 1:end + 2] != ":":
            raise BanFileError("line {}: expected 'key:'".format(lineno))
        return line[1:end], line[end + 2:]
    key, sep, rest = line.partition(": ")
    if not sep:
        if not line.endswith(":"):
            raise BanFileError("line {}: expected 'key:'".format(lineno))
        key, rest = line[:-1], ""
    if not key.strip() or key[0] in "-?[{&*!|>%@`#":
        raise BanFileError("line {}: expected 'key:'".format(lineno))
    return key.strip(), rest


def parse(text):
    """-> list of (address, fields dict or None) in file order. Raises
    BanFileError when the text is not this YAML subset."""
    entries = []
    current = None  # the entry that indented lines belong to
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if "\t" in line:
            raise BanFileError("line {}: tab character".format(lineno))
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        if line[0] != " ":
            key, rest = _split_key(body, lineno)
            rest = rest.strip()
            # `key:` alone is null until indented fields follow; `{}` is an
            # empty mapping; any other scalar is not a ban entry.
            value = {} if rest == "{}" else _scalar(rest, lineno)
            current = [key, value]
            entries.append(current)
            if value is not None:
                current = None
        elif current is not None:
            key, rest = _split_key(body, lineno)
            if current[1] is None:
                current[1] = {}
            current[1][key] = _scalar(rest, lineno)
        else:
            raise BanFileError("line {}: indented line outside an entry".format(lineno))
    return [(key, fields) for key, fields in entries]


def check(address, fields):
    """-> the banned address, or raises ValueError saying why the entry is
    not a ban."""
    ipnet.parse_address(ipnet.normalize(address))
    if not isinstance(fields, dict):
        raise ValueError("expected a mapping with 'banned_at'")
    for name, value in fields.items():
        if name != "banned_at":
            raise ValueError("unknown field '{}'".format(name))
        if value is not None:
            # Home Assistant takes any datetime; it writes
            # '2024-01-01T12:00:00.123456+00:00' and documents '2016-11-16T19:20:03'.
            try:
                dates.parse(value, offset_required=False)
            except ValueError:
                raise ValueError("banned_at is not a date and time: {!r}".format(value))
    return address
