"""Socket.IO handlers for messages: thin adapters over `MessagesService`."""

from __future__ import annotations

from parley.messages.schemas import (
    DeletedAck,
    DeleteMessageEvent,
    EditMessageEvent,
    MessagesPage,
    MessageView,
    SendMessageEvent,
    SyncEvent,
)
from parley.messages.service import MessagesService
from parley.realtime.server import RealtimeServer, SocketContext
from parley.schemas import parse_id


def register(realtime: RealtimeServer, messages: MessagesService) -> None:
    async def send_message(socket: SocketContext, payload: SendMessageEvent) -> MessageView:
        message, _ = await messages.send(socket.user_id, parse_id(payload.conversation_id), payload)
        return message

    async def edit_message(socket: SocketContext, payload: EditMessageEvent) -> MessageView:
        return await messages.edit(socket.user_id, parse_id(payload.message_id), payload.content)

    async def delete_message(socket: SocketContext, payload: DeleteMessageEvent) -> DeletedAck:
        message_id = parse_id(payload.message_id)
        await messages.delete(socket.user_id, message_id)
        return DeletedAck(id=message_id)

    async def sync(socket: SocketContext, payload: SyncEvent) -> MessagesPage:
        return await messages.history(
            socket.user_id,
            parse_id(payload.conversation_id),
            after=payload.after_seq,
            limit=payload.limit,
        )

    realtime.on("sendMessage", SendMessageEvent, send_message)
    realtime.on("editMessage", EditMessageEvent, edit_message)
    realtime.on("deleteMessage", DeleteMessageEvent, delete_message)
    realtime.on("sync", SyncEvent, sync)
