"""Stand-in for a board's `machine` module (it replaces the unix port's,
which has no WDT, RTC or reset): each call is written to the stand-in log;
reset() ends the process, as a reset ends the running program. The
watchdog has no timer of its own: a feed that comes later than its timeout
is where the hardware would have reset the board, so it resets then."""
import sys
import time

import _standin

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5


def reset_cause():
    return _standin.settings().get("reset_cause", PWRON_RESET)


def reset():
    _standin.record("reset")
    sys.exit(0)


class WDT:
    def __init__(self, timeout):
        _standin.record("wdt {}".format(timeout))
        self.timeout = timeout
        self.fed = time.ticks_ms()

    def feed(self):
        late = time.ticks_diff(time.ticks_ms(), self.fed)
        if late > self.timeout:
            _standin.record("watchdog expired: not fed for {} ms".format(late))
            reset()
        self.fed = time.ticks_ms()
        _standin.record("feed")


class RTC:
    def datetime(self, t):
        _standin.record("rtc {}".format(list(t)))
