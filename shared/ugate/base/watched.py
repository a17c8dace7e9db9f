"""A file that another process edits while the gateway runs (the
`ugate token` and `ugate hono` commands, a hand edit), read again when it
changed: what such a command writes applies at once, without a restart."""
import time

from ugate.base import store


class WatchedFile:
    """The checked content of `path`, as `read(path)` returns it.

    The first read's error goes to the caller (a bad file stops the start).
    After that a bad edit, one of `errors`, is passed to `bad_edit(error)`
    once per edit and the content read before is kept: the gateway goes on
    with it until the file is fixed."""

    def __init__(self, path, read, errors, bad_edit):
        self.path = path
        self._read = read
        self._errors = errors
        self._bad_edit = bad_edit
        self._content = None
        self._signature = None

    def read(self):
        """Read and check the file now; errors go to the caller."""
        signature = store.signature(self.path)
        self._content = self._read(self.path)
        self._signature = signature
        return self._content

    def content(self):
        """The content, read again when the file changed since."""
        if self._content is None:
            return self.read()
        signature = store.signature(self.path)
        # Modification times have whole-second resolution on some systems: a
        # file changed within the last two seconds may change again unseen
        # (a revoke and a create of the same size), so it is read again.
        if signature != self._signature or signature is not None and \
                time.time() - signature[0] < 2:
            try:
                self.read()
            except self._errors as exc:
                if signature != self._signature:
                    self._signature = signature
                    self._bad_edit(exc)
        return self._content

    def update(self, change):
        """Change the file as one step among all its writers (other
        processes too, `lockfile.update_json`): `change(content)` changes the
        content read now, under the file's lock, in place; returns what
        `change` returned. Errors go to the caller, and the file is left
        as it was."""
        from ugate.base import lockfile  # imported here: reading needs no lock
        result = lockfile.update_json(self.path, change, self._read, private=True)
        self.read()
        return result
