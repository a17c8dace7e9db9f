"""The Hono device registry of one gateway: tenants, devices and
credentials, in `<config_dir>/hono_registry.json` (managed with
`ugate hono ...`, readable and editable by hand; passwords appear only as
hashes). The file is checked as a whole when the gateway starts (a bad entry
stops the start with its key named) and re-read when it changes while the
gateway runs (a bad edit is logged and the previous registry kept).

The layout follows Hono's Tenant, Device Registration and Credentials APIs:

    {"tenants": {"DEFAULT_TENANT": {"enabled": true,
                                    "adapters": [{"type": "hono-http", "enabled": true}],
                                    "ext": {"max-ttd": 60},
                                    "resource-limits": {"max-ttl": 86400},
                                    "defaults": {"content-type": "application/json"}}},
     "devices": {"DEFAULT_TENANT": {"4711": {"enabled": true, "via": [], "defaults": {}}}},
     "credentials": {"DEFAULT_TENANT": [
         {"auth-id": "sensor1", "type": "hashed-password", "device-id": "4711", "enabled": true,
          "secrets": [{"hash-function": "sha-256", "salt": "...", "pwd-hash": "...",
                       "not-before": "2026-01-01T00:00:00+00:00", "not-after": null}]}]}}
"""
from ugate import HONO_REGISTRY
from ugate.base import compat, dates, log, store
from ugate.base.validation import ConfigError, Invalid, boolean, integer, mapping, optional, string
from ugate.base.watched import WatchedFile
from ugate.sources.hono import passwords

_log = log.get("hono.registry")

ADAPTER_TYPE = "hono-http"
#: Seconds a device may wait for a command when its tenant sets no max-ttd.
DEFAULT_MAX_TTD = 60


class RegistryError(ConfigError):
    """A bad registry: stops the start like a bad config.json."""


# Checks of one entry each (ugate.base.validation); `where` names the entry
# in the message, Invalid's own text: 'tenants.T.enabled: expected true or false'.

def _flag(obj, key, where):
    """An `enabled` flag: true unless it says false."""
    return boolean(obj.get(key, True), where + "." + key)


def _ids(value, where):
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid(where, "expected a list of device ids", value)


def _check_tenant(tenant, where):
    mapping(tenant, where)
    _flag(tenant, "enabled", where)
    adapters = tenant.get("adapters")
    if adapters is not None:
        if not isinstance(adapters, list):
            raise Invalid(where + ".adapters", "expected a list of {\"type\": ..., \"enabled\": ...}",
                          adapters)
        for i, adapter in enumerate(adapters):
            mapping(adapter, "{}.adapters[{}]".format(where, i))
            _flag(adapter, "enabled", "{}.adapters[{}]".format(where, i))
    for section, key in (("ext", "max-ttd"), ("resource-limits", "max-ttl")):
        value = mapping(tenant.get(section, {}), where + "." + section).get(key)
        optional(integer(0))(value, "{}.{}.{}".format(where, section, key))
    mapping(tenant.get("defaults", {}), where + ".defaults")


def _check_device(device, where):
    mapping(device, where)
    _flag(device, "enabled", where)
    _ids(device.get("via", []), where + ".via")
    mapping(device.get("defaults", {}), where + ".defaults")


def _check_secret(secret, where):
    mapping(secret, where)
    _flag(secret, "enabled", where)
    function = secret.get("hash-function", "sha-256")
    reason = passwords.unsupported(function)
    if reason:
        raise Invalid(where + ".hash-function", reason, function)
    if not isinstance(secret.get("pwd-hash"), str) or not secret["pwd-hash"]:
        raise Invalid(where + ".pwd-hash", "expected the password hash", secret.get("pwd-hash"))
    if function != "bcrypt":
        try:
            compat.b64decode(secret.get("salt") or "")
            compat.b64decode(secret["pwd-hash"])
        except ValueError:
            raise Invalid(where, "salt and pwd-hash must be base64")
    for key in ("not-before", "not-after"):
        if secret.get(key) is not None:
            try:
                dates.parse(secret[key])
            except ValueError as exc:
                raise Invalid(where + "." + key, str(exc), secret[key])


def _check_credential(cred, where):
    mapping(cred, where)
    for key in ("auth-id", "device-id"):
        string(cred.get(key), where + "." + key)
    if cred.get("type", "hashed-password") != "hashed-password":
        raise Invalid(where + ".type", "only hashed-password credentials are supported", cred["type"])
    _flag(cred, "enabled", where)
    secrets = cred.get("secrets")
    if not isinstance(secrets, list):
        raise Invalid(where + ".secrets", "expected a list of secrets", secrets)
    for i, secret in enumerate(secrets):
        _check_secret(secret, "{}.secrets[{}]".format(where, i))


def _check(data):
    mapping(data, "registry")
    for key in data:
        if key not in ("tenants", "devices", "credentials"):
            raise Invalid(key, "unknown section (tenants, devices, credentials)")
    tenants = mapping(data.get("tenants", {}), "tenants")
    for tid in tenants:
        _check_tenant(tenants[tid], "tenants." + tid)
    devices = mapping(data.get("devices", {}), "devices")
    for tid in devices:
        for did, device in mapping(devices[tid], "devices." + tid).items():
            _check_device(device, "devices.{}.{}".format(tid, did))
    credentials = mapping(data.get("credentials", {}), "credentials")
    for tid in credentials:
        if not isinstance(credentials[tid], list):
            raise Invalid("credentials." + tid, "expected a list of credentials", credentials[tid])
        seen = []
        for i, cred in enumerate(credentials[tid]):
            where = "credentials.{}[{}]".format(tid, i)
            _check_credential(cred, where)
            if cred["auth-id"] in seen:
                raise Invalid(where + ".auth-id", "{} is listed twice".format(cred["auth-id"]))
            seen.append(cred["auth-id"])


def validate(data):
    """Check a parsed registry; RegistryError names the first bad entry."""
    try:
        _check(data)
    except Invalid as exc:
        raise RegistryError(str(exc))
    return data


def empty():
    return {"tenants": {}, "devices": {}, "credentials": {}}


def _read(path):
    """The registry file, checked; an empty registry when there is none."""
    try:
        data = store.read_json(path, None)
    except ValueError:  # UnicodeError is a ValueError
        raise RegistryError("{}: not valid JSON".format(path))
    try:
        return validate(data if data is not None else empty())
    except RegistryError as exc:
        raise RegistryError("{}: {}".format(path, exc))


def _bad_edit(exc):
    _log.error("{}; keeping the registry loaded before".format(exc))


class Registry:
    def __init__(self, config_dir):
        self.path = store.join(config_dir, HONO_REGISTRY)
        self._file = WatchedFile(self.path, _read, RegistryError, _bad_edit)
        self._stand_ins = (None, {})  # (the registry content, {tenant id: secret})

    def load(self):
        """Read and check the file now; RegistryError when it is bad."""
        return self._file.read()

    @property
    def data(self):
        return self._file.content()

    # Lookups.

    def tenant(self, tenant_id):
        return self.data.get("tenants", {}).get(tenant_id)

    def device(self, tenant_id, device_id):
        return self.data.get("devices", {}).get(tenant_id, {}).get(device_id)

    def device_elsewhere(self, device_id):
        """Whether some tenant has a device with this id."""
        return any(device_id in devices for devices in self.data.get("devices", {}).values())

    def credential(self, tenant_id, auth_id):
        return _credential(self.data, tenant_id, auth_id)

    async def check_password(self, tenant_id, auth_id, password):
        """The device id the credentials belong to, or None when they are
        unknown, disabled or no currently valid secret matches. Credentials
        that cannot match (unknown, disabled, expired) are checked against a
        stand-in secret instead: every answer costs a hash, so the time it
        takes does not tell which auth-ids exist."""
        cred = self.credential(tenant_id, auth_id)
        secrets = []
        if cred is not None and cred.get("enabled") is not False:
            now = compat.now_us()
            secrets = [s for s in cred["secrets"] if _valid_at(s, now)]
        if not secrets:
            await passwords.matches(self._stand_in(tenant_id), password)
            return None
        ok = False
        for secret in secrets:
            ok = await passwords.matches(secret, password) or ok
        return cred["device-id"] if ok else None

    def _stand_in(self, tenant_id):
        """The costliest secret of the tenant (of the whole registry for an
        unknown tenant): what a known auth-id's check costs at most."""
        data = self.data
        if self._stand_ins[0] is not data:
            self._stand_ins = (data, {})
        cache = self._stand_ins[1]
        if tenant_id not in cache:
            creds = data.get("credentials", {})
            tenants = [tenant_id] if creds.get(tenant_id) else list(creds)
            secrets = [s for t in tenants for c in creds[t] for s in c["secrets"]]
            cache[tenant_id] = max(secrets, key=passwords.cost) if secrets else _STAND_IN
        return cache[tenant_id]

    # Changes (the CLI): each is made to the file as it is now, one writer
    # at a time across processes, and checks the whole registry before saving.

    def _update(self, change):
        def checked(data):
            change(data)
            validate(data)
        self._file.update(checked)

    def set_tenant(self, tenant_id, enabled=True, max_ttd=None, max_ttl=None, adapter_enabled=None):
        def change(data):
            tenant = data.setdefault("tenants", {}).setdefault(tenant_id, {})
            tenant["enabled"] = enabled
            if max_ttd is not None:
                tenant.setdefault("ext", {})["max-ttd"] = max_ttd
            if max_ttl is not None:
                tenant.setdefault("resource-limits", {})["max-ttl"] = max_ttl
            if adapter_enabled is not None:
                tenant["adapters"] = [{"type": ADAPTER_TYPE, "enabled": adapter_enabled}]
        self._update(change)

    def set_device(self, tenant_id, device_id, enabled=True, via=None, defaults=None):
        def change(data):
            if tenant_id not in data.get("tenants", {}):
                raise RegistryError("no tenant {}".format(tenant_id))
            device = data.setdefault("devices", {}).setdefault(tenant_id, {}).setdefault(device_id, {})
            device["enabled"] = enabled
            if via is not None:
                device["via"] = via
            if defaults is not None:
                device["defaults"] = defaults
        self._update(change)

    def add_secret(self, tenant_id, device_id, auth_id, secret, only_new=False):
        """Add `secret` to the credentials `auth_id` (created for
        `device_id` when new); with `only_new`, leave existing ones alone."""
        def change(data):
            if device_id not in data.get("devices", {}).get(tenant_id, {}):
                raise RegistryError("no device {} in tenant {}".format(device_id, tenant_id))
            cred = _credential(data, tenant_id, auth_id)
            if cred is None:
                cred = compat.OrderedDict()
                cred["auth-id"] = auth_id
                cred["type"] = "hashed-password"
                cred["device-id"] = device_id
                cred["enabled"] = True
                cred["secrets"] = []
                data.setdefault("credentials", {}).setdefault(tenant_id, []).append(cred)
            elif cred["device-id"] != device_id:
                raise RegistryError("auth-id {} belongs to device {}".format(auth_id, cred["device-id"]))
            elif only_new:
                return
            cred["secrets"].append(secret)
        self._update(change)

    def remove(self, tenant_id, device_id=None, auth_id=None):
        """Remove credentials (auth_id), a device and its credentials
        (device_id) or a whole tenant."""
        def change(data):
            creds = data.get("credentials", {}).get(tenant_id, [])
            if auth_id is not None:
                kept = [c for c in creds if c["auth-id"] != auth_id]
                if len(kept) == len(creds):
                    raise RegistryError("no credentials {} in tenant {}".format(auth_id, tenant_id))
                data["credentials"][tenant_id] = kept
            elif device_id is not None:
                if device_id not in data.get("devices", {}).get(tenant_id, {}):
                    raise RegistryError("no device {} in tenant {}".format(device_id, tenant_id))
                del data["devices"][tenant_id][device_id]
                if tenant_id in data.get("credentials", {}):
                    data["credentials"][tenant_id] = [c for c in creds if c["device-id"] != device_id]
            else:
                if tenant_id not in data.get("tenants", {}):
                    raise RegistryError("no tenant {}".format(tenant_id))
                for section in ("tenants", "devices", "credentials"):
                    data.get(section, {}).pop(tenant_id, None)
        self._update(change)


#: The stand-in of a registry without secrets.
_STAND_IN = passwords.make_secret("-")


def _valid_at(secret, now):
    """Whether `secret` may be used at `now` (enabled, within its dates)."""
    if secret.get("enabled") is False:
        return False
    if secret.get("not-before") and dates.parse(secret["not-before"]) > now:
        return False
    return not (secret.get("not-after") and dates.parse(secret["not-after"]) < now)


def _credential(data, tenant_id, auth_id):
    for cred in data.get("credentials", {}).get(tenant_id, ()):
        if cred["auth-id"] == auth_id:
            return cred
    return None


def adapter_enabled(tenant):
    """Whether the tenant may use this adapter: when `adapters` is listed,
    only a listed, enabled hono-http counts."""
    adapters = tenant.get("adapters")
    if adapters is None:
        return True
    for adapter in adapters:
        if adapter.get("type") == ADAPTER_TYPE:
            return adapter.get("enabled", True) is not False
    return False


def max_ttd(tenant):
    value = tenant.get("ext", {}).get("max-ttd")
    return DEFAULT_MAX_TTD if value is None else value
