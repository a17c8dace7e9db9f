"""A bounded queue for one consumer on the network."""
import asyncio


class BoundedQueue:
    """The items waiting for one network consumer (an SSE client, a WebSocket
    connection). It marks itself overflowed and closes instead of growing, so
    one slow client cannot eat the memory of a board."""

    #: Items kept for a consumer that does not read; past this it is dropped.
    max_items = 256

    def __init__(self, max_items=None):
        self.items = []
        self.limit = max_items or self.max_items
        self.overflowed = False
        self.closed = False
        self._ready = asyncio.Event()

    def put(self, item):
        if self.closed:
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.close()
            return
        self.items.append(item)
        self._ready.set()

    def close(self):
        self.closed = True
        self._ready.set()

    async def get(self, timeout=None):
        """Wait for items and return them all; [] on timeout or when closed."""
        if not self.items and not self.closed:
            self._ready.clear()
            try:
                if timeout is None:
                    await self._ready.wait()
                else:
                    await asyncio.wait_for(self._ready.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        items, self.items = self.items, []
        return items
