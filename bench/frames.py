"""What a WebSocket costs per frame in Python: Parley's own framing against the libraries.

Two measures, CPU only (no socket: the kernel's share is the same for all):
- read: one masked client frame carrying a typical `sendMessage` event, parsed into its
  text, with Parley's reader, websockets' sans-I/O protocol and wsproto;
- fan-out: one event written to 100 recipients, with Parley's frame built once and
  handed to each, against framing it per recipient through websockets and wsproto.

    .venv/bin/python -m bench.frames
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import wsproto.events
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from wsproto.connection import Connection, ConnectionType

from parley.realtime.engine import Engine, Session
from parley.realtime.packets import frame
from parley.realtime.websocket import WebSocketConnection

EVENT = (
    '42/chat,17["sendMessage",{"conversationId":"0b7f8e0c-53a1-4a41-9f57-2d1d6c0e8f11",'
    '"clientId":"c-1234567890","content":"Lunch at noon? The usual place, I booked a table."}]'
)
RECIPIENTS = 100
ROUNDS = 20_000


def masked(text: str) -> bytes:
    """`text` as a client sends it: one masked text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    length = len(payload)
    head = (
        bytes((0x81, 0x80 | length))
        if length < 126
        else bytes((0x81, 0xFE)) + length.to_bytes(2, "big")
    )
    return head + mask + body


def per_call(work: Callable[[], Any], rounds: int = ROUNDS) -> float:
    """Microseconds per call of `work`, best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            work()
        best = min(best, (time.perf_counter() - started) / rounds * 1e6)
    return best


class _Sink:
    """A transport that takes bytes and drops them."""

    def write(self, data: bytes) -> None:
        pass

    def set_write_buffer_limits(self, high: int) -> None:
        pass

    def close(self) -> None:
        pass


class _State:
    def __init__(self) -> None:
        self.connections: set[Any] = set()


def parley_reader() -> Callable[[], Any]:
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    engine = Engine(25, 20, 1 << 20, [])
    connection = WebSocketConnection(engine, _State())
    connection.connection_made(_Sink())  # type: ignore[arg-type]  # a stand-in transport
    connection._open = True

    class _Reader(Session):
        def receive(self, packet: str | bytes) -> None:
            pass

    session = _Reader.__new__(_Reader)
    session.ws = connection
    connection._session = session
    data = masked(EVENT)
    return lambda: connection.data_received(data)


def opened() -> ServerProtocol:
    """A websockets server protocol past its handshake."""
    protocol = ServerProtocol()
    protocol.receive_data(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    (request,) = protocol.events_received()
    assert isinstance(request, Request)
    protocol.send_response(protocol.accept(request))
    protocol.data_to_send()
    return protocol


def websockets_reader() -> Callable[[], Any]:
    protocol = opened()
    data = masked(EVENT)

    def read() -> Any:
        protocol.receive_data(data)
        (received,) = protocol.events_received()
        assert isinstance(received, Frame)
        return bytes(received.data).decode()

    return read


def wsproto_reader() -> Callable[[], Any]:
    connection = Connection(ConnectionType.SERVER)
    data = masked(EVENT)

    def read() -> Any:
        connection.receive_data(data)
        received = next(connection.events())
        assert isinstance(received, wsproto.events.TextMessage)
        return received.data

    return read


def parley_fan_out() -> Callable[[], Any]:
    sinks = [_Sink() for _ in range(RECIPIENTS)]

    def fan_out() -> None:
        framed = frame(EVENT)
        for sink in sinks:
            sink.write(framed)

    return fan_out


def websockets_fan_out() -> Callable[[], Any]:
    protocols = [opened() for _ in range(RECIPIENTS)]
    sinks = [_Sink() for _ in range(RECIPIENTS)]

    def fan_out() -> None:
        for protocol, sink in zip(protocols, sinks, strict=True):
            protocol.send_frame(Frame(Opcode.TEXT, EVENT.encode()))
            for data in protocol.data_to_send():
                sink.write(data)

    return fan_out


def wsproto_fan_out() -> Callable[[], Any]:
    connections = [Connection(ConnectionType.SERVER) for _ in range(RECIPIENTS)]
    sinks = [_Sink() for _ in range(RECIPIENTS)]

    def fan_out() -> None:
        for connection, sink in zip(connections, sinks, strict=True):
            sink.write(connection.send(wsproto.events.TextMessage(EVENT)))

    return fan_out


def main() -> None:
    print(f"read one client frame ({len(EVENT)} bytes), us per frame:")
    for name, make in (
        ("Parley", parley_reader),
        ("websockets (sans-I/O)", websockets_reader),
        ("wsproto", wsproto_reader),
    ):
        print(f"  {name:24} {per_call(make()):6.2f}")
    print(f"one event to {RECIPIENTS} recipients, us per recipient:")
    for name, make in (
        ("Parley (framed once)", parley_fan_out),
        ("websockets (sans-I/O)", websockets_fan_out),
        ("wsproto", wsproto_fan_out),
    ):
        print(f"  {name:24} {per_call(make(), ROUNDS // RECIPIENTS) / RECIPIENTS:6.3f}")


if __name__ == "__main__":
    main()
