"""ISO 8601 dates written and read back the same on both runtimes: with an
offset (the Hono registry) and, for Home Assistant's ban file, without."""
import json

import pytest

from conftest import RUNTIMES, run_core

CASES = [
    # text, microseconds with the offset required, without
    ("2026-01-01T00:00:00Z", 1767225600000000, 1767225600000000),
    ("2026-01-01t00:00:00z", 1767225600000000, 1767225600000000),
    ("2026-01-01 00:00:00+02:00", 1767218400000000, 1767218400000000),
    ("2026-01-01T00:00:00.5-05:00", 1767243600500000, 1767243600500000),
    ("2026-01-01T00:00:00.1234567+0000", 1767225600123456, 1767225600123456),
    ("2026-01-01T00:00Z", 1767225600000000, 1767225600000000),
    ("1969-12-31T23:59:59.999999Z", -1, -1),
    ("2016-11-16T19:20:03", None, 1479324003000000),  # Home Assistant's documented example
    ("2024-01-01 12:00", None, 1704110400000000),
    ("2026-01-01T00:00:00.Z", None, None),
    ("2026-01-01T00:00:00+02", None, None),
    ("2024-13-01T00:00:00Z", None, None),
    ("2024-01-01T12:00:5", None, None),
    ("2024-01-01", None, None),
    ("yesterday", None, None),
]

CODE = """
import json
from ugate.base import dates

out = []
for text in json.loads({cases!r}):
    row = []
    for required in (True, False):
        try:
            row.append(dates.parse(text, required))
        except ValueError:
            row.append(None)
    out.append(row)
print(json.dumps([out, dates.iso(1767225600123456), dates.epoch_float(1767225600500000)]))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_parse_and_format(runtime):
    code = CODE.format(cases=json.dumps([text for text, _, _ in CASES]))
    parsed, iso, seconds = json.loads(run_core(runtime, code))
    assert parsed == [[with_offset, without] for _, with_offset, without in CASES]
    assert iso == "2026-01-01T00:00:00.123456+00:00" and seconds == 1767225600.5
