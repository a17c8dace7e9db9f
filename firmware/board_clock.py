"""True time on a board: its clock starts at the port's epoch (2000-01-01 or
1970-01-01) on every power-up, so it is set over NTP once Wi-Fi is up
(`board.ntp_servers`, each tried in turn, retried with a growing pause, and
again every `RESYNC_S`). Until the first answer the clock is not
trustworthy: `synced` is False (the board status says so) and a warning is
logged; at the first answer the times already stamped on states move by the
same step as the clock, so no `last_changed` stays in 2000."""
import asyncio
import time

import machine
import ntptime

from ugate.base import compat, log
from ugate.base.backoff import Backoff

_log = log.get("clock")

#: Seconds between two settings once synced (a board's clock drifts).
RESYNC_S = 6 * 3600


class Clock:
    def __init__(self, servers):
        self.servers = servers
        self.synced = False

    def ask(self, server):
        """Microseconds since 1970 as `server` tells them (OSError when it
        does not answer)."""
        ntptime.host = server
        return (ntptime.time() + compat.EPOCH_OFFSET) * 1000000

    def set(self, now_us):
        """Set the board's clock to `now_us`; returns the step in microseconds."""
        step = now_us - compat.now_us()
        t = time.gmtime(now_us // 1000000 - compat.EPOCH_OFFSET)
        machine.RTC().datetime((t[0], t[1], t[2], t[6] + 1, t[3], t[4], t[5], 0))
        return step

    def sync_once(self, states):
        """One round over the servers; True when one answered."""
        for server in self.servers:
            try:
                step = self.set(self.ask(server))
            except (OSError, OverflowError, IndexError) as exc:
                _log.warning("NTP server {} did not answer: {!r}".format(server, exc))
                continue
            if not self.synced:
                states.shift_times(step)
                _log.info("clock set from {} (moved {} s); times are now true".format(server, step // 1000000))
            self.synced = True
            return True
        return False

    async def run(self, hub):
        """Keep the clock set while the gateway runs (a background task)."""
        _log.warning("clock not set yet: times are not trustworthy until an NTP server answers")
        backoff = Backoff(2, 300)
        while True:
            if self.sync_once(hub.states):
                backoff.reset()
                await asyncio.sleep(RESYNC_S)
            else:
                await backoff.wait()
