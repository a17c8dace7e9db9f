"""Stand-in for a board's `machine` module (it replaces the unix port's,
which has no WDT, RTC or reset): each call is written to the stand-in log;
reset() ends the process, as a reset ends the running program."""
import sys

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

    def feed(self):
        _standin.record("feed")


class RTC:
    def datetime(self, t):
        _standin.record("rtc {}".format(list(t)))
