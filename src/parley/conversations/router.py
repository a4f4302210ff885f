"""REST endpoints for conversations, participants and read markers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley.api.deps import ConversationsDep, CurrentUser
from parley.api.problems import PROBLEM_RESPONSES
from parley.conversations.schemas import (
    ConversationCreate,
    ConversationPage,
    ConversationRename,
    ConversationView,
    ParticipantPage,
    ParticipantsAdd,
    ParticipantView,
    ReadMarker,
    RoleChange,
)
from parley.schemas import parse_id

router = APIRouter(prefix="/api/conversations", tags=["conversations"], responses=PROBLEM_RESPONSES)

Limit = Annotated[int | None, Query(ge=1)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ConversationView, "description": "The existing direct one"}},
)
async def create_conversation(
    body: ConversationCreate,
    caller: CurrentUser,
    conversations: ConversationsDep,
    response: Response,
) -> ConversationView:
    if body.type == "direct":
        view, created = await conversations.create_direct(caller, body.participant_ids, body.name)
        if not created:
            response.status_code = status.HTTP_200_OK
        return view
    return await conversations.create_group(caller, body.name, body.participant_ids)


@router.get("")
async def list_conversations(
    caller: CurrentUser,
    conversations: ConversationsDep,
    limit: Limit = None,
    before: Annotated[str | None, Query(max_length=200)] = None,
) -> ConversationPage:
    return await conversations.list_conversations(caller, limit, before)


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: str, caller: CurrentUser, conversations: ConversationsDep
) -> ConversationView:
    return await conversations.get(caller, parse_id(conversation_id))


@router.patch("/{conversation_id}")
async def rename_conversation(
    conversation_id: str,
    body: ConversationRename,
    caller: CurrentUser,
    conversations: ConversationsDep,
) -> ConversationView:
    return await conversations.rename(caller, parse_id(conversation_id), body.name)


@router.get("/{conversation_id}/participants")
async def list_participants(
    conversation_id: str,
    caller: CurrentUser,
    conversations: ConversationsDep,
    after: Annotated[str | None, Query(max_length=40)] = None,
    limit: Limit = None,
) -> ParticipantPage:
    return await conversations.list_participants(caller, parse_id(conversation_id), after, limit)


@router.post("/{conversation_id}/participants")
async def add_participants(
    conversation_id: str,
    body: ParticipantsAdd,
    caller: CurrentUser,
    conversations: ConversationsDep,
) -> ConversationView:
    return await conversations.add_participants(caller, parse_id(conversation_id), body.user_ids)


@router.patch("/{conversation_id}/participants/{user_id}")
async def change_role(
    conversation_id: str,
    user_id: str,
    body: RoleChange,
    caller: CurrentUser,
    conversations: ConversationsDep,
) -> ParticipantView:
    return await conversations.set_role(
        caller, parse_id(conversation_id), parse_id(user_id), body.role
    )


@router.delete("/{conversation_id}/participants/{user_id}", status_code=204)
async def remove_participant(
    conversation_id: str, user_id: str, caller: CurrentUser, conversations: ConversationsDep
) -> Response:
    await conversations.remove_participant(caller, parse_id(conversation_id), parse_id(user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{conversation_id}/read", status_code=204)
async def mark_read(
    conversation_id: str, body: ReadMarker, caller: CurrentUser, conversations: ConversationsDep
) -> Response:
    await conversations.mark_read(caller, parse_id(conversation_id), body.seq)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
