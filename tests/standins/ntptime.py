"""Stand-in for MicroPython's `ntptime`: the server `host` answers with the
time the stand-in settings give it (`ntp`: {"<host>": seconds since the
port's epoch}); any other server times out."""
import _standin

host = "pool.ntp.org"


def time():
    _standin.record("ntp " + host)
    answers = _standin.settings().get("ntp", {})
    if host not in answers:
        raise OSError(110)  # ETIMEDOUT
    return answers[host]
