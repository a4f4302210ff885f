"""The services of one Parley process, built once at start-up by `app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from parley.auth.service import AuthService
from parley.config import Settings
from parley.conversations.service import ConversationsService
from parley.db.engine import Database
from parley.messages.service import MessagesService
from parley.metrics import Metrics
from parley.presence.service import PresenceService
from parley.presence.typing import TypingService
from parley.ratelimit import RateLimits
from parley.realtime.server import RealtimeServer
from parley.users.service import UsersService


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    database: Database
    redis: aioredis.Redis | None  # None: shared state stays in this process
    realtime: RealtimeServer
    rate_limits: RateLimits
    auth: AuthService
    users: UsersService
    conversations: ConversationsService
    messages: MessagesService
    presence: PresenceService
    typing: TypingService
