"""`ugate hono ...`: the Hono registry (`<config-dir>/hono_registry.json`).

Passwords are read from stdin (one line) or, on a terminal, from a prompt,
never from the command line (where `ps` and shell history would show
them); only their hash is written. A running gateway notices the change.
"""
import getpass
import json
import os
import sys

from ugate.base import dates
from ugate.sources.hono import passwords
from ugate.sources.hono.registry import Registry, RegistryError

#: Hono's demo: tenant DEFAULT_TENANT, device 4711 (sensor1 / hono-secret),
#: gateway gw-1 (gw1 / gw-secret) and device 4712 behind it.
DEMO = (("4711", "sensor1", "hono-secret", []), ("gw-1", "gw1", "gw-secret", []),
        ("4712", None, None, ["gw-1"]))


def read_password(stdin=sys.stdin):
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise RegistryError("the passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise RegistryError("empty password")
    return password


def secret(password, function, not_before=None, not_after=None):
    s = passwords.make_secret(password, function)
    for key, value in (("not-before", not_before), ("not-after", not_after)):
        if value is not None:
            try:
                dates.parse(value)
            except ValueError as exc:
                raise RegistryError("--{}: {}".format(key, exc))
            s[key] = value
    return s


def run(args):
    os.makedirs(args.config_dir, mode=0o700, exist_ok=True)
    reg = Registry(args.config_dir)
    what = args.what
    if what == "tenant":
        reg.set_tenant(args.tenant, not args.disabled, args.max_ttd, args.max_ttl,
                       False if args.adapter_disabled else None)
    elif what == "device":
        reg.set_device(args.tenant, args.device, not args.disabled, args.via or None)
    elif what == "credential":
        reg.add_secret(args.tenant, args.device, args.auth_id,
                       secret(read_password(), args.hash_function, args.not_before, args.not_after))
    elif what == "remove":
        reg.remove(args.tenant, args.device, args.auth_id)
    elif what == "list":
        print(json.dumps(reg.load(), indent=2))
    elif what == "demo":
        reg.set_tenant("DEFAULT_TENANT")
        for device, auth_id, password, via in DEMO:
            reg.set_device("DEFAULT_TENANT", device, via=via or None)
            if auth_id:
                reg.add_secret("DEFAULT_TENANT", device, auth_id, passwords.make_secret(password),
                               only_new=True)


def add_parser(sub):
    hono = sub.add_parser("hono", help="manage the Hono registry (tenants, devices, credentials)",
                          description="The Hono device registry in DIR/hono_registry.json. Passwords "
                          "come from stdin or a prompt and are stored only as hashes.")
    hsub = hono.add_subparsers(dest="what", required=True, metavar="ACTION")
    tenant = hsub.add_parser("tenant", help="add or change a tenant")
    tenant.add_argument("tenant")
    tenant.add_argument("--disabled", action="store_true", help="reject all its devices' data")
    tenant.add_argument("--adapter-disabled", action="store_true",
                        help="list the HTTP adapter as disabled for the tenant")
    tenant.add_argument("--max-ttd", type=int, help="longest hono-ttd its devices may wait (default 60)")
    tenant.add_argument("--max-ttl", type=int, help="longest time to live of its events, seconds")
    device = hsub.add_parser("device", help="add or change a device")
    device.add_argument("tenant")
    device.add_argument("device")
    device.add_argument("--via", action="append", metavar="GATEWAY",
                        help="a gateway device allowed to publish for it (repeatable)")
    device.add_argument("--disabled", action="store_true")
    cred = hsub.add_parser("credential", help="add a hashed-password secret (password from stdin or a prompt)")
    cred.add_argument("tenant")
    cred.add_argument("device")
    cred.add_argument("auth_id", metavar="AUTH_ID")
    cred.add_argument("--hash-function", choices=passwords.FUNCTIONS, default="sha-256")
    cred.add_argument("--not-before", help="ISO 8601 time the secret becomes valid")
    cred.add_argument("--not-after", help="ISO 8601 time the secret expires")
    remove = hsub.add_parser("remove", help="remove a tenant, a device (with its credentials) or credentials")
    remove.add_argument("tenant")
    remove.add_argument("device", nargs="?")
    remove.add_argument("--auth-id", help="remove only these credentials")
    hsub.add_parser("list", help="print the registry (hashes only)")
    hsub.add_parser("demo", help="add Hono's demo tenant, devices and credentials")
    for sp in hsub.choices.values():
        sp.add_argument("--config-dir", required=True, help="the gateway's config directory")
    hono.set_defaults(func=run)
