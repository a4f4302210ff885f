"""`GET /api/health`: whether this process can reach what it depends on."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from parley.api.deps import ServicesDep
from parley.container import Services
from parley.errors import Unavailable
from parley.metrics import CONTENT_TYPE
from parley.schemas import WireModel

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["service"])


class HealthChecks(WireModel):
    database: Literal["ok", "error"]
    redis: Literal["ok", "error", "disabled"]


class Health(WireModel):
    status: Literal["ok", "error"]
    checks: HealthChecks


@router.head("/health", include_in_schema=False)
@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(services: ServicesDep) -> JSONResponse:
    """Every dependency answers: 503 when the database or Redis does not."""
    checks = await _check(services)
    return _answer(checks, healthy=checks.database == "ok" and checks.redis != "error")


class ReadyChecks(WireModel):
    database: Literal["ok", "error"]


class Ready(WireModel):
    status: Literal["ok", "error", "draining"]
    checks: ReadyChecks


@router.get("/health/ready", response_model=Ready, responses={503: {"model": Ready}})
async def ready(services: ServicesDep) -> JSONResponse:
    """Whether this process should get traffic, for readiness probes: the database must
    answer, and the process must not be stopping. Redis is not asked: a process without it
    still stores and delivers messages to its own sockets (the others catch up with `sync`),
    and a hung Redis must not slow the probe."""
    database = await _check_database(services)
    status: Literal["ok", "error", "draining"] = "ok" if database == "ok" else "error"
    if services.realtime.draining:
        status = "draining"
    body = Ready(status=status, checks=ReadyChecks(database=database))
    return JSONResponse(body.model_dump(mode="json"), 200 if status == "ok" else 503)


class Live(WireModel):
    status: Literal["ok"]


async def _check_database(services: Services) -> Literal["ok", "error"]:
    try:
        await services.database.ping()
    except Unavailable:
        return "error"
    return "ok"


async def _check(services: Services) -> HealthChecks:
    database = await _check_database(services)
    redis: Literal["ok", "error", "disabled"] = "disabled"
    if services.redis is not None:
        try:
            await services.redis.ping()
            redis = "ok"
        except RedisError:
            redis = "error"
    return HealthChecks(database=database, redis=redis)


def _answer(checks: HealthChecks, healthy: bool) -> JSONResponse:
    body = Health(status="ok" if healthy else "error", checks=checks)
    return JSONResponse(body.model_dump(mode="json", by_alias=True), 200 if healthy else 503)


@router.get("/health/live")
async def live() -> Live:
    """Whether this process answers at all, for liveness probes: it checks no dependency,
    since restarting a process does not bring a database or Redis back."""
    return Live(status="ok")


metrics_router = APIRouter(tags=["service"])


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics of this process (keep this path away from the public)."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
