"""Unit-test fixtures: the real services on a real SQLite file, with a recording broadcaster
standing in for the sockets and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parley.app import build_services
from parley.clock import truncate_to_ms
from parley.config import Settings
from parley.container import Services
from parley.db.migrate import upgrade_to_head


class FakeClock:
    def __init__(self) -> None:
        self._now = datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return truncate_to_ms(self._now)

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


@dataclass
class Emitted:
    target: str  # "conversation:<id>" or "users:<id>,<id>"
    event: str
    payload: dict[str, Any]
    exclude_user: uuid.UUID | None = None


@dataclass
class RecordingBroadcaster:
    """Records what would be emitted and which rooms users' sockets would join."""

    emitted: list[Emitted] = field(default_factory=list)
    rooms: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)

    async def to_conversation(
        self,
        conversation_id: uuid.UUID,
        event: str,
        payload: dict[str, Any],
        exclude_user: uuid.UUID | None = None,
    ) -> None:
        self.emitted.append(
            Emitted(f"conversation:{conversation_id}", event, payload, exclude_user)
        )

    async def to_users(
        self, user_ids: Iterable[uuid.UUID], event: str, payload: dict[str, Any]
    ) -> None:
        targets = ",".join(sorted(str(u) for u in user_ids))
        self.emitted.append(Emitted(f"users:{targets}", event, payload))

    async def join_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        for user_id in user_ids:
            self.rooms.setdefault(user_id, set()).add(conversation_id)

    async def leave_conversation(
        self, user_ids: Iterable[uuid.UUID], conversation_id: uuid.UUID
    ) -> None:
        for user_id in user_ids:
            self.rooms.get(user_id, set()).discard(conversation_id)

    def events(self, name: str) -> list[Emitted]:
        return [e for e in self.emitted if e.event == name]


@dataclass
class Harness:
    services: Services
    clock: FakeClock
    broadcaster: RecordingBroadcaster

    async def user(self, name: str) -> uuid.UUID:
        from parley.auth.schemas import RegisterIn

        username = f"{name}_{uuid.uuid4().hex[:8]}"
        session = await self.services.auth.register(
            RegisterIn(username=username, email=f"{username}@example.com", password="password1"),
            address=f"test-{username}",
        )
        return session.user.id


def unit_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "rate_limits": False,
        "presence_offline_delay_seconds": 0.0,
    }
    return Settings(**{**values, **overrides})


@asynccontextmanager
async def make_harness(data_dir: Path, **overrides: Any) -> AsyncIterator[Harness]:
    """Services on a fresh database in `data_dir`, with settings overridden by keyword."""
    settings = unit_settings(data_dir, **overrides)
    # Alembic's environment runs its own event loop, so it cannot run on this one.
    await asyncio.to_thread(upgrade_to_head, settings)
    clock = FakeClock()
    broadcaster = RecordingBroadcaster()
    services = build_services(settings, clock, broadcaster)
    try:
        yield Harness(services, clock, broadcaster)
    finally:
        await services.presence.close()
        await services.database.dispose()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with make_harness(tmp_path) as built:
        yield built
