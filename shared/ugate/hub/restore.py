"""`restore_state`: entity states survive a restart.

States are saved to `<config>/restore_state.json` (atomic write) a while
after they change, at most once per `StateSaver.interval`, and when the
gateway stops. The interval bounds both the flash writes on a board and what
a power cut (or SIGTERM under MicroPython, which has no handler) can lose.
A file that cannot be read is logged, set aside and replaced, never fatal.
"""
import asyncio
import json
import os

from ugate.base import jsonstream, log, store
from ugate.hub.bus import Context
from ugate.hub.states import State, valid_entity_id

_log = log.get("restore")

FILE_NAME = "restore_state.json"
VERSION = 1


def state_to_json(state):
    c = state.context
    return [state.entity_id, state.state, state.attributes, state.last_changed,
            state.last_updated, state.last_reported, [c.id, c.parent_id, c.user_id]]


def state_from_json(item):
    """A State from one saved item; ValueError when it is not one."""
    try:
        entity_id, value, attributes, changed, updated, reported, (cid, parent, user) = item
    except (TypeError, ValueError):
        raise ValueError("not a saved state")
    if not (isinstance(entity_id, str) and valid_entity_id(entity_id) and isinstance(value, str)
            and isinstance(attributes, dict) and isinstance(cid, str)):
        raise ValueError("not a saved state")
    for t in (changed, updated, reported):
        if not isinstance(t, int):
            raise ValueError("not a saved state")
    return State(entity_id, value, attributes, changed, updated, reported,
                 Context(user_id=user, parent_id=parent, id=cid))


class StateSaver:
    #: Seconds between a change and the save that includes it; at most one
    #: file write per interval. Boards with flash raise it to spare the flash.
    interval = 10

    def __init__(self, hub):
        self.hub = hub
        self.path = store.join(hub.config_dir, FILE_NAME)
        self.dirty = False
        self._changed = asyncio.Event()

    def load(self):
        """Put the saved states back (without events); returns how many."""
        try:
            data = store.read_json(self.path)
            if data is None:
                return 0
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError("unknown format")
            items = data["states"]
            states = [state_from_json(item) for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            self._set_aside(exc)
            return 0
        for state in states:
            self.hub.states.restore(state)
        return len(states)

    def _set_aside(self, exc):
        bad = self.path + ".corrupt"
        _log.error("{} is unreadable ({}); starting without saved states, "
                   "the file is kept as {}".format(self.path, exc, bad))
        try:
            os.rename(self.path, bad)
        except OSError:
            pass

    def changed(self, event):
        self.dirty = True
        self._changed.set()

    def save(self):
        if not self.dirty:
            return
        self.dirty = False
        try:
            store.write_atomic(self.path, self._document())
        except (OSError, TypeError, ValueError) as exc:  # a full flash, an unsaveable value
            self.dirty = True  # try again with the next change or at stop
            _log.error("cannot save states to {}: {}".format(self.path, exc))

    def _document(self):
        yield '{"version": ' + json.dumps(VERSION) + ', "states": '
        yield from jsonstream.array(state_to_json(s) for s in self.hub.states.all())
        yield "}"

    async def run(self, hub):
        while True:
            await self._changed.wait()
            self._changed.clear()
            await asyncio.sleep(self.interval)
            self.save()


def setup(hub):
    """Set up by `ugate.app` when `restore_state` is on."""
    saver = StateSaver(hub)
    count = saver.load()
    if count:
        _log.info("restored {} states".format(count))
    hub.bus.listen("state_changed", saver.changed)
    hub.background.append(saver.run)
    hub.on_stop.append(saver.save)
