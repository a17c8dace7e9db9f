"""The part of Home Assistant's templates (Jinja) that phones and dashboards
use most: `{{ expression }}` with `states()`, `state_attr()`, `is_state()`,
`now()`, numbers, strings and lists, arithmetic, comparisons, `and`/`or`/`not`,
`x if c else y` and the filters `float`, `int` and `round`. Anything else
(`{% ... %}` statements, other functions and filters) is a TemplateError
that says what ugate supports: an error in the answer, never a crash.

Loaded only when a template is rendered (a board pays its heap then). An
expression is evaluated as it is parsed; `entities` collects the entity
ids a render read and `uses_now` whether it read the clock, so a
subscription knows when to render again.
"""
import time

from ugate.base import compat

SUPPORTED = ("ugate supports {{ ... }} with states(), state_attr(), is_state(), now(), "
             "arithmetic, comparisons and the float, int and round filters")


class TemplateError(Exception):
    pass


class Now:
    """What now() gives: the time in UTC (the gateway keeps no time zones),
    with the attributes and methods templates use most."""

    #: What a template may ask of it.
    ATTRIBUTES = ("year", "month", "day", "hour", "minute", "second", "microsecond", "isoformat", "timestamp")

    def __init__(self, us):
        t = time.gmtime(us // 1000000 - compat.EPOCH_OFFSET)
        self.year, self.month, self.day, self.hour, self.minute, self.second = t[:6]
        self.microsecond = us % 1000000
        self._us = us

    def __str__(self):
        return "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:06d}+00:00".format(
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.microsecond)

    def isoformat(self):
        return str(self).replace(" ", "T")

    def timestamp(self):
        return self._us / 1000000


_TWO = ("==", "!=", "<=", ">=", "//", "**")
_ONE = "+-*/%<>()|,.[]~"


def _tokens(expr):
    """(kind, value) pairs: 'num', 'str', 'name', 'op'."""
    out = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i:i + 1]  # slices, not expr[i]: compat.only says why
        if c in " \t\r\n":
            i += 1
        elif "0" <= c <= "9" or (c == "." and "0" <= expr[i + 1:i + 2] <= "9"):
            j = i
            while j < n and ("0" <= expr[j:j + 1] <= "9" or expr[j:j + 1] == "."):
                j += 1
            text = expr[i:j]
            try:
                out.append(("num", float(text) if "." in text else int(text)))
            except ValueError:
                raise TemplateError("TemplateSyntaxError: bad number " + text)
            i = j
        elif c in "'\"":
            j = expr.find(c, i + 1)
            if j < 0:
                raise TemplateError("TemplateSyntaxError: unterminated string")
            out.append(("str", expr[i + 1:j]))
            i = j + 1
        elif c == "_" or "a" <= c.lower() <= "z":
            j = i
            while j < n and (expr[j:j + 1] == "_" or "a" <= expr[j:j + 1].lower() <= "z"
                             or "0" <= expr[j:j + 1] <= "9"):
                j += 1
            out.append(("name", expr[i:j]))
            i = j
        elif expr[i:i + 2] in _TWO:
            out.append(("op", expr[i:i + 2]))
            i += 2
        elif c in _ONE:
            out.append(("op", c))
            i += 1
        else:
            raise TemplateError("TemplateSyntaxError: unexpected '{}'".format(c))
    out.append(("end", None))
    return out


def _number(value, kind, default, name):
    try:
        return kind(value)
    except (TypeError, ValueError):
        if default is not _NONE:
            return default
        raise TemplateError("ValueError: Template error: {} got invalid input '{}' when rendering "
                            "template but no default was specified".format(name, value))


_NONE = object()


def _float(value, default=_NONE):
    return _number(value, float, default, "float")


def _int(value, default=_NONE, base=10):
    if isinstance(value, str):
        try:
            return int(value, base)
        except ValueError:
            value = _number(value, float, default, "int")
            if value is default:
                return default
    return _number(value, int, default, "int")


def _round(value, precision=0, method="common", default=_NONE):
    value = _number(value, float, default, "round")
    if value is default:
        return default
    if method == "floor" or method == "ceil":
        scale = 10 ** precision
        whole = int(value * scale)
        if method == "ceil" and whole < value * scale:
            whole += 1
        elif method == "floor" and whole > value * scale:
            whole -= 1
        value = whole / scale
    else:
        value = round(value, precision)
    return int(value) if precision == 0 else value


FILTERS = {"float": _float, "int": _int, "round": _round}
_LITERALS = {"true": True, "True": True, "false": False, "False": False, "none": None,
             "None": None}


class _Render:
    """One evaluation of an expression against the hub's states."""

    def __init__(self, template, tokens, variables):
        self.template = template
        self.tokens = tokens
        self.pos = 0
        self.variables = variables

    def peek(self, value=None):
        kind, v = self.tokens[self.pos]
        return kind == "op" and v == value or kind == "name" and v == value

    def take(self, value):
        if not self.peek(value):
            kind, v = self.tokens[self.pos]
            raise TemplateError("TemplateSyntaxError: expected '{}', got {}".format(
                value, "the end" if kind == "end" else repr(v)))
        self.pos += 1

    def expression(self):
        value = self.either()
        if self.peek("if"):
            self.pos += 1
            condition = self.either()
            self.take("else")
            otherwise = self.expression()
            return value if condition else otherwise
        return value

    def either(self):
        return self.chain("or", self.both)

    def both(self):
        return self.chain("and", self.negation)

    def chain(self, word, operand):
        """`operand (word operand)*` for `or` and `and` (every operand is
        evaluated: nothing a template calls has side effects)."""
        value = operand()
        while self.peek(word):
            self.pos += 1
            right = operand()
            value = (value or right) if word == "or" else (value and right)
        return value

    def negation(self):
        if self.peek("not"):
            self.pos += 1
            return not self.negation()
        return self.comparison()

    def comparison(self):
        value = self.sum()
        kind, op = self.tokens[self.pos]
        if kind == "op" and op in ("==", "!=", "<", ">", "<=", ">=") or kind == "name" and op == "in":
            self.pos += 1
            right = self.sum()
            value = self.apply(op, value, right)
        return value

    def sum(self):
        value = self.product()
        while self.tokens[self.pos] in (("op", "+"), ("op", "-"), ("op", "~")):
            op = self.tokens[self.pos][1]
            self.pos += 1
            right = self.product()
            value = str(value) + str(right) if op == "~" else self.apply(op, value, right)
        return value

    def product(self):
        value = self.unary()
        while self.tokens[self.pos] in (("op", "*"), ("op", "/"), ("op", "//"), ("op", "%")):
            op = self.tokens[self.pos][1]
            self.pos += 1
            value = self.apply(op, value, self.unary())
        return value

    def unary(self):
        if self.peek("-"):
            self.pos += 1
            return self.apply("*", -1, self.unary())
        if self.peek("+"):
            self.pos += 1
        value = self.filtered()
        if self.peek("**"):
            self.pos += 1
            value = self.apply("**", value, self.unary())
        return value

    def apply(self, op, a, b):
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            if op == "//":
                return a // b
            if op == "%":
                return a % b
            if op == "**":
                return a ** b
            if op == "==":
                return a == b
            if op == "!=":
                return a != b
            if op == "<":
                return a < b
            if op == ">":
                return a > b
            if op == "<=":
                return a <= b
            if op == ">=":
                return a >= b
            return a in b
        except ZeroDivisionError:
            raise TemplateError("ZeroDivisionError: division by zero")
        except TypeError:
            raise TemplateError("TypeError: '{}' not supported between {!r} and {!r}".format(op, a, b))

    def filtered(self):
        value = self.postfix()
        while self.peek("|"):
            self.pos += 1
            kind, name = self.tokens[self.pos]
            self.pos += 1
            if kind != "name" or name not in FILTERS:
                raise TemplateError("TemplateAssertionError: No filter named '{}'. {}".format(
                    name, SUPPORTED))
            args = self.arguments() if self.peek("(") else []
            value = FILTERS[name](value, *args)
        return value

    def arguments(self):
        self.take("(")
        return self.items(")")

    def items(self, close):
        """Expressions separated by commas, up to `close`."""
        out = []
        while not self.peek(close):
            out.append(self.expression())
            if not self.peek(close):
                self.take(",")
        self.pos += 1
        return out

    def postfix(self):
        value = self.primary()
        while True:
            if self.peek("."):
                self.pos += 1
                kind, name = self.tokens[self.pos]
                self.pos += 1
                if kind != "name" or name.startswith("_"):
                    raise TemplateError("TemplateSyntaxError: expected a name after '.'")
                if isinstance(value, dict):
                    value = value.get(name)
                elif isinstance(value, Now) and name in Now.ATTRIBUTES:  # hasattr() would intern any name
                    value = getattr(value, name)
                else:
                    raise TemplateError("UndefinedError: {!r} has no attribute '{}'".format(value, name))
            elif self.peek("["):
                self.pos += 1
                key = self.expression()
                self.take("]")
                try:
                    value = value[key]
                except (KeyError, IndexError, TypeError):
                    raise TemplateError("UndefinedError: {!r} has no item {!r}".format(value, key))
            elif self.peek("(") and callable(value):
                value = value(*self.arguments())
            else:
                return value

    def primary(self):
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind in ("num", "str"):
            return value
        if kind == "op" and value == "(":
            value = self.expression()
            self.take(")")
            return value
        if kind == "op" and value == "[":
            return self.items("]")
        if kind == "name":
            if value in _LITERALS:
                return _LITERALS[value]
            if value in self.variables:
                return self.variables[value]
            function = getattr(self.template, "f_" + value, None)
            if function is not None:
                return function
            raise TemplateError("UndefinedError: '{}' is undefined. {}".format(value, SUPPORTED))
        raise TemplateError("TemplateSyntaxError: unexpected {}".format(
            "end of template" if kind == "end" else repr(value)))


def _parsed(text):
    """A render's result as Home Assistant gives it: numbers, booleans and
    None as themselves, anything else as the text."""
    t = text.strip()
    if t in ("True", "False"):
        return t == "True"
    if t == "None":
        return None
    digits = t[1:] if t[:1] == "-" else t
    if digits and compat.digits(digits.replace(".", "", 1)) and digits[0] != "." \
            and digits[-1] != "." and (digits[0] != "0" or len(digits) == 1 or digits[1] == "."):
        return float(t) if "." in t else int(t)
    return text


class Template:
    """A template over the hub's states; `render(variables)` is the result."""

    def __init__(self, hub, source):
        if not isinstance(source, str):
            raise TemplateError("TemplateError: a template is a string")
        self.hub = hub
        self.source = source
        self.entities = set()
        self.uses_now = False

    def render(self, variables=None, parse=True):
        self.entities = set()
        self.uses_now = False
        out = []
        text = self.source
        i = 0
        while True:
            j = _next_tag(text, i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            tag = text[j:j + 2]
            if tag == "{%":
                raise TemplateError("TemplateSyntaxError: {% ... %} statements are not supported. "
                                    + SUPPORTED)
            end = text.find("#}" if tag == "{#" else "}}", j + 2)
            if end < 0:
                raise TemplateError("TemplateSyntaxError: unexpected end of template, expected "
                                    "'{}'".format("#}" if tag == "{#" else "}}"))
            if tag == "{{":
                render = _Render(self, _tokens(text[j + 2:end]), variables or {})
                value = render.expression()
                kind, extra = render.tokens[render.pos]
                if kind != "end":
                    raise TemplateError("TemplateSyntaxError: unexpected {!r}".format(extra))
                out.append(str(value))
            i = end + 2
        result = "".join(out)
        return _parsed(result) if parse else result

    # The functions a template may call: f_<name>.

    def f_states(self, entity_id):
        self.entities.add(str(entity_id).lower())
        state = self.hub.states.get(str(entity_id))
        return state.state if state is not None else "unknown"

    def f_state_attr(self, entity_id, name):
        self.entities.add(str(entity_id).lower())
        state = self.hub.states.get(str(entity_id))
        return state.attributes.get(name) if state is not None else None

    def f_is_state(self, entity_id, value):
        current = self.f_states(entity_id)
        return current in value if isinstance(value, list) else current == value

    def f_now(self):
        self.uses_now = True
        return Now(compat.now_us())


def _next_tag(text, start):
    """Where the next '{{', '{%' or '{#' starts, -1 when none does."""
    i = text.find("{", start)
    while i >= 0:
        if text[i + 1:i + 2] in ("{", "%", "#"):
            return i
        i = text.find("{", i + 1)
    return -1
