"""Stand-in for MicroPython's `ntptime`: the server `host` answers with the
time the stand-in settings give it (`ntp`: {"<host>": seconds since the
port's epoch}); any other server times out. With `ntp_blocks_s` the call
blocks that long first, as a task that never yields blocks the event loop."""
import time as _time

import _standin

host = "pool.ntp.org"


def time():
    _standin.record("ntp " + host)
    settings = _standin.settings()
    _time.sleep(settings.get("ntp_blocks_s", 0))
    answers = settings.get("ntp", {})
    if host not in answers:
        raise OSError(110)  # ETIMEDOUT
    return answers[host]
