"""UART ports on a board (ESP32, Pico W), with the pins from the board file
`/boards/<board>.json` flashed next to the firmware. Imported only when a
`serial` port is `uart<N>`: the unix port has no `machine.UART`."""
import json
import sys

from machine import UART, Pin

#: sys.platform -> the board file describing its pins.
BOARD_FILES = {"esp32": "esp32.json", "rp2": "pico_w.json"}
BOARD_DIR = "/boards"


def board():
    name = BOARD_FILES.get(sys.platform)
    if name is None:
        raise OSError("no board file for {}".format(sys.platform))
    with open(BOARD_DIR + "/" + name) as f:
        return json.load(f)


def open_uart(number, baudrate):
    """UART `number` at `baudrate`, non-blocking (timeout=0) so asyncio's
    StreamReader polls it; OSError when the board file has no such UART."""
    spec = board()["uart"].get(str(number))
    if spec is None:
        raise OSError("uart{} is not in the board file".format(number))
    return UART(number, baudrate=baudrate, tx=Pin(spec["tx"]), rx=Pin(spec["rx"]),
                rxbuf=spec.get("rxbuf", 512), timeout=0)
