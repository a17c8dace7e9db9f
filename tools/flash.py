"""Put MicroPython on a board: esptool for ESP32 boards, UF2 steps for the Pico W.

    python tools/flash.py --port /dev/ttyUSB0 --board esp32 --firmware ESP32_GENERIC-v1.24.1.bin
    python tools/flash.py --board pico_w --firmware RPI_PICO_W-v1.24.1.uf2
    python tools/flash.py --board esp32 --firmware fw.bin --dry-run   (print the esptool commands)

The chip and the image's flash offset come from the board file's `flash`
entry: {"method": "esptool", "chip": "esp32", "offset": "0x1000"} (0x0 for
ESP32-S3/C3), or {"method": "uf2"}. The whole flash is erased first, which
also wipes the board's filesystem: deploy ugate afterwards (tools/deploy.py).
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build  # noqa: E402  (tools/build.py)

BAUD = 460800
UF2_STEPS = """To flash {name}:
  1. Unplug it, hold BOOTSEL and plug it in: it shows up as a USB drive (RPI-RP2).
  2. Copy {firmware} onto that drive; the board reboots into MicroPython.
  3. Deploy ugate: make deploy PORT=/dev/ttyACM0 BOARD={board} CONFIG=config.json"""


class FlashError(Exception):
    pass


def plan(board, firmware, port=None, baud=BAUD):
    """(method, steps): for esptool the argument lists to run in order, for
    UF2 the text to show. FlashError for an unknown board, a missing image,
    one that is not for the board's chip, or a missing port."""
    try:
        spec = build.load_board(board)
    except build.BuildError as exc:
        raise FlashError(str(exc))
    flash = spec.get("flash")
    if not flash:
        raise FlashError("boards/{}.json has no 'flash' entry".format(board))
    if not os.path.isfile(firmware):
        raise FlashError("no firmware file {}".format(firmware))
    method = flash["method"]
    if method == "uf2":
        if not firmware.lower().endswith(".uf2"):
            raise FlashError("{} takes a .uf2 image, not {}".format(spec["name"], firmware))
        return method, UF2_STEPS.format(name=spec["name"], firmware=firmware, board=board)
    if method != "esptool":
        raise FlashError("boards/{}.json: unknown flash method '{}'".format(board, method))
    if not firmware.lower().endswith(".bin"):
        raise FlashError("{} takes a .bin image, not {}".format(spec["name"], firmware))
    if not port:
        raise FlashError("--port is required for {} (e.g. /dev/ttyUSB0)".format(spec["name"]))
    check_image(firmware, flash["chip"])
    common = ["--chip", flash["chip"], "--port", port, "--baud", str(baud)]
    return method, [common + ["erase-flash"], common + ["write-flash", flash["offset"], firmware]]


def check_image(firmware, chip):
    """esptool's offline `image-info` must read `firmware` as an image for
    `chip`, so a wrong download is refused before the flash is erased."""
    r = subprocess.run([sys.executable, "-m", "esptool", "image-info", firmware],
                       capture_output=True, text=True)
    detected = [line.split(":", 1)[1].strip() for line in r.stdout.splitlines()
                if line.startswith("Detected image type:")]
    if r.returncode or not detected:
        error = (r.stderr or r.stdout).strip().splitlines()
        raise FlashError("{} is not an ESP firmware image ({})".format(firmware, error[-1] if error else "?"))
    if detected[0].replace("-", "").lower() != chip:
        raise FlashError("{} is an image for {}, not {}".format(firmware, detected[0], chip))


def main(argv=None):
    p = argparse.ArgumentParser(description="Flash MicroPython to a board (esptool for ESP32 boards; "
                                "UF2 steps for the Pico W). Erases the whole flash first.")
    p.add_argument("--board", required=True, help="a board file in boards/ without .json")
    p.add_argument("--firmware", required=True, help="the MicroPython image (.bin for ESP32, .uf2 for Pico W)")
    p.add_argument("--port", help="the board's serial port (ESP32 boards)")
    p.add_argument("--baud", type=int, default=BAUD, help="baud rate for writing (default {})".format(BAUD))
    p.add_argument("--dry-run", action="store_true", help="print the esptool commands instead of running them")
    args = p.parse_args(argv)
    try:
        method, steps = plan(args.board, args.firmware, args.port or ("PORT" if args.dry_run else None),
                             args.baud)
    except FlashError as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 2
    if method == "uf2":
        print(steps)
        return 0
    for step in steps:
        print("esptool " + " ".join(step), flush=True)
        if not args.dry_run and subprocess.run([sys.executable, "-m", "esptool"] + step).returncode:
            print("error: esptool failed; nothing after it was run", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
