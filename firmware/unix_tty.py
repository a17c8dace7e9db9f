"""Device files as serial ports (a tty, or a pty link in the tests) on
the unix port. Imported only when a `serial` port is not `uart<N>`: boards
have no termios, and its names would stay in their heap."""
try:
    import termios
except ImportError:  # boards: their ports are UARTs, not device files
    termios = None

# Indices into termios' control characters on Linux (MicroPython's termios
# does not name them).
VTIME, VMIN = 5, 6


def open_tty(path, baudrate):
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
