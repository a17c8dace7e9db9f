"""The MicroPython platform: the unix port (the firmware twin the tests run)
and boards (ESP32, Pico W). Boards have less memory, so the limits are low."""
import asyncio
import gc
import os
import sys

from ugate.base.validation import ConfigError

IS_UNIX = sys.platform == "linux"
#: A board (with Wi-Fi) runs the gateway inside the board appliance
#: (board_main); so does the unix port with UGATE_BOARD=1, given stand-ins
#: for network, machine and ntptime (tests/test_board_appliance.py). Decided
#: without trying to import `network`: on the unix port a failed import
#: shifted the heap enough to fail the memory budgets.
IS_BOARD = not IS_UNIX or os.getenv("UGATE_BOARD") == "1"


class MicroPythonPlatform:
    name = "micropython-" + sys.platform
    #: Defaults for the `limits` config section, sized for a board's heap.
    limits = {
        "max_body_bytes": 16 * 1024,
        "max_header_line": 2048,
        "max_connections": 8,
        "idle_timeout": 20,
        # An entity costs ~0.7 KB of a 32-bit heap: a board without PSRAM
        # holds a few hundred at most.
        "max_entities": 256,
        "max_bans": 64,
    }
    #: Class attributes lowered for a board's heap, as "module.Class.attribute":
    #: what one slow client, a burst of devices or a flood of failed logins
    #: may hold. Applied to the modules a config loads (`ugate.app.lower_limits`);
    #: the host keeps the classes' own values.
    class_limits = {
        "ugate.base.bounded_queue.BoundedQueue.max_items": 128,
        "ugate.base.log.Log.max_file_size": 64 * 1024,
        "ugate.http.ban.IpBan.max_counted": 32,
        "ugate.http.server.Server.keepalive_timeout": 10,
        "ugate.http.server.Server.max_keepalive_requests": 100,
        "ugate.http.server.Server.write_timeout": 20,
        "ugate.http.server.Server.max_header_lines": 32,
        "ugate.http.server.Server.max_head_bytes": 8 * 1024,
        "ugate.http.server.Server.write_bytes": 2048,
        "ugate.http.sse.EventStreamBody.max_pending_bytes": 16 * 1024,
        "ugate.faces.hono.ConsumerStream.max_pending_bytes": 32 * 1024,
        "ugate.faces.homeassistant.websocket.Connection.max_pending": 64,
        "ugate.faces.homeassistant.websocket.Connection.max_subscriptions": 16,
        "ugate.hub.messages.EventStore.max_per_tenant": 32,
        "ugate.hub.auth.Auth.max_refresh_tokens": 8,
        "ugate.hub.auth.Auth.max_access_tokens": 2,
        "ugate.faces.homeassistant.login_flow.LoginFlows.max_entries": 4,
        "ugate.faces.homeassistant.login_flow.AuthCodes.max_entries": 4,
        "ugate.sources.hono.commands.WaitingDevices.max_pending": 8,
        "ugate.http.client.Client.max_body_bytes": 8 * 1024,
        "ugate.faces.forward.hono.HonoGateway.max_queued": 16,
        "ugate.faces.homeassistant.mobile_app.registrations.Registrations.max_registrations": 8,
        "ugate.faces.homeassistant.mobile_app.registrations.Registrations.max_sensors": 40,
        "ugate.faces.homeassistant.mobile_app.push.Push.max_pending": 8,
        "ugate.base.throttle.Throttle.max_addresses": 32,
        "ugate.hub.states.StateMachine.max_notifications": 16,
        "ugate.sources.hono.adapter.Adapter.max_entities_per_tenant": 64,
        "ugate.sources.sensors.mysensors.MySensors.max_children": 64,
        "ugate.sources.sensors.mysensors.MySensors.max_values": 128,
        "ugate.hub.history.History.max_points": 16,
    }

    #: The heap is collected after every 1/`gc_share` of it has been
    #: allocated. Between two collections the allocator walks up the heap,
    #: and the long-lived objects made on the way (entities) end up scattered
    #: over all of it: with MicroPython's own threshold (a full heap), 130
    #: entities left a 512 KB heap with 200 KB free and no free block of
    #: 1.4 KB; collected every 128 KB, the largest block stayed above 38 KB
    #: with 250 entities. (Every 32 KB kept more but cost up to half the
    #: throughput of make bench.)
    gc_share = 4
    #: The states' JSON is kept for reuse (`StateMachine.max_json_chars`, a
    #: speed-up of GET /api/states and the event streams) in 1/`json_share`
    #: of the heap beyond its first `json_heap_floor` bytes: none on a board
    #: without PSRAM, which needs every KB (20 states' JSON took 2 to 6 KB of
    #: a generic ESP32's 107 KB), 56 K characters in the unix port's 2 MB.
    json_heap_floor = 256 * 1024
    json_share = 32

    def __init__(self):
        gc.collect()
        heap = gc.mem_free() + gc.mem_alloc()
        gc.threshold(heap // self.gc_share)
        self.class_limits = dict(self.class_limits)
        self.class_limits["ugate.hub.states.StateMachine.max_json_chars"] = self.json_chars(heap)

    @classmethod
    def json_chars(cls, heap):
        """Characters of state JSON kept in a heap of `heap` bytes."""
        return max(0, heap - cls.json_heap_floor) // cls.json_share

    def ssl_context(self, certfile, keyfile):
        """A server context from the PEM (or DER) files Home Assistant users
        have (mp_tls, loaded by the configs that use TLS)."""
        from mp_tls import server_context
        return server_context(certfile, keyfile)

    def client_ssl_context(self, verify=True, ca_file=None):
        """TLS for the gateway as a client (forwarders), see mp_tls."""
        from mp_tls import client_context
        return client_context(verify, ca_file)

    def mqtt_client(self, host, port, client_id, username, password, ssl, keepalive, will):
        """An MQTT client (ugate.base.mqtt): umqtt.simple driven from asyncio
        (mp_mqtt.py)."""
        try:
            from mp_mqtt import Client
        except ImportError as exc:
            raise ConfigError("MQTT needs umqtt.simple, installed into the build by "
                              "tools/mpy_packages.py (make does it): {}".format(exc))
        return Client(host, port, client_id, username, password, ssl, keepalive, will)

    def lan_address(self):
        """The board's Wi-Fi address (None on the unix port)."""
        try:
            import network
            return network.WLAN(network.STA_IF).ifconfig()[0]
        except (ImportError, AttributeError, OSError):
            return None

    async def advertise(self, service):
        """Announce `service` by mDNS (`mp_mdns`, imported only by a config
        that announces)."""
        from mp_mdns import advertise
        await advertise(service, service.address or self.lan_address())

    def parts(self, hub):
        """A board's part of the gateway (board_appliance: status and update
        API, clock, watchdog); none on the unix port."""
        if not IS_BOARD:
            return []
        import board_appliance
        return [board_appliance]

    def memory(self):
        """The heap, free and used, for the owner's status page."""
        gc.collect()
        return {"heap_free_bytes": gc.mem_free(), "heap_used_bytes": gc.mem_alloc()}

    def restart(self):
        """A board resets (a clean heap); the unix port starts again in this
        process (`ugate.app.run`)."""
        if IS_BOARD:
            import machine
            machine.reset()

    def on_stop_signal(self, stop):
        pass  # no signals here: Ctrl-C raises KeyboardInterrupt, SIGTERM ends the process

    async def open_serial(self, port):
        """A `serial` config entry as asyncio (reader, writer): `uartN` is a
        board UART, anything else a device file (a tty or a pty link)."""
        if port["port"].startswith("uart"):
            from board_uart import open_uart  # only boards have machine.UART
            stream = open_uart(int(port["port"][4:]), port["baudrate"])
        else:
            from unix_tty import open_tty  # only the unix port has device files
            stream = open_tty(port["port"], port["baudrate"])
        return asyncio.StreamReader(stream), asyncio.StreamWriter(stream, {})
