"""Over-the-air update of ugate on a board: a new .mpy tree arrives file by
file (in pieces no larger than a request body may be) in the update slot
that is not running (board_boot), is checked against the SHA-256 of every
file, and runs on trial from the next boot; board_boot rolls it back when
it does not come up. A board that runs from its ROMFS partition takes a
ROMFS image instead, one file (board_rom). Loaded on the first update
request only."""
import asyncio
import hashlib
import os

import board_boot
from ugate.base import compat, log, store
from ugate.http.responses import json_error, json_message, json_response

_log = log.get("board")
#: The update slot being written, once begun.
_slot = []

#: The largest piece of a file a client sends at once (the answer to the
#: update's beginning says it): a body the board holds whole, so its
#: `limits.max_body_bytes` lowers it.
PIECE = 4096
#: Beside the slot: its files' SHA-256 sums, as sent.
SUMS = ".sums"
#: What a path in the tree may be: a module under lib/, nothing else.
PATH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_./"
#: The one file of an update that is a ROMFS image.
IMAGE = board_boot.IMAGE


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
    # Modules, the web page's gzipped files (ugate/faces/page/*.gz), or an image.
    if path != IMAGE and (not path.endswith((".mpy", ".gz")) or path.startswith("/") or ".." in path
                          or "//" in path or not compat.only(path.lower(), PATH_CHARS)):
        raise UpdateError("not a module path of the tree: {}".format(path))
    return path


def begin():
    """Empty the update slot (and forget its sums); returns its name."""
    slot = board_boot.update_slot(board_boot.load())
    _remove_tree(slot)
    try:
        os.remove(slot + SUMS)
    except OSError:
        pass
    os.mkdir(slot)
    return slot


def write(target, offset, data):
    """Write `data` at `offset` of the file `target` (in a directory that
    exists): 0 starts the file, and each next piece starts where the file
    ends. Returns its size."""
    if offset == 0:
        mode = "wb"
    else:
        try:
            size = os.stat(target)[6]
        except OSError:
            size = -1
        if size != offset:
            raise UpdateError("{} has {} bytes, not {}: send it again from 0".format(
                target.split("/", 1)[-1], max(size, 0), offset))
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


def _walk(path, prefix=""):
    """The paths of the files under `path`, one at a time."""
    for entry in os.ilistdir(path):
        name = prefix + entry[0]
        if entry[1] == 0x4000:
            yield from _walk(path + "/" + entry[0], name + "/")
        else:
            yield name


def commit(slot):
    """Check `slot` as written to flash against its SHA-256 sums (`<slot>.sums`,
    as sha256sum writes them, one line a file of the whole tree, in order of
    path), then run it on trial from the next boot. Read a line and a file
    at a time: the sums of a tree are larger than a request a board takes."""
    sums, count, last, image = slot + SUMS, 0, "", False
    try:
        f = open(sums)
    except OSError:
        raise UpdateError("send the SHA-256 sums first: PUT /api/ugate/update/sums")
    with f:
        for line in f:
            digest, _, path = line.rstrip("\n").partition("  ")
            if path <= last:
                raise UpdateError("the sums are not one line a file in order of path: {}".format(line.strip()))
            last, image = path, image or path == IMAGE
            count += 1
            try:
                actual = _sha256(slot + "/" + check_path(path))
            except OSError:
                raise UpdateError("{} was not sent".format(path))
            if actual != digest.lower():
                raise UpdateError("{} does not match its SHA-256".format(path))
    if count == 0:
        raise UpdateError("the sums list no file")
    files = sum(1 for _ in _walk(slot))
    if files != count:  # each line's file is there: the others are not in the sums
        raise UpdateError("{} files not in the sums (the slot holds {}, the sums list {})".format(
            files - count, files, count))
    if takes_image() != (image and count == 1):
        raise UpdateError("this board runs from its ROMFS partition: send its image, {}, alone".format(IMAGE)
                          if takes_image() else "this board takes a tree of .mpy files, not a ROMFS image")
    if image:
        import board_rom
        kept = board_boot.load()["rom"]  # the running image, which a roll back needs
        wrong = board_rom.check(slot + "/" + IMAGE, kept is not None and not board_boot.holds_image(kept))
        if wrong:
            raise UpdateError(wrong)
    board_boot.try_update(slot)


def takes_image():
    """Whether the board runs ugate from an image in its ROMFS partition
    (mounted at /rom), which an update then replaces."""
    return store.exists("/rom/ugate")


def handle(request, step):
    """The update API (board_appliance routes its requests here): POST
    /api/ugate/update begins (and says how large a piece may be), PUT
    .../files/<path>?offset=N writes a piece of a file, PUT .../sums?offset=N
    one of the SHA-256 sums, POST .../commit checks and restarts. The
    owner's alone: it replaces the code."""
    if not request.g.user.is_owner:
        return json_message("Only the owner may do this.", 403)
    if step == "" and request.method == "POST":
        _slot[:] = [begin()]
        return json_response({"slot": _slot[0], "piece": min(PIECE, request.max_body_length),
                              "image": takes_image()})
    if not (step == "commit" and request.method == "POST" or
            (step.startswith("files/") or step == "sums") and request.method == "PUT"):
        return json_error(404, "no such update step: {} /api/ugate/update/{}".format(request.method, step))
    if not _slot:
        return json_error(409, "begin the update first: POST /api/ugate/update")
    try:
        if step == "commit":
            commit(_slot[0])
        else:
            offset, data = int(request.args.get("offset", "0")), request.body or b""
            if step == "sums":
                return json_response({"path": step, "size": write(_slot[0] + SUMS, offset, data)})
            target = _slot[0] + "/" + check_path(step[6:])
            if offset == 0:
                _makedirs(target.rsplit("/", 1)[0])
            return json_response({"path": step[6:], "size": write(target, offset, data)})
    except ValueError as exc:  # UpdateError, a bad offset
        return json_error(400, str(exc))
    _log.warning("update in {} checked; restarting to try it".format(_slot[0]))
    asyncio.create_task(board_boot.reset_soon())
    return json_response({"slot": _slot[0], "restarting": True})
