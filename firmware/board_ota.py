"""Over-the-air update of ugate on a board: a new .mpy tree arrives file by
file (in pieces no larger than a request body may be) in the update slot
that is not running (board_boot), is checked against the SHA-256 of every
file, and runs on trial from the next boot; board_boot rolls it back when
it does not come up. Loaded on the first update request only."""
import hashlib
import os

import board_boot
from ugate.base import compat

#: What a path in the tree may be: a module under lib/, nothing else.
PATH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_./"


class UpdateError(ValueError):
    pass


def _remove_tree(path):
    try:
        entries = list(os.ilistdir(path))
    except OSError:
        return
    for entry in entries:
        child = path + "/" + entry[0]
        if entry[1] == 0x4000:
            _remove_tree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def _makedirs(path):
    done = ""
    for part in path.split("/"):
        done = done + "/" + part if done else part
        try:
            os.mkdir(done)
        except OSError:
            pass  # there already


def check_path(path):
    if (not path.endswith(".mpy") or path.startswith("/") or ".." in path or "//" in path
            or any(c not in PATH_CHARS for c in path.lower())):
        raise UpdateError("not a module path of the tree: {}".format(path))
    return path


def begin():
    """Empty the update slot; returns its name."""
    slot = board_boot.update_slot(board_boot.load())
    _remove_tree(slot)
    os.mkdir(slot)
    return slot


def write(slot, path, offset, data):
    """Write `data` at `offset` of `path` in `slot`: 0 starts the file, and
    each next piece starts where the file ends. Returns the file's size."""
    target = slot + "/" + check_path(path)
    if offset == 0:
        _makedirs(target.rsplit("/", 1)[0])
        mode = "wb"
    else:
        try:
            size = os.stat(target)[6]
        except OSError:
            size = -1
        if size != offset:
            raise UpdateError("{} has {} bytes, not {}: send it again from 0".format(path, max(size, 0), offset))
        mode = "ab"
    with open(target, mode) as f:
        f.write(data)
    return offset + len(data)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            piece = f.read(1024)
            if not piece:
                return compat.hexlify(h.digest())
            h.update(piece)


def _files(path, prefix=""):
    out = []
    for entry in os.ilistdir(path):
        name = prefix + entry[0]
        if entry[1] == 0x4000:
            out += _files(path + "/" + entry[0], name + "/")
        else:
            out.append(name)
    return out


def commit(slot, manifest):
    """Check `slot` against `manifest` ({path: sha256 hex}, the whole tree)
    as written to flash, then run it on trial from the next boot."""
    if not isinstance(manifest, dict) or not manifest:
        raise UpdateError("expected {\"files\": {\"<path>\": \"<sha256>\", ...}}")
    extra = [p for p in _files(slot) if p not in manifest]
    if extra:
        raise UpdateError("files not in the manifest: {}".format(", ".join(sorted(extra))))
    for path, digest in manifest.items():
        try:
            actual = _sha256(slot + "/" + check_path(path))
        except OSError:
            raise UpdateError("{} was not sent".format(path))
        if actual != str(digest).lower():
            raise UpdateError("{} does not match its SHA-256".format(path))
    board_boot.try_update(slot)
