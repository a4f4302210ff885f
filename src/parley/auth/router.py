"""REST endpoints for accounts and sessions."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from parley.api.deps import AuthDep, ClientAddress, RateLimitsDep
from parley.api.problems import PROBLEM_RESPONSES
from parley.auth.schemas import LoginIn, RefreshIn, RegisterIn, Session

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=PROBLEM_RESPONSES)


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterIn, auth: AuthDep, address: ClientAddress) -> Session:
    return await auth.register(body, address)


@router.post("/login")
async def login(body: LoginIn, auth: AuthDep, address: ClientAddress) -> Session:
    return await auth.login(body, address)


@router.post("/refresh")
async def refresh(
    body: RefreshIn, auth: AuthDep, rate_limits: RateLimitsDep, address: ClientAddress
) -> Session:
    await rate_limits.api(address)
    return await auth.refresh(body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    body: RefreshIn, auth: AuthDep, rate_limits: RateLimitsDep, address: ClientAddress
) -> Response:
    await rate_limits.api(address)
    await auth.logout(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
