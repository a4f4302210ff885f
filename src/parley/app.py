"""Composition: settings -> backends -> services -> one ASGI app (REST and Socket.IO)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import start_http_server
from starlette.types import Receive, Scope, Send

from parley import health
from parley.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from parley.api.problems import install_problem_handlers
from parley.auth import router as auth_router
from parley.auth.passwords import Passwords
from parley.auth.service import AuthService
from parley.auth.tokens import AccessTokens, load_or_create_secret
from parley.backends import redis_state
from parley.backends.interfaces import PresenceStore, RecentMessages, RefreshTokenStore
from parley.backends.memory import MemoryPresenceStore, MemoryRateLimiter, MemoryRecentMessages
from parley.backends.sql_tokens import SqlRefreshTokenStore
from parley.clock import Clock, SystemClock
from parley.config import Settings
from parley.container import Services
from parley.conversations import events as conversation_events
from parley.conversations import router as conversations_router
from parley.conversations.service import ConversationsService
from parley.db.engine import Database
from parley.messages import events as message_events
from parley.messages import router as messages_router
from parley.messages.service import MessagesService
from parley.metrics import Metrics
from parley.presence import events as presence_events
from parley.presence.service import PresenceService
from parley.presence.typing import TypingService
from parley.ratelimit import RateLimits
from parley.realtime.interface import Broadcaster
from parley.realtime.server import RealtimeServer
from parley.users import router as users_router
from parley.users.service import UsersService
from parley.web import mount_web_client

logger = logging.getLogger(__name__)


def build_services(
    settings: Settings, clock: Clock | None = None, broadcaster: Broadcaster | None = None
) -> Services:
    """Every service of one process, wired together; nothing is connected yet.

    `broadcaster` replaces the Socket.IO server as the services' way out, for unit tests.
    """
    clock = clock or SystemClock()
    metrics = Metrics()
    database = Database.from_settings(
        settings,
        on_error=metrics.database_errors.inc,
        on_statement=metrics.database_statements.inc,
    )
    metrics.watch_database_pool(database.connections_in_use)
    redis_client = None
    refresh_tokens: RefreshTokenStore
    presence_store: PresenceStore
    if settings.redis_url:
        redis_client = redis_state.connect(settings.redis_url, settings.redis_timeout_seconds)
        prefix = settings.redis_prefix
        guard = redis_state.RedisGuard(metrics.redis_errors.inc, settings.redis_timeout_seconds)
        limiter = redis_state.RedisRateLimiter(redis_client, prefix, guard)
        rate_limits = RateLimits(limiter, settings)
        refresh_tokens = redis_state.RedisRefreshTokenStore(redis_client, prefix, guard)
        presence_store = redis_state.RedisPresenceStore(
            redis_client, prefix, settings.presence_expiry_seconds, guard
        )
        recent: RecentMessages = redis_state.RedisRecentMessages(
            redis_client,
            prefix,
            settings.recent_messages_per_conversation,
            settings.recent_messages_ttl_seconds,
            guard,
        )
    else:
        rate_limits = RateLimits(MemoryRateLimiter(), settings)
        refresh_tokens = SqlRefreshTokenStore(database)
        presence_store = MemoryPresenceStore()
        recent = MemoryRecentMessages(
            settings.recent_messages_per_conversation, settings.recent_messages_conversations
        )
    access_tokens = AccessTokens(
        load_or_create_secret(settings.jwt_secret, settings.data_dir),
        timedelta(seconds=settings.access_token_ttl_seconds),
        clock,
    )
    passwords = Passwords(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    auth = AuthService(
        database,
        passwords,
        access_tokens,
        refresh_tokens,
        rate_limits,
        settings,
        clock,
    )
    realtime = RealtimeServer(settings, auth.authenticate, metrics)
    out: Broadcaster = broadcaster or realtime
    users = UsersService(database, presence_store, settings, clock)
    conversations = ConversationsService(database, users, out, settings, clock)
    messages = MessagesService(database, out, recent, rate_limits, metrics, settings, clock)
    presence = PresenceService(
        presence_store,
        database,
        out,
        conversations.contacts_of,
        settings.presence_offline_delay_seconds,
        settings.presence_expiry_seconds,
        clock,
    )
    typing = TypingService(database, out, rate_limits, settings.typing_timeout_seconds, clock)

    conversation_events.register(realtime, conversations)
    message_events.register(realtime, messages)
    presence_events.register(realtime, presence, typing)
    return Services(
        settings=settings,
        metrics=metrics,
        database=database,
        redis=redis_client,
        realtime=realtime,
        rate_limits=rate_limits,
        auth=auth,
        users=users,
        conversations=conversations,
        messages=messages,
        presence=presence,
        typing=typing,
    )


# Collections of the youngest generation happen after this many new objects, not 700: a
# server makes and drops many small objects per event, and each collection costs a pause.
GC_YOUNG_THRESHOLD = 50_000


def _settle_garbage_collector() -> None:
    """What exists once the server has started (modules, services, caches) lives as long as
    the process: freeze it, so that the collector's full passes stop walking it (without
    this, they stalled every event in flight for a quarter of a second under load), and
    collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, oldest)


class ParleyApp:
    """The ASGI application: Socket.IO at `/socket.io/`, the REST API under `/api/`, the web
    client everywhere else; and what the server does between a stop signal and closing."""

    def __init__(self, services: Services, asgi: Any) -> None:
        self.services = services
        self._asgi = asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    async def drain(self) -> None:
        await self.services.realtime.drain(self.services.settings.drain_timeout_seconds)


def create_app(settings: Settings, clock: Clock | None = None) -> ParleyApp:
    services = build_services(settings, clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "parley started",
            extra={
                "database": services.database.engine.dialect.name,
                "shared_state": "redis" if services.redis is not None else "in-process",
            },
        )
        services.presence.start()
        services.realtime.start()
        metrics_listener = None
        if settings.metrics_port is not None:
            metrics_listener, _ = start_http_server(
                settings.metrics_port, settings.metrics_host, services.metrics.registry
            )
        _settle_garbage_collector()
        yield
        if metrics_listener is not None:
            await asyncio.to_thread(metrics_listener.shutdown)
            metrics_listener.server_close()
        logger.info("parley stopping")
        await services.realtime.disconnect_all()
        await services.presence.close()  # announces this process's users offline
        await services.realtime.close()
        await services.database.dispose()
        if services.redis is not None:
            await services.redis.aclose()

    api = FastAPI(
        title="Parley",
        summary="A self-hosted real-time chat server",
        version="0.1.0",
        lifespan=lifespan,
    )
    api.state.services = services
    install_problem_handlers(api)
    for module in (auth_router, users_router, conversations_router, messages_router, health):
        api.include_router(module.router)
    if settings.metrics_port is None:
        api.include_router(health.metrics_router)

    if settings.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    api.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.request_body_max_bytes)
    api.add_middleware(RequestContextMiddleware, metrics=services.metrics)
    mount_web_client(api, settings.web_dir)
    return ParleyApp(services, services.realtime.asgi_app(api))
