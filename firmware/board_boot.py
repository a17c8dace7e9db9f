"""The boot record of a board: which code slot runs, an update on trial, and
how many boots in a row failed. `ugate-data/boot.json` beside the config.

boot.py calls `start()` before anything of ugate is imported: it counts the
boot, picks the slot (sys.path) and rolls back an update that did not come
up. The gateway calls `confirm()` once it has served for a while: the count
goes back to 0 and an update on trial becomes the code. After
`MAX_FAILED_BOOTS` unconfirmed boots in a row the board starts in safe mode
(README "The board appliance").

A slot is a directory of .mpy files in the flash root: `lib` is what `make
deploy` installed (/lib, or /rom/lib from a ROMFS image, which comes first
on sys.path); an over-the-air update is written to `lib.a` or `lib.b`,
whichever is not running, and that slot is put first on sys.path. On a
board that runs from its ROMFS partition a slot holds an image instead
(`romfs.img`), which board_rom writes into the partition when the slot is
to run. This module lives in the flash root, outside every slot, so an
update cannot break it.
"""
import json
import os
import sys

DATA = "ugate-data"
RECORD = DATA + "/boot.json"
#: The watchdog a trial boot runs under from its start: an update whose
#: main.py never reaches the gateway (an import that fails drops a board to
#: the REPL) or hangs is reset, and the next boot rolls it back. The gateway
#: feeds it (board_appliance).
TRIAL_WATCHDOG_S = 60
DEPLOYED = "lib"
UPDATE_SLOTS = ("lib.a", "lib.b")
#: A slot's ROMFS image, on a board that runs from its ROMFS partition.
IMAGE = "romfs.img"
MAX_FAILED_BOOTS = 3


def _root():
    cwd = os.getcwd()
    return "" if cwd == "/" else cwd


def load():
    try:
        with open(RECORD) as f:
            record = json.load(f)
    except (OSError, ValueError):
        record = {}
    # "rom": the slot whose image the ROMFS partition holds (board_rom).
    base = {"slot": DEPLOYED, "trial": None, "trial_booted": False, "failed_boots": 0, "rolled_back": None,
            "rom": DEPLOYED}
    base.update(record if isinstance(record, dict) else {})
    return base


def save(record):
    try:
        os.mkdir(DATA)
    except OSError:
        pass  # there already
    with open(RECORD + ".tmp", "w") as f:
        json.dump(record, f)
    os.rename(RECORD + ".tmp", RECORD)


def running(record):
    """The slot this boot runs: the update on trial, or the confirmed one."""
    return record["trial"] or record["slot"]


def update_slot(record):
    """Where an update goes: the update slot that is not running."""
    return UPDATE_SLOTS[1] if running(record) == UPDATE_SLOTS[0] else UPDATE_SLOTS[0]


def start():
    """Count this boot, roll back an update whose trial boot did not
    confirm, and put the running slot first on sys.path. Returns the record."""
    record = load()
    if record["trial"] and record["trial_booted"]:
        print("ota: update in {} did not come up; back to {}".format(record["trial"], record["slot"]))
        record["rolled_back"], record["trial"], record["trial_booted"] = record["trial"], None, False
    elif record["trial"]:
        record["trial_booted"] = True
    record["failed_boots"] += 1
    save(record)
    if record["trial"]:  # armed first: it resets a trial that hangs writing its image too
        import machine
        machine.WDT(timeout=trial_watchdog_s() * 1000)
    slot = running(record)
    if holds_image(slot):
        if record["rom"] != slot:
            _write_image(record, slot)
    elif slot != DEPLOYED:  # on sys.path already
        sys.path.insert(1, _root() + "/" + slot)
    return record


def _write_image(record, slot):
    """Make the ROMFS partition hold `slot`'s image: keep the one it holds as
    its slot's file first (unless that file is there), then write. "rom" is
    None while the partition is being written, so a boot cut short writes it
    again from the file."""
    import board_rom
    try:
        dev, kept = board_rom.partition(), record["rom"]
        if kept and not holds_image(kept):
            try:
                os.mkdir(kept)
            except OSError:
                pass  # there already
            board_rom.keep(dev, kept + "/" + IMAGE)
        record["rom"] = None
        save(record)
        board_rom.write(dev, slot + "/" + IMAGE)
        record["rom"] = slot
        save(record)
    except OSError as exc:
        print("ota: writing the image of {} failed: {!r}".format(slot, exc))
        if record["trial"]:  # the next boot goes back to the code before it
            import machine
            machine.reset()
        raise


def holds_image(slot):
    try:
        os.stat(slot + "/" + IMAGE)
        return True
    except OSError:
        return False


def trial_watchdog_s():
    """TRIAL_WATCHDOG_S, or the longest the board's watchdog allows
    (`watchdog_max_s` in /board.json)."""
    try:
        with open("board.json") as f:
            return min(TRIAL_WATCHDOG_S, json.load(f).get("watchdog_max_s", TRIAL_WATCHDOG_S))
    except (OSError, ValueError):
        return TRIAL_WATCHDOG_S


def safe_mode(record):
    return record["failed_boots"] > MAX_FAILED_BOOTS


def confirm():
    """The gateway came up: the failure count goes back to 0 and an update on
    trial becomes the slot that runs."""
    record = load()
    if record["trial"] and record["trial_booted"]:  # not one sent since this boot began
        before = record["slot"]
        record["slot"], record["trial"], record["trial_booted"] = record["trial"], None, False
        try:  # the image kept for a roll back (board_rom), which is no longer one
            os.remove(before + "/" + IMAGE)
        except OSError:
            pass
    record["failed_boots"] = 0
    save(record)
    return record


def clear_failures():
    """The owner acted (saved the setup page): leave safe mode at the next boot."""
    record = load()
    record["failed_boots"] = 0
    save(record)


def try_update(slot):
    """Run `slot` (just written by an update) on the next boot, once."""
    record = load()
    record["trial"], record["trial_booted"], record["rolled_back"] = slot, False, None
    save(record)


async def reset_soon():
    """Reset the board a second from now: the answer that says so reaches
    the client first."""
    import asyncio
    import machine
    await asyncio.sleep(1)
    machine.reset()
