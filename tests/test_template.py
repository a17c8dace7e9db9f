"""The template subset (ugate.faces.homeassistant.template) on both runtimes:
what it renders like Home Assistant, and a clear TemplateError, never a
crash, for everything else."""
import json

import pytest

from conftest import RUNTIMES, run_core

CASES = [
    ("{{ states('sensor.t') | float + 1 }}", 22.5),
    ("T={{ states('sensor.t') }} {{ state_attr('sensor.t', 'battery') * 2 }}", "T=21.5 160"),
    ("{{ is_state('binary_sensor.door', 'on') }}", True),
    ("{{ is_state('binary_sensor.door', ['off', 'on']) }}", True),
    ("{{ (states('sensor.t') | float * 9 / 5 + 32) | round(1) }}", 70.7),
    ("{{ 'open' if is_state('binary_sensor.door', 'on') else 'closed' }}", "open"),
    ("{{ states('sensor.missing') }}", "unknown"),
    ("{{ state_attr('sensor.missing', 'x') }}", None),
    ("{{ now().year > 2000 and now().isoformat()[10] == 'T' }}", True),
    ("{{ 7 // 2 }} {{ 2 ** 10 }} {{ 10 % 3 }} {{ -3 + 1 }}", "3 1024 1 -2"),
    ("{{ 'abc' | int(0) }} {{ 'abc' | float(1.5) }}", "0 1.5"),
    ("{{ states('sensor.t') | int }}", 21),
    ("{{ x + 1 }}", 3),
    ("{{ 'a' ~ 1 ~ 'b' }}", "a1b"),
    ("{{ 1 < 2 and not false or 0 }}", True),
    ("{{ 3.7 | round }} {{ 2.5 | round(0, 'ceil') }} {{ 2.5 | round(0, 'floor') }}", "4 3 2"),
    ("{# a comment #}plain", "plain"),
    ("{{ '007' }}", "007"),
]
ERRORS = [
    ("{{ 'abc' | float }}", "ValueError: Template error: float got invalid input 'abc'"),
    ("{% if x %}y{% endif %}", "TemplateSyntaxError: {% ... %} statements are not supported"),
    ("{{ foo(1) }}", "UndefinedError: 'foo' is undefined"),
    ("{{ 1 + }}", "TemplateSyntaxError: unexpected end of template"),
    ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ("{{ states('sensor.t') | lower }}", "TemplateAssertionError: No filter named 'lower'"),
    ("{{ 1 2 }}", "TemplateSyntaxError: unexpected 2"),
    ("{{ 'x' - 1 }}", "TypeError"),
    ("{{ states.sensor.t }}", "has no attribute 'sensor'"),
    ("{{ 1", "TemplateSyntaxError: unexpected end of template, expected '}}'"),
    ("{{ 'open }}", "TemplateSyntaxError: unterminated string"),
    ("{{ a $ b }}", "TemplateSyntaxError: unexpected '$'"),
]

CODE = """
import json
from ugate.hub.bus import Bus
from ugate.hub.states import StateMachine
from ugate.faces.homeassistant.template import Template, TemplateError
class Hub:
    states = StateMachine(Bus())
hub = Hub()
hub.states.set("sensor.t", "21.5", {{"battery": 80}})
hub.states.set("binary_sensor.door", "on")
out = []
for source in json.loads({sources!r}):
    try:
        t = Template(hub, source)
        out.append(["ok", t.render({{"x": 2}}), sorted(t.entities), t.uses_now])
    except TemplateError as exc:
        out.append(["error", str(exc)])
print(json.dumps(out))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_templates_render_like_home_assistant(runtime):
    sources = [c[0] for c in CASES + ERRORS]
    results = json.loads(run_core(runtime, CODE.format(sources=json.dumps(sources))))
    for (source, expected), result in zip(CASES, results):
        assert result[:2] == ["ok", expected], source
    assert results[0][2:] == [["sensor.t"], False]
    assert results[8][3] is True  # now(): rendered again every minute
    for (source, expected), result in zip(ERRORS, results[len(CASES):]):
        assert result[0] == "error" and expected in result[1], (source, result)
