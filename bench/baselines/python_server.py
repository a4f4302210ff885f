"""The ceiling of Parley's own stack: python-socketio on uvicorn with uvloop, WebSocket only,
doing what Parley's fan-out does without auth, membership or storage.

The same slice of Parley's contract as node_server.mjs, so one load generator drives all
three: namespace /chat; a socket joins the rooms listed in its auth.rooms (Parley reads them
from the database instead); `sendMessage` {conversationId, clientId, content} is
acknowledged {ok: true, data: message} and `newMessage` goes to the room.

    .venv/bin/python bench/baselines/python_server.py PORT
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

NAMESPACE = "/chat"

server = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])
last_seq: dict[str, int] = {}


@server.on("connect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
async def connect(sid: str, _environ: dict[str, Any], auth: Any = None) -> None:
    rooms = auth.get("rooms") if isinstance(auth, dict) else None
    for room in rooms if isinstance(rooms, list) else []:
        await server.enter_room(sid, str(room), namespace=NAMESPACE)


@server.on("sendMessage", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
async def send_message(_sid: str, payload: dict[str, Any]) -> dict[str, Any]:
    conversation_id = str(payload.get("conversationId"))
    seq = last_seq.get(conversation_id, 0) + 1
    last_seq[conversation_id] = seq
    message = {
        "id": f"{conversation_id}:{seq}",
        "conversationId": conversation_id,
        "seq": seq,
        "clientId": payload.get("clientId"),
        "content": payload.get("content"),
        "createdAt": datetime.now(UTC).isoformat(),
    }
    await server.emit("newMessage", message, room=conversation_id, namespace=NAMESPACE)
    return {"ok": True, "data": message}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8101
    uvicorn.run(
        socketio.ASGIApp(server),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # as Parley and Node socket.io: no compression
        log_level="warning",
    )
