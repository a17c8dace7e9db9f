"""Failed logins per client address, to slow down password guessing: an
address may fail `burst` times in a row, then once every `interval` seconds
(a leaky bucket: each failure adds `interval` of debt, which time pays
back). While it must wait, its logins are refused without checking."""
from ugate.base import compat


class Throttle:
    #: Failed logins an address may make in a row.
    burst = 10
    #: Seconds after which an address that used its burst may fail once more.
    interval = 6
    #: Addresses tracked at once; past this the one that failed longest ago
    #: is forgotten.
    max_addresses = 256

    def __init__(self):
        self._debts = compat.OrderedDict()  # address -> (debt in ms, ticks when counted)

    def _debt(self, address, now):
        entry = self._debts.get(address)
        if entry is None:
            return 0
        return max(entry[0] - compat.ticks_diff(now, entry[1]), 0)

    def retry_after(self, address):
        """Seconds `address` must wait before its next login is checked; 0
        when it may try now."""
        over = self._debt(address, compat.ticks_ms()) - (self.burst - 1) * self.interval * 1000
        return 0 if over <= 0 else (over + 999) // 1000

    def failed(self, address):
        now = compat.ticks_ms()
        debt = self._debt(address, now) + self.interval * 1000
        self._debts.pop(address, None)  # re-added last: the newest failure
        while len(self._debts) >= self.max_addresses:
            del self._debts[next(iter(self._debts))]
        self._debts[address] = (debt, now)
