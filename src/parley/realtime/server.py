"""The Socket.IO server behind Parley's own interface.

This is the only module that knows python-socketio. It authenticates connections, keeps
each socket in its user's room and its conversations' rooms, validates every event's
payload, turns errors into acknowledgements, and logs one DEBUG line per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from weakref import WeakValueDictionary

import engineio.packet
import socketio
import socketio.packet
import structlog
from pydantic import BaseModel, ValidationError
from redis import asyncio as aioredis

from parley.config import Settings
from parley.errors import ParleyError, RateLimited, Unauthorized, Unavailable, ValidationFailed
from parley.metrics import Metrics

logger = logging.getLogger(__name__)

NAMESPACE = "/chat"
# After a drain has flushed the last acknowledgements, this long before the connections
# close: a close frame in the same read as an acknowledgement races clients that handle
# each packet in a task of their own (python-socketio's client drops such an ack).
DRAIN_LINGER_SECONDS = 0.2

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


# The event name under which room changes travel between processes, in the same channel and
# order as every other event: a socket joins a room before the room's next event reaches it.
ROOMS_EVENT = "parley:rooms"
# Sent when events may have been lost between processes: each process then puts its
# sockets back in exactly the rooms of their users' conversations, from the database.
RESYNC_EVENT = "parley:resync"
LISTEN_RETRY_SECONDS = 1.0
# How long a message that skips ahead of its conversation's seq waits for the ones before
# it, and how many conversations' newest seq a process remembers for that.
HOLD_SECONDS = 0.5
FIRST_HOLD_SECONDS = 0.05
ROOMS_REMEMBERED = 100_000

# Events waiting to cross to other processes, and how many go to Redis in one round trip.
PUBLISH_QUEUE_MAX = 10_000
PUBLISH_BATCH_MAX = 500

RoomsChange = Callable[[str, list[uuid.UUID], uuid.UUID], Awaitable[None]]
ConversationsOf = Callable[[uuid.UUID], Awaitable[Iterable[uuid.UUID]]]


class _InTurnManager(socketio.AsyncManager):  # type: ignore[misc]  # untyped library
    """python-socketio's room bookkeeping, with a fan-out that hands an event to each
    recipient's connection in turn.

    python-socketio starts a task per recipient and waits for them all; a packet is put on
    a connection's queue without waiting, so the tasks cost CPU and buy nothing. The packet
    is still encoded once for everyone.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:  # a distinct ack id per recipient: python-socketio's way
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            socketio.packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        packets = [
            engineio.packet.Packet(engineio.packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        skipped = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skipped:
                continue
            for packet in packets:
                try:
                    await self.server._send_eio_packet(eio_sid, packet)
                except Exception:  # a recipient closing meanwhile misses it, nobody else
                    logger.debug("event not handed to a closing socket", extra={"sid": sid})


class _RedisManager(socketio.AsyncRedisManager, _InTurnManager):  # type: ignore[misc]
    """python-socketio's Redis manager, taught two things it lacks.

    Room changes for a user's sockets on every process (it joins rooms by local socket id
    only), and emits that skip one user's sockets wherever they are.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        timeout: float,
        on_rooms: RoomsChange,
        skip: SkipSids,
        on_error: Callable[[], None],
        on_missed: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": timeout})
        self._on_rooms = on_rooms
        self._skip = skip
        self._on_error = on_error
        self._on_missed = on_missed
        self._timeout = timeout
        # Set when events may have been lost between processes (a failed publish, a lost
        # subscription): once Redis answers again, every process redoes its rooms.
        self._missed_events = False
        # Publishing has a client of its own with a read timeout, which the subscriber's
        # blocking reads cannot have, and a single task that sends whatever has queued up in
        # one round trip. Emits never wait for Redis: their local delivery is done, and a
        # hung Redis costs the other processes' fan-out, not every sender a timeout.
        self._publisher = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=PUBLISH_QUEUE_MAX)
        self._publishing: asyncio.Task[None] | None = None
        self._in_order = _SeqOrder(self._deliver_late)
        # Held only while in use: a room's lock goes when nobody holds or awaits it.
        self._room_locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    async def publish_rooms(
        self, change: str, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        data = {"change": change, "users": [str(u) for u in user_ids], "room": str(conversation_id)}
        await self._publish(self._message(ROOMS_EVENT, data, None, None))

    async def emit_skipping_user(
        self, event: str, data: dict[str, Any], room: str, user_id: uuid.UUID
    ) -> None:
        message = self._message(event, data, room, str(user_id))
        await self._handle_emit(message)
        await self._publish(message)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """The subscription to other processes' events, taken again a second after it is
        lost (not after a growing back-off: a Redis back up should be used at once)."""
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if self._missed_events:
                    logger.info("events from other processes are arriving again")
                    self._missed_events = False
                    # This process may have missed room changes; the others may have missed
                    # this one's (its publishes failed meanwhile). Redis does not echo a
                    # process's own events back to it.
                    await self._on_missed()
                    await self._publish(self._message(RESYNC_EVENT, {}, None, None))
                async for message in self.pubsub.listen():
                    yield message
            except Exception as error:  # whatever broke, the subscription must come back
                if not self._missed_events:
                    self._on_error()
                    logger.warning(
                        "events from other processes interrupted",
                        extra={"error": str(error) or type(error).__name__},
                    )
                self._missed_events = True
                if self.pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self.pubsub.aclose()  # the broken connection, before a new one
                await asyncio.sleep(LISTEN_RETRY_SECONDS)

    def _message(
        self, event: str, data: dict[str, Any], room: str | None, skip_user: str | None
    ) -> dict[str, Any]:
        return {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": NAMESPACE,
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
            "skip_user": skip_user,
        }

    async def _publish(self, data: dict[str, Any]) -> None:
        # The correlation id of the request or event that caused this emit travels with it,
        # so the fan-out on every process logs under the same id.
        correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
        if self._publishing is None:
            self._publishing = asyncio.create_task(self._publish_queued())
        try:
            self._outgoing.put_nowait(self.json.dumps({**data, "correlation_id": correlation_id}))
        except asyncio.QueueFull:
            # Redis has been away for a while: other processes' clients catch up with `sync`.
            self._on_error()

    async def _publish_queued(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < PUBLISH_BATCH_MAX:
                batch.append(self._outgoing.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for encoded in batch:
                        pipe.publish(self.channel, encoded)
                    await pipe.execute()
                if self._missed_events:
                    # Publishing works again while the subscription never broke (a hung
                    # Redis): ask every process to redo its rooms, this one included.
                    self._missed_events = False
                    self._outgoing.put_nowait(
                        self.json.dumps(self._message(RESYNC_EVENT, {}, None, None))
                    )
            except Exception as error:  # the publisher must outlive any failure
                self._on_error()
                self._missed_events = True
                logger.warning(
                    "events not published to other processes",
                    extra={"events": len(batch), "error": str(error) or type(error).__name__},
                )
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def close(self) -> None:
        """Send what is queued, within the timeout, then stop publishing."""
        if self._publishing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), self._timeout)
            self._publishing.cancel()
        await self._publisher.aclose()

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") != self.host_id:
            correlation_id = message.get("correlation_id") or uuid.uuid4().hex
            with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
                logger.debug(
                    "fan-out from another process",
                    extra={"socket_event": message.get("event"), "room": message.get("room")},
                )
                await self._emit_here(message)
            return
        await self._emit_here(message)

    async def _emit_here(self, message: dict[str, Any]) -> None:
        if message.get("event") == RESYNC_EVENT:
            await self._on_missed()
            return
        if message.get("event") == ROOMS_EVENT:
            data = message["data"][0]
            users = [uuid.UUID(u) for u in data["users"]]
            await self._on_rooms(data["change"], users, uuid.UUID(data["room"]))
            return
        if message.get("event") == "newMessage" and message.get("room"):
            room = message["room"]
            # One room's deliveries one at a time: a message let through while the ones it
            # waited for are still being handed out would overtake them.
            async with self._room_lock(room):
                for ready in self._in_order.offer(room, message["data"][0]["seq"], message):
                    await self._deliver(ready)
            return
        await self._deliver(message)

    def _room_lock(self, room: str) -> asyncio.Lock:
        lock = self._room_locks.get(room)
        if lock is None:
            lock = self._room_locks[room] = asyncio.Lock()
        return lock

    async def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("skip_user"):
            message = {**message, "skip_sid": self._skip(uuid.UUID(message["skip_user"]))}
        await super()._handle_emit(message)

    async def _deliver_late(self, room: str) -> None:
        async with self._room_lock(room):
            for ready in self._in_order.give_up(room):
                await self._deliver(ready)


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


SkipSids = Callable[[uuid.UUID], list[str]]


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
        self._sockets: dict[str, SocketContext] = {}
        # This process's sockets by user. Kept here rather than read from the user's room:
        # in a disconnect handler the Redis manager no longer counts the socket as local.
        self._by_user: dict[uuid.UUID, set[str]] = {}
        cors: list[str] | str = settings.cors_origins
        self._redis: _RedisManager | None = None
        self._conversations_of: ConversationsOf | None = None
        # Events being handled now, for the drain on SIGTERM.
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        if settings.redis_url:
            self._redis = _RedisManager(
                settings.redis_url,
                f"{settings.redis_prefix}:socketio",
                settings.redis_timeout_seconds,
                self._apply_rooms_change,
                self._local_sids,
                metrics.redis_errors.inc,
                self._resync_rooms,
            )
        self._sio = socketio.AsyncServer(
            client_manager=self._redis or _InTurnManager(),
            async_mode="asgi",
            cors_allowed_origins=cors or [],
            max_http_buffer_size=settings.socket_packet_max_bytes,
            ping_interval=settings.heartbeat_interval_seconds,
            ping_timeout=settings.heartbeat_timeout_seconds,
            # Real loggers, so their lines go through Parley's logging setup (JSON or console)
            # instead of handlers of their own.
            logger=logging.getLogger("socketio"),
            engineio_logger=logging.getLogger("engineio"),
        )
        self._sio.on("connect", self._connect, namespace=NAMESPACE)
        self._sio.on("disconnect", self._disconnect, namespace=NAMESPACE)
        self._sio.on("*", self._dispatch, namespace=NAMESPACE)

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
        """An ASGI app serving Socket.IO at `/socket.io/` and `other` everywhere else."""
        return socketio.ASGIApp(self._sio, other_asgi_app=other, socketio_path="socket.io")

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
                # Acknowledgements and events wait in each connection's queue for its writer.
                sockets = list(self._sio.eio.sockets.values())
                await asyncio.gather(*(socket.queue.join() for socket in sockets))
                if sockets:
                    await asyncio.sleep(DRAIN_LINGER_SECONDS)
        logger.info(
            "socket events drained",
            extra={
                "unfinished": self._in_flight,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )

    async def disconnect_all(self) -> None:
        """Disconnect every socket, so clients reconnect elsewhere."""
        for sid in list(self._sockets):
            await self._sio.disconnect(sid, namespace=NAMESPACE)

    async def close(self) -> None:
        """Hand the events still queued for other processes to Redis, within its timeout."""
        if self._redis is not None:
            await self._redis.close()

    # Broadcaster

    async def to_conversation(
        self,
        conversation_id: uuid.UUID,
        event: str,
        payload: dict[str, Any],
        exclude_user: uuid.UUID | None = None,
    ) -> None:
        room = conversation_room(conversation_id)
        if exclude_user is None:
            await self._sio.emit(event, payload, room=room, namespace=NAMESPACE)
        elif self._redis is not None:
            await self._redis.emit_skipping_user(event, payload, room, exclude_user)
        else:
            skip = self._local_sids(exclude_user)
            await self._sio.emit(event, payload, room=room, skip_sid=skip, namespace=NAMESPACE)

    async def to_users(
        self, user_ids: Iterable[uuid.UUID], event: str, payload: dict[str, Any]
    ) -> None:
        rooms = [user_room(user_id) for user_id in user_ids]
        if rooms:
            await self._sio.emit(event, payload, to=rooms, namespace=NAMESPACE)

    async def join_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        await self._change_rooms("join", list(user_ids), conversation_id)

    async def leave_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        await self._change_rooms("leave", list(user_ids), conversation_id)

    async def _change_rooms(
        self, change: str, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        """Here at once; on the other processes before any later event of this one."""
        await self._apply_rooms_change(change, user_ids, conversation_id)
        if self._redis is not None:
            await self._redis.publish_rooms(change, user_ids, conversation_id)

    async def _apply_rooms_change(
        self, change: str, user_ids: list[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        room = conversation_room(conversation_id)
        for user_id in user_ids:
            for sid in self._local_sids(user_id):
                if change == "join":
                    await self._sio.enter_room(sid, room, namespace=NAMESPACE)
                else:
                    await self._sio.leave_room(sid, room, namespace=NAMESPACE)

    async def _join_rooms(self, sid: str, conversation_ids: Iterable[uuid.UUID]) -> None:
        for conversation_id in conversation_ids:
            await self._sio.enter_room(sid, conversation_room(conversation_id), namespace=NAMESPACE)

    async def _resync_rooms(self) -> None:
        """Put every socket of this process in exactly its user's conversation rooms."""
        if self._conversations_of is None:
            return
        moved = 0
        for user_id, sids in list(self._by_user.items()):
            try:
                wanted = {conversation_room(c) for c in await self._conversations_of(user_id)}
            except ParleyError:
                logger.warning("rooms not checked: the database is unavailable")
                return
            for sid in list(sids):
                rooms = self._sio.rooms(sid, namespace=NAMESPACE)
                held = {room for room in rooms if room.startswith(CONVERSATION_ROOM_PREFIX)}
                for room in wanted - held:
                    await self._sio.enter_room(sid, room, namespace=NAMESPACE)
                for room in held - wanted:
                    await self._sio.leave_room(sid, room, namespace=NAMESPACE)
                moved += len(wanted ^ held)
        logger.info("socket rooms checked against the database", extra={"changes": moved})

    def user_socket_count(self, user_id: uuid.UUID) -> int:
        return len(self._by_user.get(user_id, ()))

    def _local_sids(self, user_id: uuid.UUID) -> list[str]:
        return list(self._by_user.get(user_id, ()))

    # Socket.IO handlers

    async def _connect(self, sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            if not isinstance(token, str):
                raise Unauthorized("auth.token is missing")
            user_id = await self._authenticate(token)
        except ParleyError as error:
            # Whatever is wrong with the token, the client is told only that it is not
            # accepted; a failing database is the one other reason worth telling.
            code = error.code if isinstance(error, Unavailable) else "unauthorized"
            logger.info("socket refused", extra={"sid": sid, "outcome": code})
            raise socketio.exceptions.ConnectionRefusedError(code, {"code": code}) from None

        context = SocketContext(sid=sid, user_id=user_id)
        await self._sio.enter_room(sid, user_room(user_id), namespace=NAMESPACE)
        self._by_user.setdefault(user_id, set()).add(sid)
        try:
            if self._conversations_of is not None:
                await self._join_rooms(sid, await self._conversations_of(user_id))
            for hook in self._on_connect:
                await hook(context)
        except ParleyError as error:
            self._forget(context)
            await self._sio.leave_room(sid, user_room(user_id), namespace=NAMESPACE)
            logger.warning("socket refused", extra={"sid": sid, "outcome": error.code})
            raise socketio.exceptions.ConnectionRefusedError(
                error.detail, {"code": error.code}
            ) from None
        self._sockets[sid] = context
        self._metrics.connected_sockets.inc()
        logger.info("socket connected", extra={"sid": sid, "user_id": str(user_id)})

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        context = self._sockets.pop(sid, None)
        if context is None:
            return
        self._metrics.connected_sockets.dec()
        # The socket leaves its rooms after this handler; hooks must not count it as present.
        self._forget(context)
        for hook in self._on_disconnect:
            try:
                await hook(context)
            except Exception:
                logger.exception("disconnect hook failed", extra={"sid": sid})
        logger.info(
            "socket disconnected",
            extra={"sid": sid, "user_id": str(context.user_id), "reason": str(reason)},
        )

    def _forget(self, context: SocketContext) -> None:
        sids = self._by_user.get(context.user_id)
        if sids is not None:
            sids.discard(context.sid)
            if not sids:
                del self._by_user[context.user_id]

    async def _dispatch(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        started = time.perf_counter()
        correlation_id = uuid.uuid4().hex
        context = self._sockets.get(sid)
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
                    "sid": sid,
                    "user_id": str(context.user_id) if context else None,
                    "outcome": outcome,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
        return ack

    async def _handle(
        self, context: SocketContext | None, event: str, args: tuple[Any, ...]
    ) -> dict[str, Any]:
        if context is None:
            raise ValidationFailed("socket is not connected")
        route = self._routes.get(event)
        if route is None:
            raise ValidationFailed(f"unknown event {event!r}")
        if len(args) != 1 or not isinstance(args[0], dict):
            raise ValidationFailed("the payload must be one JSON object")
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
