"""A tiny logger with the same output on both runtimes (MicroPython has no
`logging`). Lines go to stderr and, when configured, to a bounded log file that
`/api/error_log` serves."""
import sys

from ugate import compat

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Log:
    level = 20
    path = None
    #: The log file is cut in half when it grows past this many bytes.
    max_file_size = 256 * 1024

    def __init__(self, name):
        self.name = name

    def _write(self, level, label, msg):
        if level < Log.level:
            return
        line = "{} {} {}: {}\n".format(compat.iso(compat.now_us())[:23], label, self.name, msg)
        try:
            sys.stderr.write(line)
        except Exception:  # a closed stderr must not stop the gateway
            pass
        if Log.path:
            _append(Log.path, line, Log.max_file_size)

    def debug(self, msg):
        self._write(10, "DEBUG", msg)

    def info(self, msg):
        self._write(20, "INFO", msg)

    def warning(self, msg):
        self._write(30, "WARNING", msg)

    def error(self, msg):
        self._write(40, "ERROR", msg)


def _append(path, line, limit):
    try:
        with open(path, "a") as f:
            f.write(line)
            size = f.tell()
        if size > limit:
            with open(path) as f:
                keep = f.read()[-(limit // 2):]
            with open(path, "w") as f:
                f.write(keep[keep.find("\n") + 1:])
    except OSError:
        pass


def configure(level="info", path=None):
    Log.level = LEVELS[level]
    Log.path = path


def get(name):
    return Log("ugate." + name)
