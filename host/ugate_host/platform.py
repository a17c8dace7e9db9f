"""The host platform (CPython on a Raspberry Pi or a desktop)."""
import asyncio
import signal
import ssl

import serial_asyncio_fast

from ugate.base.validation import ConfigError


class HostPlatform:
    name = "cpython"
    #: Defaults for the `limits` config section; a host has room to spare.
    limits = {
        "max_body_bytes": 16 * 1024 * 1024,  # Home Assistant's limit
        "max_header_line": 8190,
        "max_connections": 256,
        "idle_timeout": 60,
        "max_entities": 10000,
        "max_bans": 1024,
    }
    #: No class attribute is lowered: the classes' own values are the host's.
    class_limits = {}

    def ssl_context(self, certfile, keyfile):
        """PEM files as Home Assistant users have them: a certificate chain
        (Let's Encrypt fullchain.pem, or self-signed) and its key."""
        def no_passphrase():
            # Without this OpenSSL would prompt on the terminal and hang a service.
            raise ConfigError("cannot load ssl_key {}: it is encrypted; store it without "
                              "a passphrase".format(keyfile))

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(certfile, keyfile, password=no_passphrase)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("cannot load ssl_certificate/ssl_key: {}".format(exc))
        return ctx

    def client_ssl_context(self, verify=True, ca_file=None):
        """TLS for the gateway as a client (forwarders): the system's CAs, or
        `ca_file` (PEM) alone; no verification when `verify` is false."""
        try:
            ctx = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("cannot load ca_file {}: {}".format(ca_file, exc))
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def mqtt_client(self, host, port, client_id, username, password, ssl, keepalive, will):
        """An MQTT client (ugate.base.mqtt): aiomqtt."""
        from ugate_host.mqtt import Client
        return Client(host, port, client_id, username, password, ssl, keepalive, will)

    def parts(self, hub):
        """Parts of the platform's own, set up like the faces: none here."""
        return []

    def on_stop_signal(self, stop):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)

    async def open_serial(self, port):
        """A `serial` config entry's device (a tty or a pty link) opened raw at
        its baud rate, as asyncio (reader, writer); OSError if it cannot be."""
        return await serial_asyncio_fast.open_serial_connection(url=port["port"], baudrate=port["baudrate"])
