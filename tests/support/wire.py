"""Engine.IO v4 and Socket.IO v5 spoken by hand, for the realtime protocol tests.

No Socket.IO library here: HTTP long-polling goes through httpx, WebSocket frames through
the `websockets` client, and frames no well-behaved client would send (unmasked, reserved
opcodes, invalid UTF-8, lying length headers) through a raw TCP connection. Every wait is
bounded by a timeout, every read loop by a count.

The packet formats follow the Engine.IO v4 protocol (`<type>[<data>]`, payloads joined by
`\\x1e`, binary as `b<base64>` in polling bodies) and the Socket.IO v5 protocol
(`<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ENGINE_PATH = "/socket.io/"
NAMESPACE = "/chat"
SEPARATOR = "\x1e"  # Engine.IO v4's record separator between packets of a polling body
# Engine.IO packet types.
OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0", "1", "2", "3", "4", "5", "6"
HANDSHAKE_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}

WAIT_SECONDS = 5.0  # no single step of a healthy exchange on loopback takes this long
# A generous bound on packets skipped while looking for one (presence, pings, ...).
MAX_SKIPPED_PACKETS = 200


# URLs and HTTP long-polling


def engine_url(
    base_url: str, transport: str | None = "polling", sid: str | None = None, eio: str | None = "4"
) -> str:
    """The Engine.IO URL on `base_url` (http://...); a None parameter is left out."""
    query = {"EIO": eio, "transport": transport, "sid": sid}
    return f"{base_url}{ENGINE_PATH}?{urlencode({k: v for k, v in query.items() if v})}"


def websocket_url(base_url: str, sid: str | None = None, eio: str | None = "4") -> str:
    return engine_url(base_url, "websocket", sid, eio).replace("http://", "ws://", 1)


def http_client() -> httpx.AsyncClient:
    """An httpx client for loopback only: no proxy from the environment, bounded waits."""
    return httpx.AsyncClient(timeout=WAIT_SECONDS, trust_env=False)


def split_payload(body: str) -> list[str]:
    """The packets of a polling body."""
    return body.split(SEPARATOR)


def open_packet(packet: str) -> dict[str, Any]:
    """The handshake data of an Engine.IO `open` packet."""
    assert packet.startswith(OPEN), packet
    data: dict[str, Any] = json.loads(packet[1:])
    return data


async def request(
    http: httpx.AsyncClient, method: str, url: str, content: bytes | None = None
) -> httpx.Response:
    """One HTTP request; a server that does not answer fails the test in one line (the
    chained transport tracebacks are long and say no more)."""
    headers = {"Content-Type": "text/plain;charset=UTF-8"} if content is not None else None
    try:
        return await http.request(method, url, content=content, headers=headers)
    except httpx.TransportError as error:
        raise AssertionError(f"{method} {url}: no HTTP answer ({error!r})") from None


async def handshake_polling(http: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    """Open an Engine.IO session over polling; returns the handshake data."""
    response = await request(http, "GET", engine_url(base_url))
    assert response.status_code == 200, response.text
    return open_packet(response.text)


async def poll(http: httpx.AsyncClient, base_url: str, sid: str) -> httpx.Response:
    return await request(http, "GET", engine_url(base_url, sid=sid))


async def push(http: httpx.AsyncClient, base_url: str, sid: str, *packets: str) -> httpx.Response:
    """POST `packets` in one polling body."""
    return await request(
        http, "POST", engine_url(base_url, sid=sid), SEPARATOR.join(packets).encode()
    )


async def poll_packets(
    http: httpx.AsyncClient,
    base_url: str,
    sid: str,
    done: Callable[[list[str]], bool],
    timeout: float = WAIT_SECONDS,
    max_polls: int = 20,
) -> list[str]:
    """Poll until the packets received so far satisfy `done`; pings are answered."""
    received: list[str] = []
    async with asyncio.timeout(timeout):
        for _ in range(max_polls):
            response = await poll(http, base_url, sid)
            assert response.status_code == 200, response.text
            for packet in split_payload(response.text):
                if packet == PING:
                    await push(http, base_url, sid, PONG)
                else:
                    received.append(packet)
            if done(received):
                return received
    raise AssertionError(f"not received in {max_polls} polls: {received}")


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The `{code, message}` body of an Engine.IO HTTP error; fails on another shape."""
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("code"), int), body
    assert isinstance(body.get("message"), str), body
    return body


# Socket.IO packets


def connect_packet(token: str | None, namespace: str = NAMESPACE) -> str:
    auth = "" if token is None else json.dumps({"token": token})
    return f"{MESSAGE}0{namespace},{auth}"


def event_packet(
    event: str, payload: Any, ack_id: int | None = None, namespace: str = NAMESPACE
) -> str:
    ack = "" if ack_id is None else str(ack_id)
    return f"{MESSAGE}2{namespace},{ack}{json.dumps([event, payload])}"


@dataclass
class SocketPacket:
    """A decoded Socket.IO packet (the Engine.IO `4` already taken off)."""

    type: int
    namespace: str
    ack_id: int | None
    data: Any
    attachments: int = 0


def decode(packet: str) -> SocketPacket | None:
    """The Socket.IO packet inside an Engine.IO `message`, or None for other packets."""
    if not packet.startswith(MESSAGE) or len(packet) < 2:
        return None
    rest = packet[2:]
    kind = int(packet[1])
    attachments = 0
    if kind in (5, 6):
        count, _, rest = rest.partition("-")
        attachments = int(count)
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = ""
    while rest[: len(digits) + 1].isdigit() and len(digits) < len(rest):
        digits = rest[: len(digits) + 1]
    rest = rest[len(digits) :]
    data = json.loads(rest) if rest else None
    return SocketPacket(kind, namespace, int(digits) if digits else None, data, attachments)


def is_ack(ack_id: int, namespace: str = NAMESPACE) -> Callable[[str], bool]:
    def matches(packet: str) -> bool:
        decoded = decode(packet)
        return decoded is not None and (decoded.type, decoded.namespace, decoded.ack_id) == (
            3,
            namespace,
            ack_id,
        )

    return matches


def is_event(name: str, namespace: str = NAMESPACE) -> Callable[[str], bool]:
    def matches(packet: str) -> bool:
        decoded = decode(packet)
        return (
            decoded is not None
            and (decoded.type, decoded.namespace) == (2, namespace)
            and isinstance(decoded.data, list)
            and decoded.data[:1] == [name]
        )

    return matches


# Engine.IO over WebSocket


@dataclass
class EngineSocket:
    """One WebSocket speaking Engine.IO; `packets` keeps what was read and not yet taken."""

    ws: ClientConnection
    packets: list[str | bytes] = field(default_factory=list)

    async def send(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def receive(self, timeout: float = WAIT_SECONDS) -> str | bytes:
        """The next frame's data, as it came (server pings included)."""
        if self.packets:
            return self.packets.pop(0)
        try:
            async with asyncio.timeout(timeout):
                return await self.ws.recv()
        except TimeoutError:
            raise AssertionError(f"nothing received within {timeout} s") from None

    async def expect(self, predicate: Callable[[str], bool], timeout: float = WAIT_SECONDS) -> str:
        """The first text packet matching `predicate`; pings are answered, others kept."""
        for index, packet in enumerate(self.packets):
            if isinstance(packet, str) and predicate(packet):
                return str(self.packets.pop(index))
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_SKIPPED_PACKETS):
                    packet = await self.ws.recv()
                    if packet == PING:
                        await self.ws.send(PONG)
                    elif isinstance(packet, str) and predicate(packet):
                        return packet
                    else:
                        self.packets.append(packet)
        except TimeoutError:
            pass
        raise AssertionError(f"no matching packet; received {self.packets[-20:]}")

    async def expect_none(self, predicate: Callable[[str], bool], wait: float = 0.3) -> None:
        """No matching text packet arrives within `wait` seconds (pings are answered)."""
        with_timeout = asyncio.timeout(wait)
        try:
            async with with_timeout:
                for _ in range(MAX_SKIPPED_PACKETS):
                    packet = await self.ws.recv()
                    if packet == PING:
                        await self.ws.send(PONG)
                        continue
                    assert not (isinstance(packet, str) and predicate(packet)), packet
                    self.packets.append(packet)
        except TimeoutError:
            if not with_timeout.expired():
                raise
        assert not any(isinstance(p, str) and predicate(p) for p in self.packets), self.packets

    async def closed(self, timeout: float = WAIT_SECONDS) -> ConnectionClosed:
        """Wait until the server closes the connection, reading (not answering) what
        comes before; returns how it closed (`.rcvd` is the server's close frame)."""
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_SKIPPED_PACKETS):
                    try:
                        self.packets.append(await self.ws.recv())
                    except ConnectionClosed as closed:
                        return closed
        except TimeoutError:
            pass
        raise AssertionError(f"still open after {timeout} s; received {self.packets[-20:]}")

    async def close(self) -> None:
        await self.ws.close()


async def open_websocket(
    base_url: str, sid: str | None = None, eio: str | None = "4"
) -> EngineSocket:
    """A WebSocket to the Engine.IO endpoint; nothing is read yet."""
    ws = await connect(
        websocket_url(base_url, sid, eio),
        compression=None,  # frames on the wire exactly as sent
        proxy=None,  # loopback only, whatever the environment says
        ping_interval=None,  # WebSocket pings of our own would blur the tests of them
        max_size=None,
        open_timeout=WAIT_SECONDS,
        close_timeout=2,
    )
    return EngineSocket(ws)


async def open_engine(base_url: str) -> tuple[EngineSocket, dict[str, Any]]:
    """A WebSocket-only Engine.IO session and its handshake data."""
    engine = await open_websocket(base_url)
    first = await engine.receive()
    assert isinstance(first, str), first
    return engine, open_packet(first)


@dataclass
class ChatWire:
    """An Engine.IO session over WebSocket with a `/chat` socket connected."""

    engine: EngineSocket
    engine_sid: str
    socket_sid: str
    _next_ack: int = 100

    async def call(self, event: str, payload: Any, timeout: float = WAIT_SECONDS) -> Any:
        """Emit `event` with a fresh ack id; returns the ack's single argument."""
        self._next_ack += 1
        return await call(self.engine, event, payload, self._next_ack, timeout)

    async def close(self) -> None:
        await self.engine.close()


async def connect_chat(engine: EngineSocket, token: str) -> str:
    """Connect `/chat` on `engine` with `token`; returns the socket's sid."""
    await engine.send(connect_packet(token))
    reply = await engine.expect(
        lambda p: p.startswith(f"{MESSAGE}0{NAMESPACE},") or p.startswith(f"{MESSAGE}4{NAMESPACE},")
    )
    decoded = decode(reply)
    assert decoded is not None and decoded.type == 0, reply
    assert isinstance(decoded.data, dict) and isinstance(decoded.data.get("sid"), str), reply
    return str(decoded.data["sid"])


async def open_chat(base_url: str, token: str) -> ChatWire:
    """A WebSocket-only session with `/chat` connected as the token's user."""
    engine, handshake = await open_engine(base_url)
    return ChatWire(engine, str(handshake["sid"]), await connect_chat(engine, token))


async def call(
    engine: EngineSocket, event: str, payload: Any, ack_id: int, timeout: float = WAIT_SECONDS
) -> Any:
    """Emit `event` with `ack_id`; returns the ack's single argument."""
    await engine.send(event_packet(event, payload, ack_id))
    return ack_argument(await engine.expect(is_ack(ack_id), timeout))


def ack_argument(packet: str) -> Any:
    """The single argument of an ack packet."""
    decoded = decode(packet)
    assert decoded is not None and decoded.type == 3, packet
    assert isinstance(decoded.data, list) and len(decoded.data) == 1, packet
    return decoded.data[0]


# Raw WebSocket frames over TCP


OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(
    opcode: int,
    payload: bytes,
    *,
    masked: bool = True,
    fin: bool = True,
    declared_length: int | None = None,
) -> bytes:
    """One WebSocket frame as RFC 6455 lays it out; `declared_length` may lie."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        assert self.opcode == OP_CLOSE, self
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


@dataclass
class RawWebSocket:
    """A WebSocket over a bare TCP stream: frames are written as given, read as sent."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def send(self, data: bytes) -> None:
        """Write bytes; a server that already hung up is not an error here."""
        with contextlib.suppress(ConnectionError):
            self.writer.write(data)
            await self.writer.drain()

    async def read_frame(self, timeout: float = WAIT_SECONDS) -> Frame | None:
        """The next frame from the server, or None once the stream has ended."""
        async with asyncio.timeout(timeout):
            try:
                head = await self.reader.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                if head[1] & 0x80:  # a server must not mask; read the key anyway
                    await self.reader.readexactly(4)
                return Frame(head[0] & 0x0F, await self.reader.readexactly(length))
            except (asyncio.IncompleteReadError, ConnectionError):
                return None

    async def expect_frame(self, opcode: int, timeout: float = WAIT_SECONDS) -> Frame:
        """The first frame with `opcode`, skipping others (the open packet, pings)."""
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_SKIPPED_PACKETS):
                    received = await self.read_frame(timeout)
                    assert received is not None, f"the stream ended before a frame {opcode:#x}"
                    if received.opcode == opcode:
                        return received
        except TimeoutError:
            pass
        raise AssertionError(f"no frame {opcode:#x} within {timeout} s")

    async def close_code(self, timeout: float = WAIT_SECONDS) -> int | None:
        """The code of the server's close frame (None if it hung up without one)."""
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_SKIPPED_PACKETS):
                    received = await self.read_frame(timeout)
                    if received is None:
                        return None
                    if received.opcode == OP_CLOSE:
                        return received.close_code
        except TimeoutError:
            pass
        raise AssertionError(f"no close frame and no end of stream within {timeout} s")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


async def upgrade_request(base_url: str, path: str) -> tuple[str, RawWebSocket]:
    """Send a WebSocket upgrade request for `path` over bare TCP; returns the status line
    of the answer and the stream, whose headers have been read."""
    address = urlsplit(base_url)
    assert address.hostname == "127.0.0.1", base_url  # loopback servers only
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(address.hostname, address.port), WAIT_SECONDS
    )
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    async with asyncio.timeout(WAIT_SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode()
    return status_line, RawWebSocket(reader, writer)


async def open_raw_engine(base_url: str) -> RawWebSocket:
    """A raw WebSocket Engine.IO session whose open packet has been read."""
    status_line, raw = await upgrade_request(base_url, f"{ENGINE_PATH}?EIO=4&transport=websocket")
    assert " 101 " in f"{status_line} ", status_line
    first = await raw.expect_frame(OP_TEXT)
    assert first.payload.startswith(OPEN.encode()), first
    return raw
