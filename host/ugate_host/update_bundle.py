"""The update bundle: what an over-the-air update sends, as one file a
browser can pick: a board's lib/, and the same as a ROMFS image (the last
file, `romfs.img`) for a board that runs from its ROMFS partition, which
takes the image alone. tools/build.py writes it as
build/<board>/ugate-update.bin; `ugate ota` and the web page's Update
control read it. Its format (README "Over-the-air update"):

    ugate-update 1\\n                  the first line: what it is, format 1
    {"board": "esp32", "board_name": "ESP32 (generic WROOM-32)",
     "version": "0.1.0", "files": [{"path": "ugate/app.mpy",
     "size": 1234, "sha256": "<hex>"}, ...]}\\n   one line of JSON
    the files' bytes, in the order of "files", one after another

`board_name` is the `name` of the board's file in boards/, which a board
reports in its status (GET /api/ugate/board, "board"): an update for
another board is refused before anything is sent.
"""
import hashlib
import json
import os

MAGIC = b"ugate-update 1\n"
FILE_NAME = "ugate-update.bin"
#: The bundle's file that is lib/ as a ROMFS image.
IMAGE = "romfs.img"


class BundleError(ValueError):
    pass


def tree_files(lib):
    """[(path relative to lib/ with '/', bytes)] of the tree, in a stable order."""
    out = []
    for d, _, names in sorted(os.walk(lib)):
        for name in sorted(names):
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                out.append((os.path.relpath(path, lib).replace(os.sep, "/"), f.read()))
    return out


def pack(files, board, board_name, version):
    """The bundle of `files` ([(path, bytes)]) as bytes."""
    header = {"board": board, "board_name": board_name, "version": version,
              "files": [{"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                        for path, data in files]}
    return b"".join([MAGIC, json.dumps(header).encode(), b"\n"] + [data for _, data in files])


def for_board(header, files, image):
    """(header entries, files) of what a board takes: the ROMFS image alone
    where it runs from its ROMFS partition (`image`, as the board's answer
    to the update's beginning says), the tree otherwise."""
    entries = [f for f in header["files"] if (f["path"] == IMAGE) == bool(image)]
    if not entries:
        raise BundleError("the board runs from its ROMFS partition and takes an image, which this bundle has not"
                          if image else "the bundle holds no tree of .mpy files")
    return entries, [(path, data) for path, data in files if (path == IMAGE) == bool(image)]


def sums(entries):
    """The SHA-256 sums of the header's `entries` as a board checks them (as
    sha256sum writes them: `<hex>  <path>`, a line a file, in order of path)."""
    return "".join("{}  {}\n".format(f["sha256"], f["path"])
                   for f in sorted(entries, key=lambda f: f["path"])).encode()


def write(lib, image, out, board, board_name, version):
    """Write the bundle of the tree `lib` and its ROMFS image (the file
    `image`) to the file `out`; returns its size."""
    with open(image, "rb") as f:
        data = pack(tree_files(lib) + [(IMAGE, f.read())], board, board_name, version)
    with open(out, "wb") as f:
        f.write(data)
    return len(data)


def unpack(data):
    """(header, [(path, bytes)]) of a bundle, each file checked against its
    size and SHA-256; BundleError says what is wrong."""
    if not data.startswith(MAGIC):
        raise BundleError("not a ugate update bundle (it does not start with 'ugate-update 1')")
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):end]) if end > 0 else None
        entries = [(f["path"], int(f["size"]), f["sha256"]) for f in header["files"]]
    except (ValueError, TypeError, KeyError):
        raise BundleError("the bundle's header is not the JSON line it should be")
    files, at = [], end + 1
    for path, size, digest in entries:
        piece = data[at:at + size]
        if len(piece) != size:
            raise BundleError("the bundle ends inside {}: is it cut short?".format(path))
        if hashlib.sha256(piece).hexdigest() != digest:
            raise BundleError("{} in the bundle does not match its SHA-256".format(path))
        files.append((path, piece))
        at += size
    if at != len(data):
        raise BundleError("{} bytes after the bundle's last file".format(len(data) - at))
    return header, files


def read(path):
    with open(path, "rb") as f:
        return unpack(f.read())
