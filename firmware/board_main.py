"""A board's main: main.py hands over to it where there is Wi-Fi. Wi-Fi (or
the setup page, or safe mode: board_start, unloaded once Wi-Fi is up), then
the gateway (main.py's own main); a board does not stop at a failure: it is
written to ugate-data/crash.txt and the board restarts (boot.py counts the
failures; after a few in a row, safe mode)."""
import sys


def bring_up(config_dir, opts):
    """Wi-Fi, or the setup page (which restarts the board); what it took is
    unloaded then: the gateway's heap does not keep it."""
    import board_start
    try:
        board_start.start(config_dir, opts)
    finally:
        for name in ("board_start", "board_boot"):
            sys.modules.pop(name, None)


def crashed(exc):
    sys.print_exception(exc)
    try:
        with open("ugate-data/crash.txt", "w") as f:  # the flash root is the working directory
            sys.print_exception(exc, f)
    except OSError:
        pass
    import machine
    machine.reset()


def run(options, gateway):
    """`options(argv)` is main.py's parser, `gateway()` its main."""
    try:
        opts = options(sys.argv)
        bring_up(opts.pop("config_dir") or "/ugate-data", opts)
        gateway()
    except KeyboardInterrupt:  # the owner at the console
        raise
    except BaseException as exc:  # SystemExit too: main.py's exit on a bad config
        crashed(exc)
    import board_appliance
    board_appliance.stopped()  # gateway() returns when stopped from the console
