"""A background task that fails is logged and restarted, on both runtimes."""
from conftest import run_core

CODE = """
import asyncio
from ugate import app

runs = []

async def flaky(hub):
    runs.append(1)
    if len(runs) < 3:
        raise MemoryError("board heap")

async def main():
    await asyncio.wait_for(app.supervised(flaky, None, retry_max=0), 5)
    print(len(runs))

asyncio.run(main())
"""


def test_failed_background_task_is_restarted(runtime):
    assert run_core(runtime, CODE).strip() == "3"
