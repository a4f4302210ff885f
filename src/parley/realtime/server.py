"""Parley's Socket.IO server: the `/chat` namespace on Parley's own engine.

It authenticates connections, keeps each socket in its user's room and its conversations'
rooms, validates every event's payload, turns errors into acknowledgements, logs one DEBUG
line per event, and hands events to other processes through Redis (`crossing.py`). The
protocol itself is in `engine.py`, `websocket.py` and `polling.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from parley.config import Settings
from parley.errors import ParleyError, RateLimited, Unauthorized, Unavailable, ValidationFailed
from parley.metrics import Metrics
from parley.realtime import packets
from parley.realtime.crossing import EMIT, RESYNC, ROOMS, Crossing
from parley.realtime.engine import Engine, Namespace, Outgoing, Refused, Socket
from parley.realtime.polling import polling_app
from parley.realtime.websocket import WebSocketConnection

logger = logging.getLogger(__name__)

NAMESPACE = "/chat"
# After a drain has flushed the last acknowledgements, this long before the connections
# close: a close frame in the same read as an acknowledgement races clients that handle
# each packet in a task of their own (python-socketio's client drops such an ack).
DRAIN_LINGER_SECONDS = 0.2
# How often a drain looks whether polling clients have fetched what waits for them, and
# how long it waits for that: a polling client asks again within moments of an answer.
DRAIN_POLL_SECONDS = 0.05
DRAIN_FETCH_SECONDS = 1.0

PayloadT = TypeVar("PayloadT", bound=BaseModel)


@dataclass
class SocketContext:
    """One connected socket: who it is, for the handlers of its events."""

    sid: str
    user_id: uuid.UUID
    connected_at: float = field(default_factory=time.monotonic)


Handler = Callable[[SocketContext, PayloadT], Awaitable[BaseModel | dict[str, Any]]]
ConnectHook = Callable[[SocketContext], Awaitable[None]]


@dataclass
class _Route(Generic[PayloadT]):
    model: type[PayloadT]
    handler: Handler[PayloadT]


def user_room(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


CONVERSATION_ROOM_PREFIX = "conversation:"


def conversation_room(conversation_id: uuid.UUID) -> str:
    return f"{CONVERSATION_ROOM_PREFIX}{conversation_id}"


# How long a message that skips ahead of its conversation's seq waits for the ones before
# it, and how many conversations' newest seq a process remembers for that.
HOLD_SECONDS = 0.5
FIRST_HOLD_SECONDS = 0.05
ROOMS_REMEMBERED = 100_000

ConversationsOf = Callable[[uuid.UUID], Awaitable[Iterable[uuid.UUID]]]

# One fan-out: the event, its rooms, and the user whose sockets it skips.
_Delivery = tuple[Outgoing, list[str], uuid.UUID | None]


class _SeqOrder:
    """Puts each room's messages back in `seq` order.

    Messages of one conversation sent through different processes reach Redis in the order
    their processes publish them, which is not always the order of their commits. A message
    that skips ahead is held until the ones before it arrive, or for HOLD_SECONDS at most
    (a process that died between commit and publish leaves a gap for good; clients fill it
    with `sync`). The first message a process sees of a room, unless it is the room's first,
    waits FIRST_HOLD_SECONDS for any before it that are on their way.
    """

    def __init__(self, on_timeout: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        self._on_timeout = on_timeout
        self._timeouts: set[asyncio.Task[None]] = set()
        self._last: OrderedDict[str, int] = OrderedDict()  # newest seq delivered, by room
        self._held: dict[str, dict[int, Any]] = {}
        self._waits: dict[str, asyncio.TimerHandle] = {}  # by room, while it holds any

    def offer(self, room: str, seq: int, item: Any) -> list[Any]:
        """What to deliver now, in order: `item` and any it unblocked, or nothing yet."""
        last = self._last.get(room)
        if seq > (last if last is not None else 0) + 1:
            held = self._held.setdefault(room, {})
            if not held:
                wait = HOLD_SECONDS if last is not None else FIRST_HOLD_SECONDS
                self._waits[room] = asyncio.get_running_loop().call_later(
                    wait, self._time_out, room
                )
            held[seq] = item
            return []
        ready = [item]
        if last is None or seq > last:  # a late duplicate or stray changes nothing
            self._set_last(room, seq)
            held = self._held.get(room, {})
            while seq + 1 in held:
                seq += 1
                ready.append(held.pop(seq))
                self._set_last(room, seq)
            if room in self._held and not held:
                # The gap filled: this wait is over, and must not cut short a later one.
                del self._held[room]
                self._waits.pop(room).cancel()
        return ready

    def _time_out(self, room: str) -> None:
        task = asyncio.create_task(self._on_timeout(room))
        self._timeouts.add(task)
        task.add_done_callback(self._timeouts.discard)

    def give_up(self, room: str) -> list[Any]:
        """The held messages of `room`, in order, after waiting long enough for the gap."""
        held = self._held.pop(room, {})
        self._waits.pop(room, None)
        if held:
            self._set_last(room, max(held))
        return [held[seq] for seq in sorted(held)]

    def _set_last(self, room: str, seq: int) -> None:
        self._last[room] = seq
        self._last.move_to_end(room)
        if len(self._last) > ROOMS_REMEMBERED:
            self._last.popitem(last=False)


def error_ack(error: ParleyError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.detail}
    if isinstance(error, RateLimited):
        body["retryAfter"] = error.retry_after
    return {"ok": False, "error": body}


class RealtimeServer:
    """Parley's real-time engine: the `/chat` namespace and the `Broadcaster` services use."""

    def __init__(
        self,
        settings: Settings,
        authenticate: Callable[[str], Awaitable[uuid.UUID]],
        metrics: Metrics,
    ) -> None:
        self._authenticate = authenticate
        self._metrics = metrics
        self._routes: dict[str, _Route[Any]] = {}
        self._on_connect: list[ConnectHook] = []
        self._on_disconnect: list[ConnectHook] = []
        self._conversations_of: ConversationsOf | None = None
        # This process's connected sockets, by sid and by user.
        self._sockets: dict[str, SocketContext] = {}
        self._by_user: dict[uuid.UUID, set[Socket]] = {}
        # Events being handled now, for the drain on SIGTERM.
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        self._drain_timeout = settings.drain_timeout_seconds
        self._engine = Engine(
            ping_interval_seconds=settings.heartbeat_interval_seconds,
            ping_timeout_seconds=settings.heartbeat_timeout_seconds,
            max_payload_bytes=settings.socket_packet_max_bytes,
            cors_origins=settings.cors_origins,
        )
        self._chat = Namespace(NAMESPACE, self._connect, self._dispatch, self._disconnect)
        self._engine.add_namespace(self._chat)
        self._crossing: Crossing | None = None
        self._in_order: _SeqOrder | None = None
        if settings.redis_url:
            self._crossing = Crossing(
                settings.redis_url,
                f"{settings.redis_prefix}:realtime",
                settings.redis_timeout_seconds,
                self._from_other_process,
                self._resync_rooms,
                metrics.redis_errors.inc,
            )
            # Within one process the send writer emits a conversation's messages in seq
            # order; across processes, Redis brings them in publishing order.
            self._in_order = _SeqOrder(self._deliver_late)

    # Wiring

    def on(self, event: str, model: type[PayloadT], handler: Handler[PayloadT]) -> None:
        """Handle `event`, whose payload must validate as `model`; the result is the ack."""
        self._routes[event] = _Route(model, handler)

    def rooms_from(self, conversations_of: ConversationsOf) -> None:
        """Where a user's conversations come from: a socket joins their rooms on connect,
        and is put back in exactly those after events may have been lost."""
        self._conversations_of = conversations_of

    def on_connect(self, hook: ConnectHook) -> None:
        """Run `hook` for each new socket after it has joined its user's room."""
        self._on_connect.append(hook)

    def on_disconnect(self, hook: ConnectHook) -> None:
        self._on_disconnect.append(hook)

    def asgi_app(self, other: Any) -> Any:
        """An ASGI app serving Engine.IO's long-polling at `/socket.io/` and `other`
        everywhere else."""
        return polling_app(self._engine, other)

    def websocket_protocol(self, **uvicorn_arguments: Any) -> WebSocketConnection:
        """The protocol uvicorn hands a WebSocket upgrade to (its `ws` setting)."""
        return WebSocketConnection(self._engine, uvicorn_arguments["server_state"])

    def start(self) -> None:
        """Listen to the other processes' events."""
        if self._crossing is not None:
            self._crossing.start()

    def connected_count(self) -> int:
        return len(self._sockets)

    @property
    def draining(self) -> bool:
        return self._draining

    async def drain(self, timeout: float) -> None:
        """Answer new events `unavailable`, finish the ones being handled and send their
        acknowledgements, so that nothing stored goes unacknowledged when the process stops.

        What the process does next (closing the connections) makes clients reconnect
        elsewhere and resend what was refused, with the same `clientId`.
        """
        self._draining = True
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
                # WebSockets have their acknowledgements already; polling clients fetch
                # theirs within moments, and one that has not in a second has gone.
                sessions = self._engine.sessions.values()
                fetched_by = time.monotonic() + DRAIN_FETCH_SECONDS
                while any(session.waiting_packets for session in sessions):
                    if time.monotonic() >= fetched_by:
                        break
                    await asyncio.sleep(DRAIN_POLL_SECONDS)
                if self._engine.sessions:
                    await asyncio.sleep(DRAIN_LINGER_SECONDS)
        logger.info(
            "socket events drained",
            extra={
                "unfinished": self._in_flight,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )

    async def disconnect_all(self) -> None:
        """Close every connection, so clients reconnect elsewhere, and run the disconnect
        hooks of their sockets."""
        self._engine.close_all("server shutting down")
        await self._engine.settle(self._drain_timeout)

    async def close(self) -> None:
        """Hand the events still queued for other processes to Redis, within its timeout."""
        if self._crossing is not None:
            await self._crossing.close()

    # Broadcaster

    async def to_conversation(
        self,
        conversation_id: uuid.UUID,
        event: str,
        payload: dict[str, Any],
        exclude_user: uuid.UUID | None = None,
    ) -> None:
        room = conversation_room(conversation_id)
        out = self._chat.encode(event, payload)
        seq = payload.get("seq") if event == "newMessage" else None
        self._deliver_here((out, [room], exclude_user), seq)
        if self._crossing is not None:
            skip = exclude_user and str(exclude_user)
            self._publish({"k": EMIT, "e": event, "r": [room], "x": skip, "s": seq}, out)

    async def to_users(
        self, user_ids: Iterable[uuid.UUID], event: str, payload: dict[str, Any]
    ) -> None:
        rooms = [user_room(user_id) for user_id in user_ids]
        if not rooms:
            return
        out = self._chat.encode(event, payload)
        self._deliver_here((out, rooms, None), None)
        if self._crossing is not None:
            self._publish({"k": EMIT, "e": event, "r": rooms}, out)

    def _publish(self, header: dict[str, Any], out: Outgoing) -> None:
        assert self._crossing is not None
        # The correlation id of the request or event that caused this emit travels with it,
        # so the fan-out on every process logs under the same id.
        header["c"] = structlog.contextvars.get_contextvars().get("correlation_id")
        (packet,) = out.packets  # emits carry JSON: one text packet, no attachments
        assert isinstance(packet, str)
        self._crossing.publish(header, packet)

    def _deliver_here(self, delivery: _Delivery, seq: Any) -> None:
        """Hand an event to this process's sockets; a conversation's messages in seq order."""
        if self._in_order is None or not isinstance(seq, int):
            self._hand_out(delivery)
            return
        for ready in self._in_order.offer(delivery[1][0], seq, delivery):
            self._hand_out(ready)

    async def _deliver_late(self, room: str) -> None:
        assert self._in_order is not None
        for ready in self._in_order.give_up(room):
            self._hand_out(ready)

    def _hand_out(self, delivery: _Delivery) -> None:
        out, rooms, skip_user = delivery
        skip = self._by_user.get(skip_user, ()) if skip_user is not None else ()
        self._chat.deliver(out, rooms, skip)

    def _from_other_process(self, header: dict[str, Any], payload: str) -> None:
        kind = header.get("k")
        if kind == RESYNC:
            self._engine.run(self._resync_rooms())
        elif kind == ROOMS:
            users = [uuid.UUID(u) for u in header["users"]]
            self._apply_rooms_change(header["change"], users, uuid.UUID(header["room"]))
        elif kind == EMIT:
            skip = uuid.UUID(header["x"]) if header.get("x") else None
            delivery = (Outgoing([payload]), list(header["r"]), skip)
            if logger.isEnabledFor(logging.DEBUG):
                correlation_id = header.get("c") or uuid.uuid4().hex
                with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
                    logger.debug(
                        "fan-out from another process",
                        extra={"socket_event": header.get("e"), "rooms": header["r"]},
                    )
            self._deliver_here(delivery, header.get("s"))

    # Rooms

    async def join_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        self._change_rooms("join", list(user_ids), conversation_id)

    async def leave_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        self._change_rooms("leave", list(user_ids), conversation_id)

    def _change_rooms(
        self, change: str, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        """Here at once; on the other processes before any later event of this one (both
        travel in the same channel, in order)."""
        self._apply_rooms_change(change, user_ids, conversation_id)
        if self._crossing is not None:
            users = [str(u) for u in user_ids]
            header = {"k": ROOMS, "change": change, "users": users, "room": str(conversation_id)}
            self._crossing.publish(header)

    def _apply_rooms_change(
        self, change: str, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        room = conversation_room(conversation_id)
        for user_id in user_ids:
            for socket in self._by_user.get(user_id, ()):
                if change == "join":
                    self._chat.join(socket, room)
                else:
                    self._chat.leave(socket, room)

    async def _resync_rooms(self) -> None:
        """Put every socket of this process in exactly its user's conversation rooms."""
        if self._conversations_of is None:
            return
        moved = 0
        for user_id, sockets in list(self._by_user.items()):
            try:
                wanted = {conversation_room(c) for c in await self._conversations_of(user_id)}
            except ParleyError:
                logger.warning("rooms not checked: the database is unavailable")
                return
            for socket in list(sockets):
                held = {room for room in socket.rooms if room.startswith(CONVERSATION_ROOM_PREFIX)}
                for room in wanted - held:
                    self._chat.join(socket, room)
                for room in held - wanted:
                    self._chat.leave(socket, room)
                moved += len(wanted ^ held)
        logger.info("socket rooms checked against the database", extra={"changes": moved})

    def user_socket_count(self, user_id: uuid.UUID) -> int:
        return len(self._by_user.get(user_id, ()))

    # Namespace handlers

    async def _connect(self, socket: Socket, auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            if not isinstance(token, str):
                raise Unauthorized("auth.token is missing")
            user_id = await self._authenticate(token)
        except ParleyError as error:
            # Whatever is wrong with the token, the client is told only that it is not
            # accepted; a failing database is the one other reason worth telling.
            code = error.code if isinstance(error, Unavailable) else "unauthorized"
            logger.info("socket refused", extra={"sid": socket.sid, "outcome": code})
            raise Refused(code, {"code": code}) from None

        context = SocketContext(sid=socket.sid, user_id=user_id)
        socket.context = context
        self._chat.join(socket, user_room(user_id))
        self._by_user.setdefault(user_id, set()).add(socket)
        try:
            if self._conversations_of is not None:
                for conversation_id in await self._conversations_of(user_id):
                    self._chat.join(socket, conversation_room(conversation_id))
            for hook in self._on_connect:
                await hook(context)
        except ParleyError as error:
            self._forget(socket)
            logger.warning("socket refused", extra={"sid": socket.sid, "outcome": error.code})
            raise Refused(error.detail, {"code": error.code}) from None
        self._sockets[socket.sid] = context
        self._metrics.connected_sockets.inc()
        logger.info("socket connected", extra={"sid": socket.sid, "user_id": str(user_id)})

    async def _disconnect(self, socket: Socket, reason: str) -> None:
        context = self._sockets.pop(socket.sid, None)
        if context is None:
            return
        self._metrics.connected_sockets.dec()
        # Hooks must not count this socket as present any more.
        self._forget(socket)
        for hook in self._on_disconnect:
            try:
                await hook(context)
            except Exception:
                logger.exception("disconnect hook failed", extra={"sid": socket.sid})
        logger.info(
            "socket disconnected",
            extra={"sid": socket.sid, "user_id": str(context.user_id), "reason": reason},
        )

    def _forget(self, socket: Socket) -> None:
        user_id = socket.context.user_id
        sockets = self._by_user.get(user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._by_user[user_id]

    async def _dispatch(self, socket: Socket, event: str, args: list[Any]) -> dict[str, Any]:
        started = time.perf_counter()
        correlation_id = uuid.uuid4().hex
        context: SocketContext | None = self._sockets.get(socket.sid)
        outcome = "ok"
        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            self._in_flight += 1
            self._idle.clear()
            try:
                if self._draining:
                    raise Unavailable("server is shutting down: reconnect and send again")
                ack = await self._handle(context, event, args)
            except ParleyError as error:
                outcome = error.code
                ack = error_ack(error)
            except Exception:
                outcome = "internal"
                logger.exception("socket event failed", extra={"socket_event": event})
                ack = error_ack(ParleyError("internal error"))
            finally:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.set()
            if event in self._routes:  # unknown names would make labels without bound
                self._metrics.socket_events.labels(event, outcome).inc()
            logger.debug(
                "socket event",
                extra={
                    "socket_event": event,
                    "sid": socket.sid,
                    "user_id": str(context.user_id) if context else None,
                    "outcome": outcome,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
        return ack

    async def _handle(
        self, context: SocketContext | None, event: str, args: list[Any]
    ) -> dict[str, Any]:
        if context is None:
            raise ValidationFailed("socket is not connected")
        route = self._routes.get(event)
        if route is None:
            raise ValidationFailed(f"unknown event {event!r}")
        if len(args) != 1 or not isinstance(args[0], dict):
            raise ValidationFailed("the payload must be one JSON object")
        if packets.has_binary(args[0]):
            raise ValidationFailed("binary values are not accepted: the payload must be JSON")
        try:
            payload = route.model.model_validate(args[0])
        except ValidationError as exc:
            raise ValidationFailed(describe_validation_error(exc)) from None
        result = await route.handler(context, payload)
        if isinstance(result, BaseModel):
            return {"ok": True, "data": result.model_dump(mode="json", by_alias=True)}
        return {"ok": True, "data": result}


def describe_validation_error(error: ValidationError) -> str:
    """A short, safe summary: where and what, never the offending values."""
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item["loc"]) or "payload"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)
