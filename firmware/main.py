"""Start ugate under MicroPython.

On a board it runs at boot with the config directory /ugate-data (not
/ugate: sys.path starts with the flash root, where a directory named like the
package would shadow it), inside the board appliance (board_main: Wi-Fi
or the setup page first; a failure restarts the board). Under the unix port
(the firmware twin) the config directory and address come from the command
line or the environment:

    micropython main.py --config-dir DIR [--host HOST] [--port PORT]
    UGATE_CONFIG_DIR=DIR UGATE_PORT=PORT micropython main.py
"""
import os
import sys

from mp_platform import IS_BOARD, MicroPythonPlatform
from ugate import app
from ugate.base.validation import ConfigError


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
            raise ConfigError("usage: main.py --config-dir DIR [--host HOST] [--port PORT]")
        value = argv[i + 1]
        opts[name] = int(value) if name == "server_port" else value
        i += 2
    return opts


def main():
    try:
        opts = options(sys.argv)
        config_dir = opts.pop("config_dir") or "/ugate-data"
        app.run(config_dir, opts, MicroPythonPlatform())
    except (ConfigError, ValueError) as exc:
        sys.stderr.write("error: {}\n".format(exc))
        sys.exit(2)


if IS_BOARD:  # the board appliance around the gateway
    import board_main
    board_main.run(options, main)
else:
    main()
