"""Exponential backoff: the pause before each new attempt at something that
failed (a background task, a serial port) doubles up to a cap, so a lasting
failure costs little and a short one is retried soon."""
import asyncio


class Backoff:
    def __init__(self, initial, maximum):
        self.initial = initial
        self.maximum = maximum
        self.delay = initial

    def reset(self):
        """Start again from `initial` (the last attempt went well)."""
        self.delay = self.initial

    async def wait(self):
        """Sleep the current delay, then double it up to `maximum`."""
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.maximum)
