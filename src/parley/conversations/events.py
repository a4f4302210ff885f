"""Socket.IO handlers for conversations: rooms on connect, and read markers."""

from __future__ import annotations

from parley.conversations.schemas import MarkReadAck, MarkReadEvent
from parley.conversations.service import ConversationsService
from parley.realtime.server import RealtimeServer, SocketContext
from parley.schemas import parse_id


def register(realtime: RealtimeServer, conversations: ConversationsService) -> None:
    async def mark_read(socket: SocketContext, payload: MarkReadEvent) -> MarkReadAck:
        marker = await conversations.mark_read(
            socket.user_id, parse_id(payload.conversation_id), payload.seq
        )
        return MarkReadAck(last_read_seq=marker)

    realtime.rooms_from(conversations.conversation_ids_of)
    realtime.on("markRead", MarkReadEvent, mark_read)
