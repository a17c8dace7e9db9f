"""Entity states with Home Assistant's semantics (ha-api.md 1.1-1.2).

`last_changed` moves when the state string changes (or with force_update),
`last_updated` when the state or the attributes change, `last_reported` on
every write. Only a change fires `state_changed`.
"""
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
    if not part or part[0] == "_" or part[-1] == "_" or "__" in part:
        return False
    for ch in part:
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "_"):
            return False
    return True


def valid_entity_id(entity_id):
    """`domain.object_id`, lowercase letters, digits and single underscores."""
    parts = entity_id.split(".")
    return len(parts) == 2 and _valid_part(parts[0]) and _valid_part(parts[1])


# Latin letters with accents and their ASCII spelling, so 'Küche' gives
# 'kuche' as in Home Assistant. Both cases are listed: MicroPython's
# str.lower() only lowers ASCII.
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ"
_PLAIN = "aaaaaaceeeeiiiinoooooouuuuyyaaaaaaceeeeiiiinoooooouuuuy"
_LIGATURES = {"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe"}


def slugify(text):
    """Text -> a valid object id part: 'Living Room 2' -> 'living_room_2'."""
    out = []
    for ch in str(text).lower():
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            out.append(ch)
        elif ch in _LIGATURES:
            out.append(_LIGATURES[ch])
        else:
            i = _ACCENTED.find(ch) if ch > "\x7f" else -1
            out.append(_PLAIN[i] if i >= 0 else "_")
    slug = "_".join(p for p in "".join(out).split("_") if p)
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


class StateMachine:
    #: Entities kept at most; a new entity past this is refused. The app sets
    #: it from `limits.max_entities` (lower on boards).
    max_entities = 1024

    def __init__(self, bus):
        self.bus = bus
        self._states = {}

    def get(self, entity_id):
        return self._states.get(entity_id.lower())

    def all(self):
        return sorted(self._states.values(), key=lambda s: s.entity_id)

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
        old = self._states.get(entity_id)
        if old is None and len(self._states) >= self.max_entities:
            raise TooManyEntities("Too many entities (limits.max_entities is {}).".format(
                self.max_entities))
        now = compat.now_us()
        context = context or Context()
        same_state = old is not None and old.state == new_state and not force_update
        if same_state and old.attributes == attributes:
            old.last_reported = now
            return old, False
        last_changed = old.last_changed if same_state else now
        state = State(entity_id, new_state, attributes, last_changed, now, now, context)
        self._states[entity_id] = state
        self.bus.fire("state_changed", _change(entity_id, old, state), context=context,
                      time_fired=now)
        return state, old is None

    def shift_times(self, delta_us):
        """The clock was set (a board's first NTP answer): times stamped
        before move with it, so they stay true relative to now."""
        for state in self._states.values():
            state.last_changed += delta_us
            state.last_updated += delta_us
            state.last_reported += delta_us

    def remove(self, entity_id, context=None):
        entity_id = entity_id.lower()
        old = self._states.pop(entity_id, None)
        if old is None:
            return False
        self.bus.fire("state_changed", _change(entity_id, old, None), context=context)
        return True

    def restore(self, state):
        """Put back a state saved before a restart, without an event."""
        self._states[state.entity_id] = state
