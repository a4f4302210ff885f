"""FastAPI dependencies: the services, and the authenticated caller."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parley.auth.service import AuthService
from parley.container import Services
from parley.conversations.service import ConversationsService
from parley.errors import Unauthorized
from parley.messages.service import MessagesService
from parley.ratelimit import RateLimits
from parley.users.service import UsersService

_bearer = HTTPBearer(auto_error=False, description="An access token from login or refresh.")


def services(request: Request) -> Services:
    container: Services = request.app.state.services
    return container


ServicesDep = Annotated[Services, Depends(services)]


def _auth(container: ServicesDep) -> AuthService:
    return container.auth


def _users(container: ServicesDep) -> UsersService:
    return container.users


def _conversations(container: ServicesDep) -> ConversationsService:
    return container.conversations


def _messages(container: ServicesDep) -> MessagesService:
    return container.messages


def _rate_limits(container: ServicesDep) -> RateLimits:
    return container.rate_limits


AuthDep = Annotated[AuthService, Depends(_auth)]
UsersDep = Annotated[UsersService, Depends(_users)]
ConversationsDep = Annotated[ConversationsService, Depends(_conversations)]
MessagesDep = Annotated[MessagesService, Depends(_messages)]
RateLimitsDep = Annotated[RateLimits, Depends(_rate_limits)]


async def current_user(
    request: Request,
    auth: AuthDep,
    rate_limits: RateLimitsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> uuid.UUID:
    """The caller, from a valid access token; also where the per-user API rate applies."""
    if credentials is None:
        raise Unauthorized("missing bearer token")
    user_id = await auth.authenticate(credentials.credentials)
    request.state.user_id = user_id
    await rate_limits.api(str(user_id))
    return user_id


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
