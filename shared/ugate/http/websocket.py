"""WebSocket framing (RFC 6455) over Microdot's handshake: whole messages
in, text sent as frames of bounded size. Knows nothing of what the messages
mean (Home Assistant's WebSocket API is `ugate.faces.homeassistant.websocket`)."""
import asyncio

from microdot import Request
from microdot.websocket import WebSocket, WebSocketError


class MessageStream(WebSocket):
    """Microdot's WebSocket read as whole messages.

    Microdot refuses fragmented messages and reads the frame header with
    `read(2)`, which may return one byte on CPython; here every part of a
    frame is read exactly, fragments are joined up to the largest request
    body (`Request.max_body_length`) and sends are serialised (the reader
    answers pings while the writer task sends, and MicroPython allows one
    writer per socket at a time).
    """

    #: A text sent as pieces (`send_text`) goes out in frames of about this
    #: size: a message larger than that is fragmented, never built whole.
    frame_bytes = 2048
    #: Bytes asked of the socket at a time while reading a payload.
    read_bytes = 4096

    #: Frames up to this size go out with their header in one write.
    joined_bytes = 1024

    def __init__(self, request):
        super().__init__(request)
        self._sending = asyncio.Lock()

    async def handshake(self):
        # One write, not Microdot's four.
        accept = self._handshake_response()
        await self.request.sock[1].awrite(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")

    async def send(self, data, opcode=None):
        # Header and payload go out separately: no third copy of a large
        # message in a board's heap.
        if isinstance(data, str):
            data = data.encode()
            opcode = opcode or self.TEXT
        await self._send_frame(opcode or self.BINARY, data, True)

    async def send_text(self, pieces):
        """Send the text made of the strings `pieces` yields: one frame when
        it fits in `frame_bytes`, else a fragmented message (a text frame,
        then continuation frames, RFC 6455 5.4), so the whole text never has
        to fit in the heap at once."""
        opcode = self.TEXT
        parts = []
        size = 0
        for piece in pieces:
            data = piece.encode()
            parts.append(data)
            size += len(data)
            if size >= self.frame_bytes:
                await self._send_frame(opcode, b"".join(parts), False)
                opcode = self.CONT
                parts = []
                size = 0
        await self._send_frame(opcode, b"".join(parts), True)

    async def _send_frame(self, opcode, data, fin):
        first = (0x80 if fin else 0) | opcode
        n = len(data)
        if n < 126:
            header = bytes((first, n))
        elif n < 65536:
            header = bytes((first, 126)) + n.to_bytes(2, "big")
        else:
            header = bytes((first, 127)) + n.to_bytes(8, "big")
        writer = self.request.sock[1]
        async with self._sending:
            if n <= self.joined_bytes:
                await writer.awrite(header + data)
            else:
                await writer.awrite(header)
                await writer.awrite(data)

    async def close(self, code=1000):
        if not self.closed:
            self.closed = True
            await self.send(code.to_bytes(2, "big"), self.CLOSE)

    async def receive_message(self, limit=None):
        """The next data message as (opcode, payload), opcode TEXT or BINARY,
        at most `limit` bytes (default: as large as a request body may be,
        `limits.max_body_bytes`, small on a board). Pings are answered
        on the way; WebSocketError when the client closes or breaks the
        protocol, EOFError when the socket ends."""
        limit = limit or Request.max_body_length
        opcode = None
        parts = []
        size = 0
        while True:
            fin, frame_opcode, payload = await self._read_exact_frame(limit - size)
            if frame_opcode == self.PING:
                await self.send(payload, self.PONG)
                continue
            if frame_opcode == self.PONG:
                continue
            if frame_opcode == self.CLOSE:
                raise WebSocketError("closed by the client")
            if frame_opcode == self.CONT:
                if opcode is None:
                    raise WebSocketError("continuation frame without a message")
            elif frame_opcode in (self.TEXT, self.BINARY):
                if opcode is not None:
                    raise WebSocketError("new message inside a fragmented one")
                opcode = frame_opcode
            else:
                raise WebSocketError("unknown opcode {}".format(frame_opcode))
            if fin and not parts:
                return opcode, payload
            parts.append(payload)
            size += len(payload)
            if fin:
                return opcode, b"".join(parts)

    async def _read_exact_frame(self, room):
        read = self.request.sock[0].readexactly
        header = await read(2)
        length = header[1] & 0x7F
        if length == 126:
            length = int.from_bytes(await read(2), "big")
        elif length == 127:
            length = int.from_bytes(await read(8), "big")
        if length > max(room, 125):  # control frames carry at most 125 bytes
            raise WebSocketError("message too large")
        mask = await read(4) if header[1] & 0x80 else None
        payload = await self._payload(length) if length else b""
        if mask:
            unmask(payload, mask)
        return header[0] & 0x80, header[0] & 0x0F, payload

    async def _payload(self, length):
        """The next `length` bytes, read into one buffer made first (no
        second copy to unmask). When the heap has no room for it nothing of
        the payload has been read yet: it is read and dropped, then
        MemoryError raised, so the close that follows reaches the client
        (closing with unread data would reset the connection)."""
        reader = self.request.sock[0]
        try:
            buf = bytearray(length)
        except MemoryError:
            while length > 0:
                chunk = await reader.read(min(length, self.read_bytes))
                if not chunk:
                    break
                length -= len(chunk)
            raise
        done = 0
        while done < length:
            chunk = await reader.read(min(length - done, self.read_bytes))
            if not chunk:
                raise EOFError("the socket ended inside a frame")
            buf[done:done + len(chunk)] = chunk
            done += len(chunk)
        return buf


#: Bytes unmasked per step (a multiple of 4).
UNMASK_BLOCK = 256


def unmask(data, mask):
    """XOR a client's payload (a bytearray, changed in place) with its 4-byte
    mask. One integer XOR per block runs at C speed on both runtimes (a byte
    loop would hold the event loop for seconds on a large message) and needs
    no more memory than a block."""
    key = int.from_bytes(mask * (UNMASK_BLOCK // 4), "big")
    for start in range(0, len(data), UNMASK_BLOCK):
        block = data[start:start + UNMASK_BLOCK]
        n = len(block)
        value = int.from_bytes(block, "big") ^ (key >> (8 * (UNMASK_BLOCK - n)))
        data[start:start + n] = value.to_bytes(n, "big")
