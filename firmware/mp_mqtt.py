"""The MQTT client of the MicroPython platform (the contract is in
ugate.base.mqtt): umqtt.simple 1.3.4, a blocking client installed into the
build from PyPI (tools/mpy_packages.py), driven from asyncio so that the
gateway keeps serving while it talks to the broker.

- connect: the broker is reached first with a non-blocking asyncio
  connection, so a host that does not answer costs a retry later, not a
  stall; then umqtt's blocking CONNECT on a socket with a timeout.
- every blocking read or write of umqtt waits at most `timeout` seconds
  (umqtt sets plain blocking mode; `_Link` turns it into a timeout), and
  TCP_NODELAY keeps a QoS 1 publish from waiting on Nagle's algorithm.
- message() polls check_msg() every `poll_ms`, pings every keepalive/2
  and gives up (OSError) when the broker sent nothing for 1.5 keepalives.

What still blocks the event loop: the DNS lookup of a host name, the TCP
connect and TLS handshake after the probe, a QoS 1 publish until its
PUBACK (one round trip), each at most `timeout` seconds when the link dies
in the middle of it.
"""
import asyncio
import socket
import time

from umqtt import simple

from ugate.base import log
from ugate.base.mqtt import refusal

# Linux and lwIP agree on these; MicroPython's socket module names neither.
IPPROTO_TCP = 6
TCP_NODELAY = 1

_log = log.get("mqtt")


class _Sockets:
    """Stands in for the socket module inside umqtt.simple while it
    connects: the socket it makes has a timeout and TCP_NODELAY."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.made = None

    def getaddrinfo(self, *args):
        return socket.getaddrinfo(*args)

    def socket(self, *args):
        sock = socket.socket(*args)
        sock.settimeout(self.timeout)
        try:
            sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
        except OSError:  # a stack without it is only slower
            pass
        self.made = sock
        return sock


class _Link:
    """umqtt's socket (TLS or not) once connected: its blocking mode is a
    timeout on the TCP socket, and the time the broker last sent anything
    is kept (umqtt reads a PINGRESP without telling)."""

    def __init__(self, sock, tcp, timeout):
        self.sock = sock
        self.tcp = tcp
        self.timeout = timeout
        self.heard = time.ticks_ms()

    def read(self, n):
        data = self.sock.read(n)
        if data:
            self.heard = time.ticks_ms()
        return data

    def write(self, data, n=None):
        return self.sock.write(data) if n is None else self.sock.write(data, n)

    def setblocking(self, flag):
        self.sock.setblocking(flag)
        if flag:
            self.tcp.settimeout(self.timeout)

    def close(self):
        self.sock.close()


def _call(method, *args):
    """A umqtt call; an answer it cannot parse (it asserts, or indexes an
    empty read at the end of the stream) is a broken connection."""
    try:
        return method(*args)
    except (AssertionError, IndexError, simple.MQTTException):
        raise OSError("the broker's answer made no sense, or it closed the connection")


class Client:
    #: Messages received and not yet taken; past this the oldest are dropped.
    max_inbox = 16
    #: Seconds one blocking read or write of the client may take.
    timeout = 5
    #: Milliseconds between two polls for a message.
    poll_ms = 20

    def __init__(self, host, port, client_id, username, password, ssl, keepalive, will):
        self.host = host
        self.port = port
        self.keepalive = keepalive
        params = {"context": ssl, "server_hostname": host} if ssl else {}
        # umqtt writes str with its length in characters: bytes only.
        self.client = simple.MQTTClient(
            client_id.encode(), host, port, username.encode() if username is not None else None,
            (password or "").encode(), keepalive, bool(ssl), params)
        self.client.set_last_will(will[0].encode(), will[1], True, 1)
        self.client.set_callback(self._received)
        self.inbox = []
        self.dropped = 0
        self.link = None
        self.pinged = 0

    async def connect(self):
        await self.close()
        self.inbox = []
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        except asyncio.TimeoutError:
            raise OSError("no answer from {}:{} within {} s".format(self.host, self.port, self.timeout))
        writer.close()
        await writer.wait_closed()
        sockets = _Sockets(self.timeout)
        simple.socket = sockets
        try:
            self.client.connect()
        except simple.MQTTException as exc:
            await self.close()
            raise refusal(exc.args[0])
        except (AssertionError, IndexError):
            await self.close()
            raise OSError("no MQTT answer from {}:{}".format(self.host, self.port))
        except ValueError as exc:  # MicroPython's ssl: the certificate is not trusted
            await self.close()
            raise OSError("TLS: {}".format(str(exc).strip()))
        except OSError:
            await self.close()
            raise
        self.link = self.client.sock = _Link(self.client.sock, sockets.made, self.timeout)
        self.pinged = time.ticks_ms()

    async def subscribe(self, topic):
        _call(self.client.subscribe, topic.encode(), 0)

    async def publish(self, topic, payload, retain=False):
        _call(self.client.publish, topic.encode(), payload, retain, 1)
        await asyncio.sleep_ms(0)  # others run between two messages

    async def message(self):
        while not self.inbox:
            self._poll()
            if not self.inbox:
                await asyncio.sleep_ms(self.poll_ms)
        return self.inbox.pop(0)

    def _poll(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self.link.heard) > self.keepalive * 1500:
            raise OSError("the broker sent nothing for {} s".format(self.keepalive * 3 // 2))
        if time.ticks_diff(now, self.pinged) >= self.keepalive * 500:
            _call(self.client.ping)
            self.pinged = now
        _call(self.client.check_msg)

    def _received(self, topic, payload):
        if len(self.inbox) >= self.max_inbox:
            self.inbox.pop(0)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                _log.warning("{} messages from the broker dropped: more than {} waiting".format(
                    self.dropped, self.max_inbox))
        try:
            self.inbox.append((topic.decode(), payload))
        except UnicodeError:
            pass  # brokers check topics are UTF-8; nothing to answer here

    async def close(self):
        """Drop the connection without DISCONNECT: the broker publishes
        the will."""
        sock, self.client.sock, self.link = self.client.sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
