"""The database handle: a saturated pool answers the contract's `unavailable`."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from parley.db.engine import Database
from parley.errors import Unavailable
from tests.support.services import PostgresServer


async def test_no_free_connection_in_time_is_unavailable_and_counted(
    postgres: PostgresServer,
) -> None:
    failures: list[None] = []
    database = Database(
        postgres.url.replace("postgresql://", "postgresql+asyncpg://"),
        on_error=lambda: failures.append(None),
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.2,
    )
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold_the_only_connection() -> None:
        async with database.reading() as session:
            await session.execute(text("SELECT 1"))  # sessions take a connection when used
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_only_connection())
    try:
        await held.wait()
        with pytest.raises(Unavailable):
            await database.ping()
        assert len(failures) == 1
    finally:
        release.set()
        await holder
        await database.dispose()
