"""Over-the-air update of ugate on a board: a new .mpy tree arrives file by
file (in pieces no larger than a request body may be) in the update slot
that is not running (board_boot), is checked against the SHA-256 of every
file, and runs on trial from the next boot; board_boot rolls it back when
it does not come up. Loaded on the first update request only."""
import asyncio
import hashlib
import json
import os

import board_boot
from ugate.base import compat, log
from ugate.http.responses import json_error, json_message, json_response

_log = log.get("board")
#: The update slot being written, once begun.
_slot = []

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
    # Modules, and the web page's gzipped files (ugate/faces/page/*.gz).
    if (not path.endswith((".mpy", ".gz")) or path.startswith("/") or ".." in path or "//" in path
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


def handle(request, step):
    """The update API (board_appliance routes its requests here): POST
    /api/ugate/update begins, PUT .../files/<path>?offset=N writes, POST
    .../commit checks and restarts. The owner's alone: it replaces the code."""
    if not request.g.user.is_owner:
        return json_message("Only the owner may do this.", 403)
    if step == "" and request.method == "POST":
        _slot[:] = [begin()]
        return json_response({"slot": _slot[0]})
    if not (step == "commit" and request.method == "POST" or
            step.startswith("files/") and request.method == "PUT"):
        return json_error(404, "no such update step: {} /api/ugate/update/{}".format(request.method, step))
    if not _slot:
        return json_error(409, "begin the update first: POST /api/ugate/update")
    try:
        if step == "commit":
            commit(_slot[0], json.loads(request.body or b"{}").get("files"))
        else:
            size = write(_slot[0], step[6:], int(request.args.get("offset", "0")), request.body or b"")
            return json_response({"path": step[6:], "size": size})
    except (ValueError, AttributeError) as exc:  # UpdateError, a bad offset or manifest
        return json_error(400, str(exc))
    _log.warning("update in {} checked; restarting to try it".format(_slot[0]))
    asyncio.create_task(board_boot.reset_soon())
    return json_response({"slot": _slot[0], "restarting": True})
