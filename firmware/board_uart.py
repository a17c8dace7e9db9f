"""UART ports on a board (ESP32, Pico W), with the pins from `/board.json`
(the board's file from boards/, deployed by tools/deploy.py). Imported only
when a `serial` port is `uart<N>`: the unix port has no `machine.UART`."""
import json

from machine import UART, Pin

BOARD_FILE = "/board.json"


def board():
    with open(BOARD_FILE) as f:
        return json.load(f)


def open_uart(number, baudrate):
    """UART `number` at `baudrate`, non-blocking (timeout=0) so asyncio's
    StreamReader polls it; OSError when the board file has no such UART."""
    spec = board()["uart"].get(str(number))
    if spec is None:
        raise OSError("uart{} is not in the board file".format(number))
    return UART(number, baudrate=baudrate, tx=Pin(spec["tx"]), rx=Pin(spec["rx"]),
                rxbuf=spec.get("rxbuf", 512), timeout=0)
