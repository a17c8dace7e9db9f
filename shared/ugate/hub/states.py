"""Entity states with Home Assistant's semantics (ha-api.md 1.1-1.2).

`last_changed` moves when the state string changes (or with force_update),
`last_updated` when the state or the attributes change, `last_reported` on
every write. Only a change fires `state_changed`.
"""
import json

from ugate.base import compat, dates
from ugate.hub.bus import Context

MAX_STATE_LENGTH = 255


class InvalidEntityId(ValueError):
    pass


class InvalidState(ValueError):
    pass


class TooManyEntities(InvalidState):
    pass


def _valid_part(part):
    return (part != "" and not part.startswith("_") and not part.endswith("_") and "__" not in part
            and compat.only(part, "abcdefghijklmnopqrstuvwxyz0123456789_"))


def valid_entity_id(entity_id):
    """`domain.object_id`, lowercase letters, digits and single underscores."""
    parts = entity_id.split(".")
    return len(parts) == 2 and _valid_part(parts[0]) and _valid_part(parts[1])


# Latin letters with accents and ligatures and their ASCII spelling, so
# 'Küche' gives 'kuche' and 'Straße' 'strasse' as in Home Assistant. Both
# cases are listed: MicroPython's str.lower() only lowers ASCII.
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ"
_PLAIN = b"aaaaaaceeeeiiiinoooooouuuuyyaaaaaaceeeeiiiinoooooouuuuy"
_LIGATURES = "ßæÆœŒ"
_LIGATURES_PLAIN = b"ssaeaeoeoe"


def slugify(text):
    """Text -> a valid object id part: 'Living Room 2' -> 'living_room_2'."""
    # Read as UTF-8 bytes, not as characters: compat.only says why.
    data = str(text).encode()
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b < 0x80:
            size = 1
            b = b + 32 if 65 <= b <= 90 else b
            out.append(b if 97 <= b <= 122 or 48 <= b <= 57 else 95)  # a-z 0-9, else _
        else:
            size = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            ch = data[i:i + size].decode()
            j = _ACCENTED.find(ch)
            k = _LIGATURES.find(ch)
            out += _PLAIN[j:j + 1] if j >= 0 else _LIGATURES_PLAIN[2 * k:2 * k + 2] if k >= 0 else b"_"
        i += size
    slug = "_".join(p for p in out.decode().split("_") if p)
    return slug or "unknown"


class State:
    def __init__(self, entity_id, state, attributes, last_changed, last_updated,
                 last_reported, context):
        self.entity_id = entity_id
        self.state = state
        self.attributes = attributes
        self.last_changed = last_changed
        self.last_updated = last_updated
        self.last_reported = last_reported
        self.context = context
        #: The JSON of `as_dict()` while the state machine keeps it (`StateMachine.json`).
        self.json_text = None

    @property
    def domain(self):
        return self.entity_id.split(".", 1)[0]

    def as_dict(self):
        return compat.OrderedDict([
            ("entity_id", self.entity_id), ("state", self.state), ("attributes", self.attributes),
            ("last_changed", dates.iso(self.last_changed)),
            ("last_reported", dates.iso(self.last_reported)),
            ("last_updated", dates.iso(self.last_updated)), ("context", self.context.as_dict())])


def _change(entity_id, old, new):
    """`state_changed` event data, in Home Assistant's field order."""
    return compat.OrderedDict([("entity_id", entity_id),
                                ("old_state", old.as_dict() if old else None),
                                ("new_state", new.as_dict() if new else None)])


#: The domain of notifications, which have their own bound.
NOTIFICATION_DOMAIN = "persistent_notification"
#: Tables the states are spread over (by hash): on a board a single table of
#: a few hundred entities is a block of several KB, which a fragmented heap
#: may not have when the table grows; these grow a little at a time.
SHARDS = 16


class StateMachine:
    #: Entities kept at most (notifications aside); a new entity past this is
    #: refused. The app sets it from `limits.max_entities` (lower on boards).
    max_entities = 1024
    #: Notifications kept at most, apart from the entities so that they are
    #: never refused for want of entity slots: a new one past this replaces
    #: the oldest.
    max_notifications = 64
    #: On MicroPython, a new entity is refused while less than 1/8 of the
    #: heap is free after a collection: the requests being served and the
    #: updates of the states that exist need the rest (CPython has no fixed
    #: heap). A share, not bytes: objects are half as large on a 32-bit board.
    min_free_share = 8
    #: Milliseconds during which new entities are refused without looking at
    #: the heap again after it was found too full (each look collects).
    heap_recheck_ms = 1000
    #: Characters of state JSON kept: each state's JSON is built once per
    #: change and reused by every answer and event that holds it, as long as
    #: the texts kept stay under this; past it, built for each use.
    max_json_chars = 4 * 1024 * 1024

    def __init__(self, bus):
        self.bus = bus
        self._shards = [{} for _ in range(SHARDS)]
        self._ids = None  # the entity ids sorted, until one comes or goes
        self.entities = 0  # states held, notifications aside
        self._notifications = []  # their entity ids, oldest first
        self._heap_full_at = None
        self.json_chars = 0
        #: Called with (entity_id, reason) when a new entity is refused (the
        #: hub raises a notification).
        self.on_refused = None

    def _index(self, entity_id):
        return hash(entity_id) % SHARDS

    def _shard(self, entity_id):
        return self._shards[self._index(entity_id)]

    def get(self, entity_id):
        entity_id = entity_id.lower()
        return self._shard(entity_id).get(entity_id)

    def all(self):
        """The states now, in entity id order, one at a time. The sorted ids
        are kept until an entity comes or goes (a list of references, a
        fraction of the tables' size); a state removed while an answer is
        being written is left out."""
        if self._ids is None:
            self._ids = sorted(entity_id for shard in self._shards for entity_id in shard)
        for entity_id in self._ids:
            state = self._shard(entity_id).get(entity_id)
            if state is not None:
                yield state

    def unsorted(self):
        """Every state, in no particular order (cheaper than `all`)."""
        for shard in self._shards:
            yield from shard.values()

    def refused(self, entity_id, reason):
        """A new entity was refused (here, or by a source's own bound):
        the `on_refused` callback is told."""
        if self.on_refused is not None:
            self.on_refused(entity_id, reason)

    def _refuse(self, entity_id, reason):
        self.refused(entity_id, reason)
        raise TooManyEntities(reason)

    def _admit(self, entity_id):
        """Make room for the new entity `entity_id`, or refuse it."""
        if entity_id.startswith(NOTIFICATION_DOMAIN + "."):
            while len(self._notifications) >= self.max_notifications:
                self.remove(self._notifications[0])
            return
        if self.entities >= self.max_entities:
            self._refuse(entity_id, "Too many entities (limits.max_entities is {}).".format(
                self.max_entities))
        now = compat.ticks_ms()
        if self._heap_full_at is not None and \
                compat.ticks_diff(now, self._heap_full_at) < self.heap_recheck_ms:
            full = True
        else:
            full = compat.heap_nearly_full(self.min_free_share)
            self._heap_full_at = now if full else None
        if full:
            self._refuse(entity_id, "Too many entities for the gateway's memory ({} held, less "
                                    "than 1/{} of the heap free).".format(self.entities, self.min_free_share))

    def _put(self, entity_id, state):
        """Hold `state` as `entity_id`'s; returns the state it replaces."""
        i = self._index(entity_id)
        old = self._shards[i].get(entity_id)
        self._shards[i][entity_id] = state
        if old is None:
            self._ids = None
            if entity_id.startswith(NOTIFICATION_DOMAIN + "."):
                self._notifications.append(entity_id)
            else:
                self.entities += 1
        return old

    def json(self, state):
        """`state.as_dict()` as JSON text, built once while it is current."""
        text = state.json_text
        if text is None:
            text = json.dumps(state.as_dict())
            if (self._shard(state.entity_id).get(state.entity_id) is state
                    and self.json_chars + len(text) <= self.max_json_chars):
                state.json_text = text
                self.json_chars += len(text)
        return text

    def _forget_json(self, state):
        if state.json_text is not None:
            self.json_chars -= len(state.json_text)
            state.json_text = None

    def _fire(self, entity_id, old, new, context, time_fired=None):
        # The event's JSON reuses the states' texts (the old one as it was).
        old_json = old.json_text if old else "null"
        if old is not None:
            self._forget_json(old)

        def data_json():
            return '{{"entity_id": {}, "old_state": {}, "new_state": {}}}'.format(
                json.dumps(entity_id), old_json or json.dumps(old.as_dict()),
                self.json(new) if new else "null")
        self.bus.fire("state_changed", _change(entity_id, old, new), context=context,
                      time_fired=time_fired, data_json=data_json)

    def set(self, entity_id, new_state, attributes=None, force_update=False, context=None):
        """Write a state; returns (state, created). Fires `state_changed`
        when something changed."""
        entity_id = entity_id.lower()
        if not valid_entity_id(entity_id):
            raise InvalidEntityId(entity_id)
        new_state = str(new_state)
        if len(new_state) > MAX_STATE_LENGTH:
            raise InvalidState(entity_id)
        attributes = dict(attributes or {})
        old = self._shard(entity_id).get(entity_id)
        if old is None:
            self._admit(entity_id)
        now = compat.now_us()
        context = context or Context()
        same_state = old is not None and old.state == new_state and not force_update
        if same_state and old.attributes == attributes:
            old.last_reported = now
            self._forget_json(old)
            return old, False
        last_changed = old.last_changed if same_state else now
        state = State(entity_id, new_state, attributes, last_changed, now, now, context)
        self._put(entity_id, state)
        self._fire(entity_id, old, state, context, now)
        return state, old is None

    def shift_times(self, delta_us):
        """The clock was set (a board's first NTP answer): times stamped
        before move with it, so they stay true relative to now."""
        for state in self.unsorted():
            state.last_changed += delta_us
            state.last_updated += delta_us
            state.last_reported += delta_us
            self._forget_json(state)  # its JSON holds the old times

    def remove(self, entity_id, context=None):
        entity_id = entity_id.lower()
        old = self._shard(entity_id).pop(entity_id, None)
        if old is None:
            return False
        self._ids = None
        if entity_id in self._notifications:
            self._notifications.remove(entity_id)
        else:
            self.entities -= 1
        self._fire(entity_id, old, None, context)
        return True

    def restore(self, state):
        """Put back a state saved before a restart, without an event."""
        old = self._put(state.entity_id, state)
        if old is not None:
            self._forget_json(old)
