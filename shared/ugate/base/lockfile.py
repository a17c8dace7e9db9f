"""Files that several processes change (the gateway and the `ugate`
commands: tokens, users, secrets, the Hono registry) are changed one writer
at a time, so no update is lost: `update_json` reads, changes and writes the
file (atomically, `store.write_json`) while holding its Lock. Loaded by the
writers only: a board that never writes such a file does not hold it."""
import errno
import os
import time

from ugate.base import compat, store


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
        content = read(path) if read else store.read_json(path, {})
        result = change(content)
        store.write_json(path, content, private)
    return result
