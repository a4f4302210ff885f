"""Socket.IO handlers for conversations: rooms on connect, and read markers."""

from __future__ import annotations

from parley.conversations.schemas import MarkReadAck, MarkReadEvent
from parley.conversations.service import ConversationsService
from parley.realtime.server import RealtimeServer, SocketContext
from parley.schemas import parse_id


def register(realtime: RealtimeServer, conversations: ConversationsService) -> None:
    async def join_rooms(socket: SocketContext) -> None:
        conversation_ids = await conversations.conversation_ids_of(socket.user_id)
        await realtime.join_socket(socket, conversation_ids)

    async def mark_read(socket: SocketContext, payload: MarkReadEvent) -> MarkReadAck:
        marker = await conversations.mark_read(
            socket.user_id, parse_id(payload.conversation_id), payload.seq
        )
        return MarkReadAck(last_read_seq=marker)

    realtime.on_connect(join_rooms)
    realtime.on("markRead", MarkReadEvent, mark_read)
