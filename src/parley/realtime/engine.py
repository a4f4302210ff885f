"""Parley's Engine.IO 4 and Socket.IO 5 server: sessions, namespaces, rooms and fan-out.

A `Session` is one Engine.IO connection, over HTTP long-polling or a WebSocket, and holds
one `Socket` per Socket.IO namespace the client joined. Transports live in `websocket.py`
and `polling.py`; this module never touches a byte of HTTP.

Fan-out is the hot path and has no task, queue or await in it: an event is encoded once
into an `Outgoing`, whose WebSocket frame is built once, and the same bytes are handed to
each recipient's transport in turn. A recipient too slow to take them is dropped by its
transport (`websocket.py`) and catches up with `sync` after reconnecting.

Heartbeats are Engine.IO 4's: the server pings every `ping_interval`, and closes a
session whose pong has not come `ping_timeout` later. Handlers (connect, events,
disconnect) are coroutines run in a task each; everything else is synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

from parley.realtime import packets
from parley.realtime.packets import MalformedPacket, Packet

logger = logging.getLogger(__name__)

_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Refused(Exception):
    """Raised by a connect handler: the client gets `connect_error` with this message and
    data, and the Engine.IO connection stays open for another try."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class WebSocketWriter(Protocol):
    """What a session needs of a WebSocket connection (see `websocket.py`)."""

    @property
    def write_frames(self) -> Callable[[bytes], None]:
        """The transport's own write, for the fan-out: valid until the session hears
        `transport_lost` from this connection."""
        ...

    def send_packet(self, packet: str | bytes) -> None: ...

    def close(self, code: int) -> None: ...


def new_sid() -> str:
    return secrets.token_urlsafe(15)


class Outgoing:
    """One event encoded for every recipient: its Engine.IO packets, and their WebSocket
    frames built on first use."""

    __slots__ = ("_frames", "packets")

    def __init__(self, packets_: list[str | bytes]) -> None:
        self.packets = packets_
        self._frames: bytes | None = None

    @property
    def frames(self) -> bytes:
        if self._frames is None:
            self._frames = b"".join(packets.frame(packet) for packet in self.packets)
        return self._frames


class Socket:
    """A client's connection to one namespace: who it is, and which rooms it is in."""

    __slots__ = ("context", "namespace", "rooms", "session", "sid")

    def __init__(self, session: Session, namespace: Namespace) -> None:
        self.sid = new_sid()
        self.session = session
        self.namespace = namespace
        self.rooms: set[str] = set()
        # What the namespace's handlers keep about this socket (Parley: the user).
        self.context: Any = None


ConnectHandler = Callable[[Socket, Any], Awaitable[None]]
EventHandler = Callable[[Socket, str, list[Any]], Awaitable[Any]]
DisconnectHandler = Callable[[Socket, str], Awaitable[None]]


async def _no_disconnect(_socket: Socket, _reason: str) -> None:
    return None


class Namespace:
    """A Socket.IO namespace: its handlers, its connected sockets and its rooms."""

    def __init__(
        self,
        name: str,
        on_connect: ConnectHandler,
        on_event: EventHandler,
        on_disconnect: DisconnectHandler = _no_disconnect,
    ) -> None:
        self.name = name
        self.on_connect = on_connect
        self.on_event = on_event
        self.on_disconnect = on_disconnect
        self.sockets: dict[str, Socket] = {}
        self.rooms: dict[str, set[Socket]] = {}

    def join(self, socket: Socket, room: str) -> None:
        if room in socket.rooms:
            return
        socket.rooms.add(room)
        members = self.rooms.get(room)
        if members is None:
            self.rooms[room] = {socket}
        else:
            members.add(socket)

    def leave(self, socket: Socket, room: str) -> None:
        if room not in socket.rooms:
            return
        socket.rooms.discard(room)
        members = self.rooms[room]
        members.discard(socket)
        if not members:
            del self.rooms[room]

    def encode(self, event: str, data: Any) -> Outgoing:
        """`event` with `data` as the packets every recipient gets."""
        parts = packets.encode(packets.EVENT, self.name, [event, data])
        return Outgoing([packets.MESSAGE + parts[0], *parts[1:]])

    def deliver(self, out: Outgoing, rooms: Iterable[str], skip: Iterable[Socket] = ()) -> int:
        """Hand `out` to each socket in any of `rooms`, once, except those in `skip`.

        Returns how many sockets it was handed to.
        """
        rooms = list(rooms)
        if len(rooms) == 1:
            members: Iterable[Socket] = self.rooms.get(rooms[0], ())
        else:
            union: set[Socket] = set()
            for room in rooms:
                union.update(self.rooms.get(room, ()))
            members = union
        skipped = set(skip)
        frames = out.frames
        count = 0
        # Nothing here changes a room: a recipient found too slow is dropped a step later.
        for socket in members:
            if socket in skipped:
                continue
            session = socket.session
            write = session.write
            if write is not None:  # a WebSocket: the same bytes to every recipient
                write(frames)
            else:
                session.deliver(out)
            count += 1
        return count

    def _add(self, socket: Socket) -> None:
        self.sockets[socket.sid] = socket

    def _remove(self, socket: Socket) -> None:
        """Out of the namespace and every room, at once: no event reaches it after this."""
        self.sockets.pop(socket.sid, None)
        for room in list(socket.rooms):
            self.leave(socket, room)


class Engine:
    """The sessions of this process and the namespaces they may join."""

    def __init__(
        self,
        ping_interval_seconds: float,
        ping_timeout_seconds: float,
        max_payload_bytes: int,
        cors_origins: list[str],
    ) -> None:
        self.ping_interval = ping_interval_seconds
        self.ping_timeout = ping_timeout_seconds
        self.max_payload = max_payload_bytes
        self.cors_origins = cors_origins
        self.sessions: dict[str, Session] = {}
        self.namespaces: dict[str, Namespace] = {}
        # Handler tasks, held until done (the loop keeps only weak references).
        self._tasks: set[asyncio.Task[Any]] = set()

    def allows_origin(self, origin: str, host: str | None) -> bool:
        """With no origins configured, any; else those, and the server's own."""
        if not self.cors_origins or "*" in self.cors_origins:
            return True
        return origin in self.cors_origins or urlsplit(origin).netloc == host

    def add_namespace(self, namespace: Namespace) -> None:
        self.namespaces[namespace.name] = namespace

    def open_packet(self, sid: str, upgrades: list[str]) -> str:
        """The Engine.IO handshake a new session starts with."""
        handshake = {
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": round(self.ping_interval * 1000),
            "pingTimeout": round(self.ping_timeout * 1000),
            "maxPayload": self.max_payload,
        }
        return packets.OPEN + _encode_json(handshake)

    def run(self, handler: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(handler)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_all(self, reason: str) -> None:
        for session in list(self.sessions.values()):
            session.close(reason)

    async def settle(self, timeout: float) -> None:
        """Wait for the handlers running now (a disconnect's, after `close_all`), for
        `timeout` seconds at most."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._tasks:
                    await asyncio.gather(*self._tasks, return_exceptions=True)


class Session:
    """One Engine.IO connection and the Socket.IO sockets on it.

    Packets go out over the WebSocket once there is one; before that (long-polling, or
    while a WebSocket probes for the upgrade) they wait in a buffer for the next GET.
    """

    __slots__ = (
        "_buffer",
        "_buffered_bytes",
        "_partial",
        "_poll",
        "_timer",
        "_unconnected",
        "closed",
        "engine",
        "probe",
        "sid",
        "sockets",
        "write",
        "ws",
    )

    def __init__(self, engine: Engine, ws: WebSocketWriter | None = None) -> None:
        self.engine = engine
        self.sid = new_sid()
        self.ws: WebSocketWriter | None = None
        self.write: Callable[[bytes], None] | None = None  # while on a WebSocket
        if ws is not None:
            self._use(ws)
        self.sockets: dict[str, Socket] = {}
        self.closed = False
        # A WebSocket that has answered the upgrade probe and waits for the upgrade packet.
        self.probe: WebSocketWriter | None = None
        self._buffer: list[str | bytes] = []
        self._buffered_bytes = 0
        self._poll: asyncio.Future[list[str | bytes]] | None = None
        self._partial: Packet | None = None  # a binary packet waiting for its attachments
        self._timer: asyncio.TimerHandle | None = None
        engine.sessions[self.sid] = self
        self._schedule_ping()
        # A session that joins no namespace in a heartbeat's time (45 s by default, as
        # Socket.IO's servers wait) is closed: it costs memory and proves no user.
        self._unconnected: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            engine.ping_interval + engine.ping_timeout, self._close_unconnected
        )

    # Sending

    def deliver(self, out: Outgoing) -> None:
        """Hand one prepared event to this session's transport (the fan-out's step)."""
        if self.write is not None:
            self.write(out.frames)
        elif not self.closed:
            for packet in out.packets:
                self._queue(packet)

    def send(self, packet: str | bytes) -> None:
        """One Engine.IO packet: text with its type digit, or the bytes of a binary message."""
        ws = self.ws
        if ws is not None:
            ws.send_packet(packet)
        elif not self.closed:
            self._queue(packet)

    def send_socketio(
        self, packet_type: int, namespace: str, data: Any, ack_id: int | None = None
    ) -> None:
        parts = packets.encode(packet_type, namespace, data, ack_id)
        self.send(packets.MESSAGE + parts[0])
        for attachment in parts[1:]:
            self.send(attachment)

    def _queue(self, packet: str | bytes) -> None:
        self._buffer.append(packet)
        self._buffered_bytes += len(packet)
        if self._buffered_bytes > WRITE_BUFFER_MAX_BYTES:
            self.drop_slow()
            return
        if self._poll is not None:
            # Answered a step later, with every packet queued in this one.
            asyncio.get_running_loop().call_soon(self._answer_poll)

    def _answer_poll(self) -> None:
        poll = self._poll
        if poll is not None and not poll.done() and self._buffer:
            self._poll = None
            poll.set_result(self._take_buffer())

    def drop_slow(self) -> None:
        """Close this session soon: its client has stopped taking what it is sent.

        Not at once, so that a fan-out handing out an event never sees a room change.
        """
        if not self.closed:
            logger.info("session dropped: its client is not reading", extra={"sid": self.sid})
            asyncio.get_running_loop().call_soon(self.close, "too slow")

    @property
    def waiting_packets(self) -> bool:
        """Whether packets wait for the client's next polling GET."""
        return bool(self._buffer) and not self.closed

    def _take_buffer(self) -> list[str | bytes]:
        taken, self._buffer, self._buffered_bytes = self._buffer, [], 0
        return taken

    # Long-polling

    def poll(self) -> asyncio.Future[list[str | bytes]]:
        """The packets for a polling GET: at once if any wait, else when the next arrives.

        Raises:
            MalformedPacket: a GET is already waiting (the client broke the protocol).
        """
        if self._poll is not None and not self._poll.done():
            raise MalformedPacket("overlapping polling requests")
        future: asyncio.Future[list[str | bytes]] = asyncio.get_running_loop().create_future()
        if self._buffer:
            future.set_result(self._take_buffer())
        elif self.probe is not None or self.closed:
            future.set_result([packets.NOOP])  # lets the client pause polling to upgrade
        else:
            self._poll = future
        return future

    def abandon_poll(self, waiting: asyncio.Future[list[str | bytes]]) -> None:
        """The client of a waiting GET went away: the next packets wait for its next GET."""
        if self._poll is waiting:
            self._poll = None
        waiting.cancel()

    def _release_poll(self, packet: str) -> None:
        poll, self._poll = self._poll, None
        if poll is not None and not poll.done():
            poll.set_result([*self._take_buffer(), packet])

    # Upgrade to WebSocket

    def start_upgrade(self, ws: WebSocketWriter) -> bool:
        """`ws` probed this polling session: answer, and free the client's pending GET."""
        if self.ws is not None or self.probe is not None or self.closed:
            return False
        self.probe = ws
        ws.send_packet(packets.PONG + "probe")
        self._release_poll(packets.NOOP)
        return True

    def finish_upgrade(self, ws: WebSocketWriter) -> None:
        """The client sent the upgrade packet: from now on everything goes over `ws`."""
        if self.probe is not ws:
            raise MalformedPacket("upgrade without a probe")
        self.probe = None
        self._release_poll(packets.NOOP)
        pending = self._take_buffer()
        self._use(ws)
        for packet in pending:
            ws.send_packet(packet)

    # Heartbeat

    def _schedule_ping(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.engine.ping_interval, self._ping)

    def _ping(self) -> None:
        self.send(packets.PING)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.engine.ping_timeout, self.close, "ping timeout")

    def _close_unconnected(self) -> None:
        self._unconnected = None
        if not self.sockets:
            self.close("connect timeout")

    def _pong(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._schedule_ping()

    # Receiving

    def receive(self, packet: str | bytes) -> None:
        """One Engine.IO packet from the client, over either transport.

        Raises:
            MalformedPacket: the connection must close.
        """
        if isinstance(packet, bytes):
            self._attach(packet)
            return
        if self._partial is not None:
            raise MalformedPacket("text packet while binary attachments were due")
        kind = packet[:1]
        if kind == packets.MESSAGE:
            self._receive_socketio(packets.decode(packet[1:]))
        elif kind == packets.PONG:
            self._pong()
        elif kind == packets.CLOSE:
            self.close("client disconnect")
        elif kind == packets.PING:  # Engine.IO 3 habits; answering costs nothing
            self.send(packets.PONG + packet[1:])
        elif kind != packets.NOOP:
            raise MalformedPacket("unknown Engine.IO packet type")

    def _attach(self, attachment: bytes) -> None:
        partial = self._partial
        if partial is None:
            raise MalformedPacket("binary message that no packet announced")
        partial.buffers.append(attachment)
        if len(partial.buffers) == partial.attachments:
            self._partial = None
            partial.data = partial.with_binary()
            self._receive_socketio(partial)

    def _receive_socketio(self, packet: Packet) -> None:
        if packet.attachments and len(packet.buffers) < packet.attachments:
            self._partial = packet
            return
        if packet.type == packets.CONNECT:
            self._connect(packet.namespace, packet.data)
            return
        socket = self.sockets.get(packet.namespace)
        if socket is None:
            return  # a namespace this client is not (or no longer) connected to
        if packet.type == packets.DISCONNECT:
            self._drop_socket(socket, "client namespace disconnect")
        elif packet.type in (packets.EVENT, packets.BINARY_EVENT):
            self.engine.run(self._handle_event(socket, packet))
        # Acks from the client answer emits that asked for one; this server asks for none.

    def _connect(self, name: str, auth: Any) -> None:
        namespace = self.engine.namespaces.get(name)
        if namespace is None:
            self.send_socketio(packets.CONNECT_ERROR, name, {"message": "Invalid namespace"})
            return
        if name in self.sockets:
            return  # connected already: a client retrying a connect it thinks was lost
        self.engine.run(self._accept(namespace, auth))

    async def _accept(self, namespace: Namespace, auth: Any) -> None:
        socket = Socket(self, namespace)
        try:
            await namespace.on_connect(socket, auth)
        except Refused as refusal:
            namespace._remove(socket)  # out of any room its handler put it in
            body: dict[str, Any] = {"message": refusal.message}
            if refusal.data is not None:
                body["data"] = refusal.data
            self.send_socketio(packets.CONNECT_ERROR, namespace.name, body)
            return
        if self.closed or namespace.name in self.sockets:
            # Gone while its handler ran, or connected twice at once: undo this one.
            namespace._remove(socket)
            await namespace.on_disconnect(socket, "transport close")
            return
        self.sockets[namespace.name] = socket
        namespace._add(socket)
        if self._unconnected is not None:
            self._unconnected.cancel()
            self._unconnected = None
        self.send_socketio(packets.CONNECT, namespace.name, {"sid": socket.sid})

    async def _handle_event(self, socket: Socket, packet: Packet) -> None:
        event, *args = packet.data
        try:
            result = await socket.namespace.on_event(socket, event, args)
        except Exception:  # a handler's bug must not take the session with it
            logger.exception("socket event handler failed", extra={"socket_event": event})
            return
        if packet.ack_id is not None:
            self.send_socketio(packets.ACK, socket.namespace.name, [result], packet.ack_id)

    def _drop_socket(self, socket: Socket, reason: str) -> None:
        del self.sockets[socket.namespace.name]
        socket.namespace._remove(socket)
        self.engine.run(socket.namespace.on_disconnect(socket, reason))

    # Closing

    def disconnect(self, namespace: str) -> None:
        """Disconnect this session's socket in `namespace`, telling the client."""
        socket = self.sockets.get(namespace)
        if socket is not None:
            self.send_socketio(packets.DISCONNECT, namespace, None)
            self._drop_socket(socket, "server disconnect")

    def close(self, reason: str) -> None:
        """End the session: every socket leaves its rooms now, and the transport closes."""
        if self.closed:
            return
        self.closed = True
        for timer in (self._timer, self._unconnected):
            if timer is not None:
                timer.cancel()
        self.engine.sessions.pop(self.sid, None)
        for socket in list(self.sockets.values()):
            self._drop_socket(socket, reason)
        ws, self.ws, self.write = self.ws, None, None
        if ws is not None:
            ws.close(1000)
        if self.probe is not None:
            self.probe.close(1000)
            self.probe = None
        self._release_poll(packets.CLOSE)

    def transport_lost(self, ws: WebSocketWriter) -> None:
        """`ws` is gone: the session with it, or only the probe that was to replace polling."""
        if ws is self.probe:
            self.probe = None
        elif ws is self.ws:
            self.ws = self.write = None
            self.close("transport close")

    def _use(self, ws: WebSocketWriter) -> None:
        self.ws = ws
        self.write = ws.write_frames


# Past this many bytes waiting for a client, it is dropped: about 2,000 chat events, and
# more than any one acknowledgement (a full page of `sync` is at most about 1.6 MB).
WRITE_BUFFER_MAX_BYTES = 4 * 1024 * 1024
