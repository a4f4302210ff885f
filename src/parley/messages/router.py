"""REST endpoints for messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley.api.deps import CurrentUser, MessagesDep
from parley.api.problems import PROBLEM_RESPONSES
from parley.messages.schemas import MessageCreate, MessageEdit, MessagesPage, MessageView
from parley.schemas import MAX_SEQ, parse_id

router = APIRouter(prefix="/api", tags=["messages"], responses=PROBLEM_RESPONSES)

Seq = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: str,
    caller: CurrentUser,
    messages: MessagesDep,
    before: Seq = None,
    after: Seq = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> MessagesPage:
    """Newest first below `before`, or oldest first above `after` (catching up)."""
    return await messages.history(caller, parse_id(conversation_id), before, after, limit)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": MessageView, "description": "A resend: the original message"}},
)
async def send_message(
    conversation_id: str,
    body: MessageCreate,
    caller: CurrentUser,
    messages: MessagesDep,
    response: Response,
) -> MessageView:
    message, created = await messages.send(caller, parse_id(conversation_id), body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return message


@router.patch("/messages/{message_id}")
async def edit_message(
    message_id: str, body: MessageEdit, caller: CurrentUser, messages: MessagesDep
) -> MessageView:
    return await messages.edit(caller, parse_id(message_id), body.content)


@router.delete("/messages/{message_id}", status_code=204)
async def delete_message(message_id: str, caller: CurrentUser, messages: MessagesDep) -> Response:
    await messages.delete(caller, parse_id(message_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
