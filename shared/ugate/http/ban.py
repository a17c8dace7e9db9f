"""Failed logins and IP bans (ha-api.md 2.3).

Every 401 logs a warning and raises the `http-login` notification. With
`ip_ban_enabled` and `login_attempts_threshold` N >= 1, the N-th failure from
one client address bans it: that request still gets its 401, every later one
403 on every path, before any route. Bans are appended to
`<config_dir>/ip_bans.yaml` and reloaded at start. Addresses in
`trusted_networks` are never banned.
"""
from ugate.base import compat, dates, ipnet, log, store
from ugate.http.responses import error_response
from ugate.http.server import remote

_log = log.get("http.ban")

BANS_FILE = "ip_bans.yaml"
NOTIFICATION_LOGIN = "http-login"
NOTIFICATION_BAN = "ip-ban"


def _key(address):
    """One key per address however it is spelled ('::ffff:1.2.3.4' and
    '1.2.3.4', '::1' and '0:0:0:0:0:0:0:1')."""
    try:
        return ipnet.parse_address(ipnet.normalize(address))
    except ValueError:
        return address


def load(path):
    """The bans in `path` as {key: address}; missing or broken file: none."""
    if not store.exists(path):
        return {}
    # The file's reader and writer are loaded only where there are bans: most
    # gateways have none, and a board keeps the heap.
    from ugate.http import banfile
    try:
        entries = banfile.parse(store.read_text(path))
    except OSError:
        return {}
    except (banfile.BanFileError, UnicodeError) as exc:  # UnicodeError: not UTF-8
        _log.error("unable to load {}: {}; no addresses are banned".format(path, exc))
        return {}
    bans = {}
    for address, fields in entries:
        try:
            banfile.check(address, fields)
        except ValueError as exc:
            _log.error("failed to load IP ban {} from {}: {}".format(address, path, exc))
            continue
        bans[_key(address)] = address
    return bans


class IpBan:
    #: Addresses whose failed logins are counted at once; beyond this one
    #: count is dropped to make room (a board's heap is small).
    max_counted = 256
    #: Bans kept (in memory and in ip_bans.yaml); past this no new address is
    #: banned, so many attacking addresses cannot fill a board's heap or flash.
    max_bans = 1024

    def __init__(self, hub):
        conf = hub.config
        self.hub = hub
        self.enabled = conf["ip_ban_enabled"]
        self.threshold = conf["login_attempts_threshold"]
        self.trusted = ipnet.Networks(conf["trusted_networks"])
        self.path = store.join(hub.config_dir, BANS_FILE)
        self.bans = load(self.path) if self.enabled else {}
        self.failures = {}

    async def before(self, request):
        if self.bans and _key(remote(request)) in self.bans:
            return error_response(403)
        return None

    def after(self, request, response):
        pass

    def login_failed(self, request):
        address = remote(request)
        # Home Assistant shows the reverse-DNS name first; a gateway does not
        # block on DNS, so both are the address.
        message = "Login attempt or request with invalid authentication from {} ({}).".format(
            address, address)
        _log.warning("{} Requested URL: '{}'. ({})".format(
            message, request.path, request.headers.get("User-Agent")))
        self._notify(NOTIFICATION_LOGIN, "Login attempt failed", message + " See the log for details.")
        if not self.enabled or self.threshold < 1 or address in self.trusted:
            return
        key = _key(address)
        count = self.failures.pop(key, 0) + 1
        if count >= self.threshold:
            self.ban(address, key)
            return
        if len(self.failures) >= self.max_counted:
            del self.failures[next(iter(self.failures))]
        self.failures[key] = count

    def login_succeeded(self, request):
        self.failures.pop(_key(remote(request)), None)

    def ban(self, address, key):
        if key in self.bans:
            return
        if len(self.bans) >= self.max_bans:
            _log.error("not banning {}: {} addresses are banned already (max_bans)".format(
                address, len(self.bans)))
            return
        self.bans[key] = address
        _log.warning("Banned IP {} for too many login attempts".format(address))
        try:
            from ugate.http import banfile  # see load()
            store.append(self.path, banfile.entry(address, dates.iso(compat.now_us())))
        except OSError as exc:
            _log.error("cannot save the ban of {} to {}: {}".format(address, self.path, exc))
        self._notify(NOTIFICATION_BAN, "Banning IP address",
                     "Too many login attempts from {}".format(address))

    def _notify(self, notification_id, title, message):
        # A state machine full of entities refuses a new notification; that
        # must cost the notification only, not the 401 or the count.
        try:
            self.hub.notify(notification_id, title, message)
        except ValueError as exc:
            _log.error("cannot raise the {} notification: {}".format(notification_id, exc))
