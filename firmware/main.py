"""Start ugate under MicroPython.

On a board it runs at boot with the config directory /ugate-data (not
/ugate: sys.path starts with the flash root, where a directory named like the
package would shadow it), as the board appliance (board_start: Wi-Fi or
the setup page, safe mode; then the gateway); any failure restarts the board
after writing it to /ugate-data/crash.txt, and boot.py counts the failures.
Under the unix port (the firmware twin) the config directory and address
come from the command line or the environment:

    micropython main.py --config-dir DIR [--host HOST] [--port PORT]
    UGATE_CONFIG_DIR=DIR UGATE_PORT=PORT micropython main.py
"""
import os
import sys

try:
    import network  # noqa: F401  (a board with Wi-Fi; the unix port has none)
    BOARD = True
except ImportError:
    BOARD = False


def options(argv):
    opts = {"config_dir": os.getenv("UGATE_CONFIG_DIR") if hasattr(os, "getenv") else None,
            "server_host": None, "server_port": None}
    port = os.getenv("UGATE_PORT") if hasattr(os, "getenv") else None
    if port:
        opts["server_port"] = int(port)
    names = {"--config-dir": "config_dir", "--host": "server_host", "--port": "server_port"}
    i = 1
    while i < len(argv):
        name = names.get(argv[i])
        if name is None or i + 1 >= len(argv):
            from ugate.base.validation import ConfigError
            raise ConfigError("usage: main.py --config-dir DIR [--host HOST] [--port PORT]")
        value = argv[i + 1]
        opts[name] = int(value) if name == "server_port" else value
        i += 2
    return opts


def bring_up(config_dir, opts):
    """A board's Wi-Fi (or its setup page, which restarts it); what it took
    is unloaded then: the gateway's heap does not keep it."""
    import board_start
    try:
        board_start.start(config_dir, opts)
    finally:
        for name in ("board_start", "board_boot"):
            sys.modules.pop(name, None)


def start():
    from mp_platform import MicroPythonPlatform
    opts = options(sys.argv)
    config_dir = opts.pop("config_dir") or "/ugate-data"
    if BOARD:
        bring_up(config_dir, opts)
    from ugate import app
    app.run(config_dir, opts, MicroPythonPlatform())
    if BOARD:  # stopped from the console
        import board_appliance
        board_appliance.stopped()


def crashed(exc):
    """A board does not stop at a failure: it is written down and the board
    restarts (after a few in a row, into safe mode)."""
    sys.print_exception(exc)
    try:
        with open("ugate-data/crash.txt", "w") as f:  # the flash root is the working directory
            sys.print_exception(exc, f)
    except OSError:
        pass
    import machine
    machine.reset()


def main():
    try:
        start()
    except Exception as exc:
        if BOARD:
            crashed(exc)
        from ugate.base.validation import ConfigError
        if not isinstance(exc, (ConfigError, ValueError)):
            raise
        sys.stderr.write("error: {}\n".format(exc))
        sys.exit(2)


main()
