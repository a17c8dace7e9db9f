"""The MicroPython platform: the unix port (the firmware twin the tests run)
and boards (ESP32, Pico W). Boards have less memory, so the limits are low."""
import sys

from ugate.config import ConfigError

IS_UNIX = sys.platform == "linux"


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


def _read(path):
    with open(path, "rb") as f:
        return f.read()
