"""The MicroPython platform: the unix port (the firmware twin the tests run)
and boards (ESP32, Pico W). Boards have less memory, so the limits are low."""
import asyncio
import sys

from ugate.config import ConfigError

try:
    import termios
except ImportError:  # boards: their ports are UARTs, not device files
    termios = None

IS_UNIX = sys.platform == "linux"
# Indices into termios' control characters on Linux (MicroPython's termios
# does not name them).
VTIME, VMIN = 5, 6


class MicroPythonPlatform:
    name = "micropython-" + sys.platform
    #: Defaults for the `limits` config section, sized for a board's heap.
    limits = {
        "max_body_bytes": 16 * 1024,
        "max_header_line": 2048,
        "max_connections": 8,
        "idle_timeout": 20,
    }

    def ssl_context(self, certfile, keyfile):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(_read(certfile), _read(keyfile))
        except Exception as exc:
            raise ConfigError("cannot load ssl_certificate/ssl_key: {}".format(exc))
        return ctx

    def on_stop_signal(self, stop):
        pass  # no signals here: Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process

    def secure_file(self, path):
        pass  # a board's filesystem has no permissions

    async def open_serial(self, port):
        """A `serial` config entry as asyncio (reader, writer): `uartN` is a
        board UART, anything else a device file (a tty or a pty link)."""
        if port["port"].startswith("uart"):
            from board_uart import open_uart  # only boards have machine.UART
            stream = open_uart(int(port["port"][4:]), port["baudrate"])
        else:
            stream = _open_tty(port["port"], port["baudrate"])
        return asyncio.StreamReader(stream), asyncio.StreamWriter(stream, {})


def _open_tty(path, baudrate):
    if termios is None:
        raise OSError("no device files on this board: use uart<N>")
    speed = getattr(termios, "B{}".format(baudrate), None)
    if speed is None:
        raise OSError("baud rate {} is not supported here".format(baudrate))
    f = open(path, "r+b")
    try:
        fd = f.fileno()
        termios.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = speed
        # A read returns what has arrived instead of waiting for a full buffer,
        # so a partial line never blocks the event loop.
        attrs[6][VMIN] = 0
        attrs[6][VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except Exception:
        f.close()
        raise
    return f


def _read(path):
    with open(path, "rb") as f:
        return f.read()
