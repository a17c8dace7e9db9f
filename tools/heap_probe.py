"""Run firmware main.py under MicroPython and report the live heap: every
100 ms a full collection, then `heap <bytes in use>` on stderr. For
tools/bench.py; the collections cost the gateway a little time.

    MICROPYPATH=.frozen:build/esp32:build/esp32/lib micropython tools/heap_probe.py --config-dir DIR ...
"""
import asyncio
import gc
import sys

INTERVAL_MS = 100


async def sample():
    while True:
        gc.collect()
        sys.stderr.write("heap {}\n".format(gc.mem_alloc()))
        await asyncio.sleep_ms(INTERVAL_MS)


asyncio.create_task(sample())  # runs once main's asyncio.run starts the loop
import main  # noqa: E402,F401  (starts the gateway with this script's argv)
