"""A tiny logger with the same output on both runtimes (MicroPython has no
`logging`). Lines go to stderr and, when configured, to a bounded log file that
`/api/error_log` serves. Messages carry what clients sent (paths, user
agents, keys), so control characters are written as `\\xNN`: a CR or an
escape sequence must not forge a log line or drive the terminal."""
import os
import sys

from ugate.base import compat, dates

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Log:
    level = 20
    path = None
    #: The log file is cut in half when it grows past this many bytes.
    max_file_size = 256 * 1024
    #: Callables `f(name, label, msg, us)` told of each line written (the
    #: hub turns them into events for the web page's live log).
    listeners = []

    def __init__(self, name):
        self.name = name

    def _write(self, level, label, msg):
        if level < Log.level:
            return
        now = compat.now_us()
        msg = printable(msg)
        line = "{} {} {}: {}\n".format(dates.iso(now)[:23], label, self.name, msg)
        try:
            sys.stderr.write(line)
        except Exception:  # a closed stderr must not stop the gateway
            pass
        if Log.path:
            _append(Log.path, line, Log.max_file_size)
        for listener in Log.listeners:
            listener(self.name, label, msg, now)

    def debug(self, msg):
        self._write(10, "DEBUG", msg)

    def info(self, msg):
        self._write(20, "INFO", msg)

    def warning(self, msg):
        self._write(30, "WARNING", msg)

    def error(self, msg):
        self._write(40, "ERROR", msg)


def printable(text):
    """`text` with its control characters (C0, DEL, C1) as `\\xNN`. Read
    as UTF-8 bytes, not characters (compat.only says why): a C0 or DEL is
    one byte, a C1 the two bytes 0xC2 0x80-0x9F. (A lone surrogate, which
    CPython's str may hold, passes through.)"""
    data = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    i = start = 0
    while i < len(data):
        b = data[i]
        if b < 32 or b == 127:
            code, size = b, 1
        elif b == 0xC2 and 0x80 <= data[i + 1] <= 0x9F:
            code, size = data[i + 1], 2
        else:
            i += 1
            continue
        out += data[start:i]
        out += "\\x{:02x}".format(code).encode()
        i = start = i + size
    if not start:
        return text
    out += data[start:]
    return out.decode("utf-8", "surrogatepass")


def _append(path, line, limit):
    try:
        with open(path, "a") as f:
            f.write(line)
            size = f.tell()
        if size > limit:
            _keep_tail(path, size - limit // 2)
    except (OSError, MemoryError):
        pass  # a full or broken disk must not stop what was being logged


def _keep_tail(path, start):
    """Drop the file's first `start` bytes and the rest of the line they
    cut, copying the tail a chunk at a time (a board cannot hold the file)
    into a file renamed over the old one."""
    tmp = path + ".tmp"
    with open(path, "rb") as src:
        src.seek(start)
        src.readline()
        with open(tmp, "wb") as dst:
            while True:
                chunk = src.read(1024)
                if not chunk:
                    break
                dst.write(chunk)
    os.rename(tmp, path)


def configure(level="info", path=None):
    Log.level = LEVELS[level]
    Log.path = path


def get(name):
    return Log("ugate." + name)
