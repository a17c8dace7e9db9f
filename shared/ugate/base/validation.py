"""Checks of decoded JSON, shared by config.json, the Hono registry, service
data and the WebSocket commands. A check takes a value and `where`, the path
that names it ('limits.idle_timeout', 'serial[0].port', 'tenants.T.enabled'),
and returns the value or raises Invalid. One mechanism, several wordings:
each caller words an Invalid its own way (config.json's errors, the
registry's, Home Assistant's voluptuous style)."""

class ConfigError(Exception):
    """A configuration that stops the start (config.json, the Hono registry,
    TLS files), its text naming the file and the key; the command line prints
    it and exits 2."""


#: `Invalid.problem` of a key that is not allowed, and of a required key
#: that is absent: problems of the key rather than of its value.
EXTRA = "extra key not allowed"
MISSING = "required key not provided"


class Invalid(ValueError):
    """The value at `where` does not fit: `problem` says why ('expected true
    or false'), or is EXTRA or MISSING; `value` is what was there. Its text,
    for callers that pass it on as it is (a service refusing its data):
    'where: problem', or 'problem: key' for EXTRA and MISSING."""

    def __init__(self, where, problem, value=None):
        if problem == EXTRA or problem == MISSING:
            super().__init__("{}: {}".format(problem, where))
        else:
            super().__init__("{}: {}".format(where, problem))
        self.where = where
        self.problem = problem
        self.value = value


def boolean(value, where):
    if value is True or value is False:
        return value
    raise Invalid(where, "expected true or false", value)


def integer(lo=None, hi=None):
    def check(value, where):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and (lo is None or value >= lo) and (hi is None or value <= hi):
            return value
        if lo is not None and hi is not None:
            expected = "an integer from {} to {}".format(lo, hi)
        else:
            expected = "an integer >= {}".format(lo) if lo is not None else "an integer"
        raise Invalid(where, "expected " + expected, value)
    return check


def number(value, where):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise Invalid(where, "expected a number", value)


def string(value, where):
    if isinstance(value, str) and value:
        return value
    raise Invalid(where, "expected a non-empty string", value)


def one_of(*choices):
    def check(value, where):
        if value in choices:
            return value
        raise Invalid(where, "expected one of " + ", ".join(choices), value)
    return check


def optional(check):
    def wrapped(value, where):
        return None if value is None else check(value, where)
    return wrapped


def list_of(check):
    def wrapped(value, where):
        if not isinstance(value, list):
            raise Invalid(where, "expected a list", value)
        return [check(item, "{}[{}]".format(where, i)) for i, item in enumerate(value)]
    return wrapped


def mapping(value, where):
    """A JSON object."""
    if isinstance(value, dict):
        return value
    raise Invalid(where, "expected an object", value)


def known_keys(data, allowed, prefix=""):
    """EXTRA for the first key of `data` that is not in `allowed`."""
    for key in data:
        if key not in allowed:
            raise Invalid(prefix + key, EXTRA)


def keys(data, schema, prefix=""):
    """`data` checked key by key against `schema`, {key: (check, default)};
    `prefix` starts each key's path (e.g. 'limits.')."""
    known_keys(data, schema, prefix)
    out = {}
    for key, (check, default) in schema.items():
        # Defaults pass through the check too, which copies lists and fills
        # nested sections.
        out[key] = check(data[key] if key in data else default, prefix + key)
    return out


def section(schema):
    """A nested object checked key by key against `schema`."""
    def check(value, where):
        return keys(mapping(value, where), schema, where + ".")
    return check


def voluptuous(exc):
    """An Invalid in the words of Home Assistant's schemas (voluptuous);
    `where` None: a problem of the message as a whole."""
    if exc.where is None:
        return exc.problem
    if exc.problem == EXTRA:
        problem = "extra keys not allowed"
    elif exc.problem == MISSING:
        problem = exc.problem
    else:
        problem = exc.problem + " for dictionary value"
    return "{} @ data['{}']".format(problem, exc.where)
