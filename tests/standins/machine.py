"""Stand-in for a board's `machine` module (it replaces the unix port's,
which has no WDT, RTC or reset): each call is written to the stand-in log;
reset() ends the process, as a reset ends the running program. The
watchdog has no timer of its own: a feed that comes later than its timeout
is where the hardware would have reset the board, so it resets then, and a
program that ends with it armed is reset as it would be in the REPL."""
import sys
import time

import _standin

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5


def reset_cause():
    return _standin.settings().get("reset_cause", PWRON_RESET)


def reset():
    _standin.record("reset")
    sys.atexit(None)  # the reset ends it, not the watchdog
    sys.exit(0)


def _program_ended():
    # The program ended with the watchdog armed: a board would sit in its
    # REPL, unfed, until the watchdog resets it.
    _standin.record("watchdog expired: the program ended")
    _standin.record("reset")


class WDT:
    def __init__(self, timeout):
        _standin.record("wdt {}".format(timeout))
        self.timeout = timeout
        self.fed = time.ticks_ms()
        sys.atexit(_program_ended)

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
