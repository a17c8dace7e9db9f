"""Copy ugate to a board running MicroPython, over its serial port, with mpremote.

    python tools/deploy.py --port /dev/ttyUSB0 [--board esp32] [--config config.json]
                           [--wifi wifi.json] [--token] [--frozen] [--install auto|files|romfs]
                           [--resume] [--no-reset]

It builds build/<board>/ (tools/build.py) and copies it to the board's
flash root, then the gateway's files to /ugate-data/ (what boot.py and main.py
read), then resets the board so it boots into the gateway:

    /main.py /boot.py /board.json /lib/...   the build tree
    /ugate-data/config.json                  --config, checked here first
    /ugate-data/wifi.json                    --wifi: {"ssid": "...", "password": "..."}
    /ugate-data/<token store>                --token: a new owner token, printed here
    /ugate-data/boot.json                    a fresh boot record: lib/ as deployed runs

mpremote skips files the board already has unchanged, so a redeploy is quick.
When the board's MicroPython has a ROMFS partition that holds the tree's
image (`mpremote romfs query`), lib/ goes there instead (`romfs deploy`):
its code then runs from flash and takes no heap. mpremote's own output (each
file, the ROMFS write progress) is shown as it goes.
"""
import re
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build  # noqa: E402  (tools/build.py)

from ugate import config as config_mod  # noqa: E402
from ugate.hub.tokens import TokenStore  # noqa: E402


class DeployError(Exception):
    pass


def mpremote():
    exe = shutil.which("mpremote", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        raise DeployError("no 'mpremote' executable (pip install mpremote)")
    return exe


def _read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as exc:
        raise DeployError("cannot read {} {}: {}".format(what, path, exc.strerror or exc))
    except ValueError as exc:
        raise DeployError("{} {}: not valid JSON ({})".format(what, path, exc))


def stage(staging, config=None, wifi=None, token=False):
    """Write the gateway's files for /ugate-data/ into `staging` (checked the way
    the gateway will read them); returns the new owner token or None."""
    os.makedirs(staging, exist_ok=True)
    if config:
        shutil.copy(config, os.path.join(staging, "config.json"))
        try:
            config_mod.load(staging)
        except config_mod.ConfigError as exc:
            raise DeployError(str(exc).replace(os.path.join(staging, "config.json"), config))
    if wifi:
        data = _read_json(wifi, "Wi-Fi file")
        if not (isinstance(data, dict) and isinstance(data.get("ssid"), str)
                and isinstance(data.get("password"), str)):
            raise DeployError('Wi-Fi file {}: expected {{"ssid": "...", "password": "..."}}'.format(wifi))
        shutil.copy(wifi, os.path.join(staging, "wifi.json"))
    return TokenStore(staging).create("owner") if token else None


def _connect(port, resume):
    return [mpremote(), "connect", port] + (["resume"] if resume else [])


def romfs_size(port, resume=False):
    """The size in bytes of the board's first ROMFS partition; 0 when its
    MicroPython has none (the stock ESP32, ESP32-S3 and Pico W builds)."""
    r = subprocess.run(_connect(port, resume) + ["romfs", "query"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if r.returncode:
        raise DeployError("mpremote romfs query failed ({}):\n{}{}".format(r.returncode, r.stdout, r.stderr))
    found = re.search(r"ROMFS0 partition has size (\d+) bytes", r.stdout)
    return int(found.group(1)) if found else 0


def flash_root(install):
    """What of the tree goes to the flash root, installed as `install` says:
    "files", "romfs" (lib/ goes to the ROMFS partition instead) or "frozen"
    (the firmware has the code)."""
    modules = [] if install == "frozen" else [name[:-len(".py")] + ".mpy" for name in build.ROOT_MODULES]
    return ["main.py", "boot.py", "board.json"] + modules + (["lib"] if install == "files" else [])


def commands(port, tree, staging, frozen=False, resume=False, reset=True, romfs=False):
    """The mpremote command line: one connection, commands joined by '+'.
    Remote paths are relative to the REPL's working directory, the flash
    root on a board. With `romfs` lib/ goes to the ROMFS partition as the
    tree's image."""
    names = flash_root("frozen" if frozen else "romfs" if romfs else "files")
    argv = _connect(port, resume)
    if romfs:
        argv += ["romfs", "deploy", os.path.join(tree, build.ROMFS_IMAGE), "+"]
    argv += ["cp", "-r"] + [os.path.join(tree, n) for n in names] + [":."]
    if os.listdir(staging):
        argv += ["+", "cp", "-r", staging.rstrip(os.sep), ":."]
    if reset:
        argv += ["+", "reset"]
    return argv


def use_romfs(install, port, tree, resume=False):
    """Whether lib/ goes to the ROMFS partition: `install` is "files",
    "romfs" (DeployError when the board cannot take the image) or "auto"."""
    if install == "files":
        return False
    size, image = romfs_size(port, resume), os.path.getsize(os.path.join(tree, build.ROMFS_IMAGE))
    if image <= size:
        return True
    if install == "romfs":
        raise DeployError("the ROMFS image ({} bytes) needs a ROMFS partition of at least that size; the board "
                          "has {} (see README, Board matrix)".format(image, size or "none"))
    return False


def deploy(port, board="esp32", config=None, wifi=None, token=False, frozen=False,
           resume=False, reset=True, install="auto"):
    """Build, stage and copy; returns the new owner token (or None)."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = os.path.join(tmp, "ugate-data")  # its name is the remote directory's
        new_token = stage(staging, config, wifi, token)
        # A fresh boot record: the deployed lib/ runs (not a slot an earlier
        # update left), and no failed boot is counted.
        with open(os.path.join(staging, "boot.json"), "w") as f:
            json.dump({"slot": "lib", "failed_boots": 0}, f)
        tree = build.build(board)
        romfs = not frozen and use_romfs(install, port, tree, resume)
        print("installing ugate {}".format("into the ROMFS partition" if romfs else "frozen" if frozen
                                            else "as .mpy files in /lib"), flush=True)
        argv = commands(port, tree, staging, frozen, resume, reset, romfs)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
        if r.returncode:
            raise DeployError("mpremote failed ({}):\n{}".format(r.returncode, r.stderr))
    return new_token


def main(argv=None):
    p = argparse.ArgumentParser(description="Build ugate for a board and copy it, its config and Wi-Fi "
                                "files to the board with mpremote, then reset it.")
    p.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0 or /dev/ttyACM0")
    p.add_argument("--board", default="esp32", help="a board file in boards/ without .json (default esp32)")
    p.add_argument("--config", help="the gateway's config.json (checked before copying)")
    p.add_argument("--wifi", help='wifi.json: {"ssid": "...", "password": "..."}, joined by boot.py')
    p.add_argument("--token", action="store_true", help="create an owner access token, print it and copy "
                   "the token store (replaces the tokens on the board)")
    p.add_argument("--frozen", action="store_true", help="the firmware has ugate frozen in "
                   "(firmware/manifest.py): copy main.py, boot.py and the files only")
    p.add_argument("--install", choices=["auto", "files", "romfs"], default="auto", help="where lib/ goes: "
                   "the ROMFS partition when the board has one that holds the image (auto, the default), "
                   "always the filesystem (files), or the ROMFS partition or an error (romfs)")
    p.add_argument("--resume", action="store_true", help="do not soft-reset the board before copying "
                   "(needed for the MicroPython unix port, which exits on a soft reset)")
    p.add_argument("--no-reset", dest="reset", action="store_false", help="do not reset the board "
                   "afterwards (the unix port has no machine.reset)")
    args = p.parse_args(argv)
    try:
        token = deploy(args.port, args.board, args.config, args.wifi, args.token, args.frozen,
                       args.resume, args.reset, args.install)
    except (DeployError, build.BuildError) as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 2
    print("deployed ugate for {} to {}".format(args.board, args.port))
    if token:
        print("Owner long-lived access token (shown once, stored hashed):")
        print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
