"""Files that survive a power cut: whole-file writes go to a temporary file
that is renamed over the old one, so a reader sees the old or the new file,
never half of one. Files that several processes change (the gateway and the
`ugate` commands: tokens, the Hono registry) are changed under a lock
(`update_json`), one writer at a time, so no update is lost."""
import errno
import json
import os
import time

from ugate.base import compat

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


class Lock:
    """`with Lock(path):` the one writer of `path` among all processes. The
    lock is the directory `<path>.lock` (mkdir is atomic on every
    filesystem, and on both runtimes); a lock older than `stale_after`
    seconds, or waited for that long, was left by a writer that died (killed,
    or a board that lost power) and is taken over. Writers hold it for
    milliseconds; waiting blocks, which a gateway can afford at that scale."""
    #: Seconds after which a lock counts as left behind.
    stale_after = 10
    #: Seconds between two attempts while another writer holds it.
    poll = 0.005

    def __init__(self, path):
        self.path = path + ".lock"

    def __enter__(self):
        waited = 0
        while True:
            try:
                os.mkdir(self.path)
                return self
            except OSError as exc:
                if exc.args[0] != errno.EEXIST:
                    raise
            if waited >= self.stale_after or self._age() > self.stale_after:
                self._take_over()
                continue
            time.sleep(self.poll)
            waited += self.poll

    def __exit__(self, *exc):
        try:
            os.rmdir(self.path)
        except OSError:
            pass

    def _age(self):
        try:
            return time.time() - os.stat(self.path)[8]
        except OSError:  # released meanwhile
            return 0

    def _take_over(self):
        # Renamed away first: of several writers that found it stale, only
        # one moves it, and none removes a lock another has just taken.
        gone = "{}.{}".format(self.path, compat.token_hex(4))
        try:
            os.rename(self.path, gone)
            os.rmdir(gone)
        except OSError:
            pass


def update_json(path, change, read=None, private=False):
    """Change the JSON file `path` as one step among all its writers: under
    its Lock, `read(path)` gives the content now (default: the parsed file,
    {} when there is none), `change(content)` changes it in place, and it is
    written atomically; returns what `change` returned. An exception from
    `read` or `change` leaves the file as it was."""
    with Lock(path):
        content = read(path) if read else read_json(path, {})
        result = change(content)
        write_json(path, content, private)
    return result


def append(path, text):
    with open(path, "a") as f:
        f.write(text)
