"""REST endpoints for profiles and user search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parley.api.deps import CurrentUser, UsersDep
from parley.api.problems import PROBLEM_RESPONSES
from parley.schemas import Items, parse_id
from parley.users.schemas import UserOwn, UserPublic, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"], responses=PROBLEM_RESPONSES)


@router.get("/me")
async def get_me(caller: CurrentUser, users: UsersDep) -> UserOwn:
    return await users.get_own(caller)


@router.patch("/me")
async def update_me(body: UserUpdate, caller: CurrentUser, users: UsersDep) -> UserOwn:
    return await users.update_me(caller, body)


@router.get("")
async def search_users(
    caller: CurrentUser,
    users: UsersDep,
    query: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1)] = 20,
) -> Items[UserPublic]:
    """Users whose username or display name starts with `query`, ignoring case."""
    found = await users.search(caller, query, limit)
    return Items[UserPublic](items=found)


@router.get("/{user_id}")
async def get_user(user_id: str, caller: CurrentUser, users: UsersDep) -> UserOwn | UserPublic:
    return await users.get_view(caller, parse_id(user_id))
