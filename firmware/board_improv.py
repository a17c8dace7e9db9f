"""Improv over serial: Wi-Fi set up from a computer over the board's USB
serial port (ESP Web Tools, Home Assistant's Improv integration), beside
the setup page, while the board has no Wi-Fi. Packets are "IMPROV", version
1, type, length, data and a checksum (the low byte of the sum of every byte
before it); the board answers the client's RPC commands: current state,
device information, the networks in reach, Wi-Fi settings (joined, then
saved as the setup page saves them, then a restart)."""
import asyncio
import sys

import micropython

from ugate import VERSION
from ugate.base import log

_log = log.get("improv")

HEADER = b"IMPROV"
VERSION_BYTE = 1
CURRENT_STATE, ERROR_STATE, RPC_COMMAND, RPC_RESULT = 1, 2, 3, 4
READY, PROVISIONING, PROVISIONED = 2, 3, 4
NO_ERROR, INVALID_RPC, UNKNOWN_RPC, UNABLE_TO_CONNECT = 0, 1, 2, 3
WIFI_SETTINGS, REQUEST_STATE, DEVICE_INFO, SCAN = 1, 2, 3, 4
#: The longest packet: header, version, type, length, 255 bytes, checksum.
MAX_PACKET = 6 + 3 + 255 + 1


def packet(kind, data):
    body = HEADER + bytes([VERSION_BYTE, kind, len(data)]) + data
    return body + bytes([sum(body) & 0xFF])


def strings(*items):
    out = b""
    for item in items:
        item = item.encode()
        out += bytes([len(item)]) + item
    return out


def result(command, *items):
    data = strings(*items)
    return packet(RPC_RESULT, bytes([command, len(data)]) + data)


def split(buffer):
    """(packets, rest): the whole packets in `buffer` as (type, data, ok),
    `ok` False for a bad checksum; what precedes a header (console text) is
    dropped, a packet cut short stays in `rest`."""
    packets = []
    while True:
        start = buffer.find(HEADER)
        if start < 0:
            return packets, buffer[-(len(HEADER) - 1):]
        buffer = buffer[start:]
        if len(buffer) < 9 or len(buffer) < 10 + buffer[8]:
            return packets, buffer
        end = 9 + buffer[8]
        packets.append((buffer[7], buffer[9:end], sum(buffer[:end]) & 0xFF == buffer[end]))
        buffer = buffer[end + 1:]


def wifi_settings(data):
    """(ssid, password) from an RPC's data; ValueError when malformed."""
    n = data[0]
    ssid = data[1:1 + n]
    m = data[1 + n]
    password = data[2 + n:2 + n + m]
    if len(ssid) != n or len(password) != m or not n:
        raise ValueError("bad Wi-Fi settings")
    return ssid.decode(), password.decode()


class Improv:
    """The Improv service: `networks` are (ssid, rssi, secured);
    `connect(ssid, password)` joins and returns the gateway's URL there (or
    None), `provisioned(ssid, password)` saves and restarts."""

    def __init__(self, name, board, networks, connect, provisioned):
        self.name, self.board, self.networks = name, board, networks
        self.connect, self.provisioned = connect, provisioned

    def answer(self, kind, data, ok):
        """The packets answering one packet from the client."""
        if kind != RPC_COMMAND:
            return []
        if not ok or len(data) < 2 or len(data) != 2 + data[1]:
            return [packet(ERROR_STATE, bytes([INVALID_RPC]))]
        command, body = data[0], data[2:]
        out = [packet(ERROR_STATE, bytes([NO_ERROR]))]
        if command == REQUEST_STATE:
            out.append(packet(CURRENT_STATE, bytes([READY])))
        elif command == DEVICE_INFO:
            out.append(result(DEVICE_INFO, "ugate", VERSION, self.board, self.name))
        elif command == SCAN:
            for ssid, rssi, secured in self.networks:
                out.append(result(SCAN, ssid, str(rssi), "YES" if secured else "NO"))
            out.append(result(SCAN))
        elif command == WIFI_SETTINGS:
            try:
                ssid, password = wifi_settings(body)
            except (ValueError, IndexError, UnicodeError):
                return [packet(ERROR_STATE, bytes([INVALID_RPC]))]
            out.append(packet(CURRENT_STATE, bytes([PROVISIONING])))
            url = self.connect(ssid, password)
            if not url:
                return out + [packet(ERROR_STATE, bytes([UNABLE_TO_CONNECT]))]
            self.provisioned(ssid, password)
            out += [packet(CURRENT_STATE, bytes([PROVISIONED])), result(WIFI_SETTINGS, url)]
        else:
            return [packet(ERROR_STATE, bytes([UNKNOWN_RPC]))]
        return out

    async def serve(self, reader, write):
        """Answer packets from `reader` with `write(bytes)` until it ends.
        Ctrl-C is an ordinary byte meanwhile (an RPC command's type is 0x03)."""
        micropython.kbd_intr(-1)
        try:
            buffer = b""
            while True:
                # A byte at a time: a console's read(n) waits for all n bytes.
                chunk = await reader.read(1)
                if not chunk:
                    return
                packets, buffer = split(buffer + chunk)
                buffer = buffer[-MAX_PACKET:]
                for kind, data, ok in packets:
                    for reply in self.answer(kind, data, ok):
                        write(reply)
        finally:
            micropython.kbd_intr(3)


def console():
    """(reader, write) on the board's serial console."""
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    stdout = getattr(sys.stdout, "buffer", sys.stdout)
    return asyncio.StreamReader(stdin), stdout.write
