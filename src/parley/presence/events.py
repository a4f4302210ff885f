"""Socket.IO handlers for presence and typing."""

from __future__ import annotations

from parley.presence.schemas import Empty, HeartbeatEvent, TypingEvent
from parley.presence.service import PresenceService
from parley.presence.typing import TypingService
from parley.realtime.server import RealtimeServer, SocketContext
from parley.schemas import parse_id


def register(realtime: RealtimeServer, presence: PresenceService, typing: TypingService) -> None:
    async def connected(socket: SocketContext) -> None:
        await presence.socket_connected(socket.user_id, socket.sid)

    async def disconnected(socket: SocketContext) -> None:
        if realtime.user_socket_count(socket.user_id) == 0:
            await typing.user_left(socket.user_id)
        await presence.socket_disconnected(socket.user_id, socket.sid)

    async def heartbeat(socket: SocketContext, payload: HeartbeatEvent) -> Empty:
        if payload.status is not None:  # without a status, a heartbeat changes nothing
            await presence.socket_status(socket.user_id, socket.sid, payload.status)
        return Empty()

    async def typing_changed(socket: SocketContext, payload: TypingEvent) -> Empty:
        await typing.set_typing(
            socket.user_id, parse_id(payload.conversation_id), payload.is_typing
        )
        return Empty()

    realtime.on_connect(connected)
    realtime.on_disconnect(disconnected)
    realtime.on("heartbeat", HeartbeatEvent, heartbeat)
    realtime.on("typing", TypingEvent, typing_changed)
