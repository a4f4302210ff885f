"""The WebSocket transport: RFC 6455 straight on the TCP connection, beneath ASGI.

uvicorn parses the HTTP request on Parley's port; an upgrade to WebSocket is handed to
`WebSocketConnection`, which answers the handshake for `/socket.io/` and from then on
reads frames into Engine.IO packets and writes packets as frames. Writes go to the
transport at once: no task, queue or await per connection. A client that lets more than
`WRITE_BUFFER_MAX_BYTES` pile up unread is dropped.

Text frames carry Engine.IO text packets, binary frames binary messages. Fragmented
messages are reassembled; messages over the engine's `max_payload` close the connection
(1009), as do frames the RFC forbids from a client (1002) and text that is not UTF-8 (1007).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from parley.realtime import packets
from parley.realtime.engine import WRITE_BUFFER_MAX_BYTES, Engine, Session
from parley.realtime.packets import MalformedPacket, frame, frame_bytes

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing on some platforms
    from websockets.utils import apply_mask

logger = logging.getLogger(__name__)

SOCKETIO_PATH = "/socket.io/"
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Opcodes.
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0, 1, 2, 8, 9, 10

# Close codes.
NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009
SERVICE_RESTART = 1012
# Close codes no endpoint may send (RFC 6455, 7.4.1), or not yet assigned.
_RESERVED_CODES = {1004, 1005, 1006, 1015, *range(1016, 3000)}

# An upgrade request's headers larger than this are not a browser's or a client library's.
REQUEST_MAX_BYTES = 16 * 1024


def _close_frame(code: int) -> bytes:
    return frame_bytes(0x80 | _CLOSE, code.to_bytes(2, "big"))


class WebSocketConnection(asyncio.Protocol):
    """One client's WebSocket: the Engine.IO session it carries, or probes to upgrade."""

    __slots__ = (
        "_buffer",
        "_closing",
        "_connections",
        "_engine",
        "_fragments",
        "_fragments_bytes",
        "_fragments_opcode",
        "_open",
        "_session",
        "_stalled",
        "_transport",
        "_write",
    )

    def __init__(self, engine: Engine, server_state: Any) -> None:
        self._engine = engine
        self._connections: set[Any] = server_state.connections
        self._transport: asyncio.Transport | None = None
        self._write: Any = None
        self._buffer = b""
        self._open = False  # the handshake is done
        self._closing = False
        # Past the write buffer's bound: a close then discards what is buffered.
        self._stalled = False
        self._session: Session | None = None
        # A fragmented message so far: its opcode and its parts.
        self._fragments: list[bytes] = []
        self._fragments_opcode = 0
        self._fragments_bytes = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._write = self._transport.write
        # The buffer limit is the slow-client rule: past it asyncio calls pause_writing.
        self._transport.set_write_buffer_limits(high=WRITE_BUFFER_MAX_BYTES)
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._closing = True
        session, self._session = self._session, None
        if session is not None:
            session.transport_lost(self)

    def pause_writing(self) -> None:
        self._stalled = True
        if self._session is not None:
            self._session.drop_slow()
        else:
            self.close(GOING_AWAY)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if not self._open:
            self._handshake(data)
            return
        buffer = self._buffer + data if self._buffer else data
        try:
            consumed = self._read_frames(buffer)
        except _Fail as failure:
            logger.warning(
                "websocket closed on bad input",
                extra={"code": failure.code, "reason": failure.reason},
            )
            self.close(failure.code)
            return
        self._buffer = buffer[consumed:]

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: the client reconnects, to another process."""
        self.close(SERVICE_RESTART)

    # What a session writes through (engine.WebSocketWriter)

    @property
    def write_frames(self) -> Any:
        return self._write

    def send_packet(self, packet: str | bytes) -> None:
        if not self._closing:
            self._write(frame(packet))

    def resume_writing(self) -> None:
        self._stalled = False

    def close(self, code: int) -> None:
        if self._closing or self._transport is None:
            return
        self._closing = True
        if self._stalled:
            # A close frame would wait behind megabytes the client is not reading, and so
            # would the buffer's memory: both go now.
            self._transport.abort()
        else:
            if self._open:
                self._write(_close_frame(code))
            self._transport.close()
        session, self._session = self._session, None
        if session is not None:
            session.transport_lost(self)

    # The handshake

    def _handshake(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > REQUEST_MAX_BYTES:
                self._refuse(431, "request headers too large")
            return
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1] if lines[0].count(" ") == 2 else ""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        url = urlsplit(target)
        if url.path != SOCKETIO_PATH:
            self._refuse(404, "not found")
            return
        key = headers.get("sec-websocket-key", "")
        if headers.get("sec-websocket-version") != "13" or len(key) != 24:
            self._refuse(400, "not a WebSocket handshake")
            return
        origin = headers.get("origin")
        if origin is not None and not self._engine.allows_origin(origin, headers.get("host")):
            self._refuse(403, "origin not allowed")
            return
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        problem = _engineio_problem(query, "websocket")
        if problem is not None:
            self._refuse(400, problem)
            return
        sid = query.get("sid")
        session = self._engine.sessions.get(sid) if sid else None
        if sid and session is None:
            self._refuse(400, "unknown session")
            return
        if session is not None and (session.ws is not None or session.probe is not None):
            self._refuse(400, "session already upgraded")
            return

        accept = base64.b64encode(hashlib.sha1(key.encode() + _ACCEPT_GUID).digest())
        self._write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self._open = True
        if session is None:
            session = Session(self._engine, ws=self)
            self.send_packet(self._engine.open_packet(session.sid, []))
        self._session = session
        if self._buffer:
            pending, self._buffer = self._buffer, b""
            self.data_received(pending)

    def _refuse(self, status: int, reason: str) -> None:
        assert self._transport is not None
        body = reason.encode()
        self._write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        self._closing = True
        self._transport.close()

    # Frames

    def _read_frames(self, buffer: bytes) -> int:
        """Handle every complete frame in `buffer`; returns the bytes used."""
        at = 0
        size = len(buffer)
        max_payload = self._engine.max_payload
        while size - at >= 2 and not self._closing:
            first, second = buffer[at], buffer[at + 1]
            opcode = first & 0x0F
            length = second & 0x7F
            head = 2
            if length == 126:
                head = 4
                if size - at < head:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 4], "big")
            elif length == 127:
                head = 10
                if size - at < head:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
            if first & 0x70:
                raise _Fail(PROTOCOL_ERROR, "reserved bits set")
            if not second & 0x80:
                raise _Fail(PROTOCOL_ERROR, "unmasked client frame")
            if length + self._fragments_bytes > max_payload:
                raise _Fail(TOO_BIG, "message over the size limit")
            end = at + head + 4 + length
            if end > size:
                break
            mask = buffer[at + head : at + head + 4]
            payload = apply_mask(buffer[at + head + 4 : end], mask) if length else b""
            at = end
            self._frame_received(bool(first & 0x80), opcode, payload)
        return at

    def _frame_received(self, final: bool, opcode: int, payload: bytes) -> None:
        if opcode >= _CLOSE:
            self._control(final, opcode, payload)
            return
        if opcode == _CONTINUATION:
            if not self._fragments:
                raise _Fail(PROTOCOL_ERROR, "continuation of nothing")
        elif opcode in (_TEXT, _BINARY):
            if self._fragments:
                raise _Fail(PROTOCOL_ERROR, "new message inside a fragmented one")
            if final:
                self._message(opcode, payload)
                return
            self._fragments_opcode = opcode
        else:
            raise _Fail(PROTOCOL_ERROR, "reserved opcode")
        self._fragments.append(payload)
        self._fragments_bytes += len(payload)
        if final:
            whole = b"".join(self._fragments)
            self._fragments, self._fragments_bytes = [], 0
            self._message(self._fragments_opcode, whole)

    def _control(self, final: bool, opcode: int, payload: bytes) -> None:
        if not final or len(payload) > 125:
            raise _Fail(PROTOCOL_ERROR, "fragmented or long control frame")
        if opcode == _PING:
            self._write(frame_bytes(0x80 | _PONG, payload))
        elif opcode == _CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else NORMAL
            valid = len(payload) != 1 and 1000 <= code < 5000 and code not in _RESERVED_CODES
            self.close(code if valid else PROTOCOL_ERROR)
        elif opcode != _PONG:
            raise _Fail(PROTOCOL_ERROR, "reserved opcode")

    def _message(self, opcode: int, payload: bytes) -> None:
        packet: str | bytes
        if opcode == _TEXT:
            try:
                packet = payload.decode()
            except UnicodeDecodeError:
                raise _Fail(INVALID_DATA, "text that is not UTF-8") from None
        else:
            packet = payload
        session = self._session
        if session is None:
            return
        try:
            if session.ws is self:
                session.receive(packet)
            else:
                self._probing(session, packet)
        except MalformedPacket as error:
            raise _Fail(PROTOCOL_ERROR, str(error)) from None

    def _probing(self, session: Session, packet: str | bytes) -> None:
        """The upgrade of a polling session: `2probe`, then `5`; anything else ends it."""
        if packet == packets.PING + "probe" and session.probe is None:
            if not session.start_upgrade(self):
                raise MalformedPacket("session cannot upgrade")
        elif packet == packets.UPGRADE and session.probe is self:
            session.finish_upgrade(self)
        elif packet != packets.NOOP:
            raise MalformedPacket("unexpected packet during the upgrade")


class _Fail(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def _engineio_problem(query: dict[str, str], transport: str) -> str | None:
    if query.get("EIO") != "4":
        return "unsupported protocol version"
    if query.get("transport") != transport:
        return "unknown transport"
    return None
