"""The host platform (CPython on a Raspberry Pi or a desktop)."""
import asyncio
import signal
import socket
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

    def lan_address(self):
        """The IPv4 address phones reach this machine at: the one its route to
        the mDNS group leaves from (connecting a UDP socket sends nothing)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect(("224.0.0.251", 5353))
                return s.getsockname()[0]
            except OSError:
                return None

    async def advertise(self, service):
        """Announce `service` (ugate.faces.homeassistant.zeroconf.Service) with
        python-zeroconf until the gateway stops, as Home Assistant does: the
        host name is the instance id, a taken instance name gets a suffix."""
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf
        address = service.address or self.lan_address()
        info = AsyncServiceInfo(service.type, "{}.{}".format(service.name, service.type),
                                port=service.port, properties=service.properties,
                                server="{}.local.".format(service.properties["uuid"]),
                                parsed_addresses=[address] if address else None)
        zc = AsyncZeroconf(interfaces=[service.address] if service.address else InterfaceChoice.All,
                           ip_version=IPVersion.V4Only)
        try:
            await zc.async_register_service(info, allow_name_change=True)
            await asyncio.Event().wait()  # until the gateway stops
        finally:
            await zc.async_close()  # says goodbye for the registered service

    def memory(self):
        """The process's resident memory (Linux), for the owner's status page."""
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return {"rss_bytes": int(line.split()[1]) * 1024}
        except OSError:
            pass
        return {}

    def restart(self):
        pass  # `ugate.app.run` starts again in this process

    def on_stop_signal(self, stop):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)

    async def open_serial(self, port):
        """A `serial` config entry's device (a tty or a pty link) opened raw at
        its baud rate, as asyncio (reader, writer); OSError if it cannot be."""
        return await serial_asyncio_fast.open_serial_connection(url=port["port"], baudrate=port["baudrate"])
