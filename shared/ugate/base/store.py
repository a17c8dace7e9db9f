"""Files that survive a power cut: whole-file writes go to a temporary file
that is renamed over the old one, so a reader sees the old or the new file,
never half of one. (Files that several processes change are changed with
`ugate.base.lockfile`.)"""
import json
import os

try:
    from os import chmod
except ImportError:  # MicroPython: a board's filesystem has no permissions
    def chmod(path, mode):
        pass


def join(*parts):
    return "/".join(p.rstrip("/") for p in parts if p)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def signature(path):
    """(modification time, size) of a file, None when it does not exist:
    enough to notice that another process rewrote it."""
    try:
        st = os.stat(path)
        return st[8], st[6]
    except OSError:
        return None


def makedirs(path):
    part = ""
    for name in path.split("/"):
        part = part + "/" + name if part or path.startswith("/") else name
        if part and not exists(part):
            os.mkdir(part)


def read_text(path):
    with open(path) as f:
        return f.read()


def write_atomic(path, text, private=False):
    """Write `text`, a str or an iterable of str chunks (large documents are
    written as they are produced, never held whole). A `private` file (one
    holding secrets or their hashes) is made owner-only before anything is
    written to it."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        if private:
            chmod(tmp, 0o600)
        if isinstance(text, str):
            f.write(text)
        else:
            for chunk in text:
                f.write(chunk)
    os.rename(tmp, path)


def read_json(path, default=None):
    """The parsed file, or `default` when it does not exist. Invalid JSON
    raises ValueError. Parsed from the stream: the file's text is never
    held whole (MicroPython's json.load reads as it parses)."""
    try:
        f = open(path)
    except OSError:
        return default
    with f:
        return json.load(f)


def write_json(path, obj, private=False):
    write_atomic(path, json.dumps(obj), private)


def append(path, text):
    with open(path, "a") as f:
        f.write(text)
