"""Dates and times as text: written as Home Assistant writes them, read back
from ISO 8601 without `datetime` or `re` (MicroPython has neither, or only
at a heap cost). Times are integer microseconds since 1970, as
`compat.now_us()` gives them."""
import time

from ugate.base import compat


def iso(us):
    """ISO 8601 in UTC with microseconds and offset, as Home Assistant writes it."""
    t = time.gmtime(us // 1000000 - compat.EPOCH_OFFSET)
    return "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:06d}+00:00".format(
        t[0], t[1], t[2], t[3], t[4], t[5], us % 1000000)


def epoch_float(us):
    """Seconds since 1970 as a float (the WebSocket API's compressed states)."""
    return us / 1000000


def _days(y, m, d):
    """Days from 1970-01-01 to the date (proleptic Gregorian)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _number(text, start, width):
    part = text[start:start + width]
    if len(part) != width or not compat.digits(part):
        raise ValueError
    return int(part)


def parse(text, offset_required=True):
    """ISO 8601 date and time -> microseconds since 1970; ValueError
    otherwise. Seconds and their fraction may be left out, 'T' may be a
    space: '2026-01-01T00:00:00Z', '2026-01-01 00:00:00.5+02:00',
    '2026-01-01T00:00+0200'. A time without offset, allowed only when the
    offset is not required (Home Assistant's ban file), is read as UTC."""
    form = "not an ISO 8601 date and time" + (" with offset" if offset_required else "")
    t = text.strip() if isinstance(text, str) else ""
    if t[4:5] != "-" or t[7:8] != "-" or t[10:11] not in ("T", "t", " ") or t[13:14] != ":":
        raise ValueError(form)
    us = offset = s = 0
    end = 16
    try:
        y, mo, d = _number(t, 0, 4), _number(t, 5, 2), _number(t, 8, 2)
        h, mi = _number(t, 11, 2), _number(t, 14, 2)
        if t[16:17] == ":":
            s = _number(t, 17, 2)
            end = 19
            if t[19:20] == ".":
                end = 20
                while "0" <= t[end:end + 1] <= "9":
                    end += 1
                fraction = t[20:end]
                if not fraction:
                    raise ValueError
                us = int((fraction + "00000")[:6])
        zone = t[end:]
        if zone[:1] in ("+", "-") and (len(zone) == 5 or len(zone) == 6 and zone[3] == ":"):
            offset = _number(zone, 1, 2) * 60 + _number(zone, len(zone) - 2, 2)
            if zone[0] == "-":
                offset = -offset
        elif zone not in ("Z", "z") and (zone or offset_required):
            raise ValueError
    except ValueError:
        raise ValueError(form)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        raise ValueError("date or time out of range")
    seconds = _days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset * 60
    return seconds * 1000000 + us
