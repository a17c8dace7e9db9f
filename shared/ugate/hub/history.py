"""Recent values of numeric entities, in memory only: what a sparkline on the
web page needs, not a recorder. Each numeric entity keeps its last
`History.max_points` values with their times in a ring of 8-byte points
(seconds since 1970 and a 32-bit float) after two bytes for the ring's next
slot and count. The rings live in slabs of `History.per_slab`, allocated
as entities come and reused when they go: a few large blocks instead of a
small one per entity scattered over a board's heap (which, with hundreds of
entities, left no room for one 6 KB block in a heap 70 % free). The memory
is bounded by the entities (`limits.max_entities`) times `max_points`
(lower on boards). A state that is not a number (`unavailable`, `on`) is
not a point; a removed entity's points go with it. Read through `GET
/api/history/period` (`ugate.faces.page.history`)."""
import struct

from ugate.base import compat

POINT = "<If"
POINT_BYTES = struct.calcsize(POINT)


def number(text):
    """The state as a float, or None when it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value - value == 0 else None  # nan and inf are not


class History:
    #: Points kept per numeric entity (boards keep fewer; at most 255).
    max_points = 60
    #: Rings allocated at once.
    per_slab = 32
    #: No new slab while less than 1/`min_free_share` of a board's heap is
    #: free: the entities come first (they are refused at 1/8), sparklines
    #: of new entities wait for room.
    min_free_share = 4

    def __init__(self):
        self.slots = {}  # entity id -> its ring's number
        self.free = []  # numbers of rings given back
        self.slabs = []
        self.ring_bytes = 0  # set by the first ring (after a board lowered max_points)

    def _ring(self, entity_id):
        """(slab, offset) of the entity's ring, a new one when it has none;
        None when the heap has no room for more."""
        slot = self.slots.get(entity_id)
        if slot is None:
            if not self.ring_bytes:
                self.ring_bytes = 2 + POINT_BYTES * min(self.max_points, 255)
            if self.free:
                slot = self.free.pop()
            else:
                slot = len(self.slots)
                if slot >= len(self.slabs) * self.per_slab:
                    if compat.heap_nearly_full(self.min_free_share):
                        return None
                    self.slabs.append(bytearray(self.per_slab * self.ring_bytes))
            self.slots[entity_id] = slot
            slab, offset = self._where(slot)
            slab[offset] = slab[offset + 1] = 0
            return slab, offset
        return self._where(slot)

    def _where(self, slot):
        return self.slabs[slot // self.per_slab], slot % self.per_slab * self.ring_bytes

    def changed(self, event):
        """A bus listener for `state_changed`."""
        entity_id = event.data["entity_id"]
        new = event.data["new_state"]
        value = None if new is None else number(new["state"])
        if value is None:
            if new is None and entity_id in self.slots:
                self.free.append(self.slots.pop(entity_id))
            return
        ring = self._ring(entity_id)
        if ring is None:
            return
        slab, offset = ring
        size = (self.ring_bytes - 2) // POINT_BYTES
        following, count = slab[offset], slab[offset + 1]
        struct.pack_into(POINT, slab, offset + 2 + following * POINT_BYTES,
                         event.time_fired // 1000000, value)
        slab[offset] = (following + 1) % size
        slab[offset + 1] = min(count + 1, size)

    def points(self, entity_id):
        """[(seconds, value)] of the entity, oldest first."""
        slot = self.slots.get(entity_id)
        if slot is None:
            return []
        slab, offset = self._where(slot)
        size = (self.ring_bytes - 2) // POINT_BYTES
        following, count = slab[offset], slab[offset + 1]
        start = (following - count) % size
        return [struct.unpack_from(POINT, slab, offset + 2 + (start + i) % size * POINT_BYTES)
                for i in range(count)]


def setup(hub):
    hub.history = History()
    hub.bus.listen("state_changed", hub.history.changed)
