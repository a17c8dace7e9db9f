"""The MicroPython unix port as a board on a serial port: its REPL on a
pseudo terminal that mpremote (and tools/deploy.py) can connect to, with a
working directory standing in for the board's flash.

    python tools/ptyboard.py DIR      prints the device path, serves until killed

    mpremote connect /dev/pts/N resume fs ls

Its raw REPL is the one boards speak; two differences: a soft reset ends the
process (use mpremote's `resume`, deploy.py --resume) and there is no
machine.reset (deploy.py --no-reset). sys.path is a board's: '', .frozen, lib.
"""
import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import tty


def find_micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else "micropython"


class PtyBoard:
    """`micropython` with its console on one pty, relayed to a second pty
    whose device path plays the board's serial port."""

    def __init__(self, workdir, heapsize=None):
        self.workdir = workdir
        console, console_dev = pty.openpty()
        self._port, port_dev = pty.openpty()
        # Both ends raw: mpremote expects the REPL's bytes unchanged
        # (a cooked pty would turn "\r\n" into "\r\r\n").
        tty.setraw(console_dev)
        tty.setraw(port_dev)
        self.device = os.ttyname(port_dev)
        argv = [find_micropython()] + (["-X", "heapsize={}".format(heapsize)] if heapsize else [])
        self.proc = subprocess.Popen(argv, stdin=console_dev, stdout=console_dev, stderr=console_dev,
                                     cwd=workdir, env=dict(os.environ, MICROPYPATH=".frozen:lib"),
                                     start_new_session=True)
        os.close(console_dev)
        self._console = console
        self._port_dev = port_dev  # kept open so the pty lives between mpremote runs
        threading.Thread(target=self._relay, daemon=True).start()

    def _relay(self):
        peer = {self._console: self._port, self._port: self._console}
        while True:
            ready, _, _ = select.select(list(peer), [], [])
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # micropython exited or close() ran
                    return
                os.write(peer[fd], data)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for fd in (self._console, self._port, self._port_dev):
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="ptyboard.py", description="Run the MicroPython unix port as "
                                "a board: print the serial device of its REPL, serve until killed.")
    p.add_argument("dir", metavar="DIR", help="the board's flash (made if missing)")
    args = p.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    # SIGTERM unwinds like Ctrl-C, so the board (MicroPython) ends with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with PtyBoard(args.dir) as board:
        print(board.device, flush=True)
        try:
            return board.proc.wait()
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
