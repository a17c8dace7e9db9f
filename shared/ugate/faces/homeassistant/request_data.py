"""Request bodies checked as Home Assistant's views check them (its
`RequestDataValidator` and voluptuous schemas), with the same words."""
from ugate.base import jsoninput
from ugate.base.validation import MISSING, Invalid, known_keys, voluptuous
from ugate.http.responses import json_message


def strings(data, required, optional=(), extra=False):
    """`data` must be an object whose `required` keys (and `optional` ones,
    when present) are strings; other keys are refused unless `extra`."""
    if not isinstance(data, dict):
        raise Invalid(None, "expected a dictionary")
    if not extra:
        known_keys(data, required + optional)
    for key in required + optional:
        if key not in data:
            if key in required:
                raise Invalid(key, MISSING)
        elif not isinstance(data[key], str):
            raise Invalid(key, "expected str", data[key])


def json_body(request, check):
    """(data, None) for a JSON body `check(data)` accepts, else (None, the
    400 answer Home Assistant gives)."""
    try:
        data = jsoninput.loads(request.body) if request.body else None
    except ValueError:
        return None, json_message("Invalid JSON.", 400)
    try:
        check(data)
    except Invalid as exc:
        return None, json_message("Message format incorrect: " + voluptuous(exc), 400)
    return data, None
