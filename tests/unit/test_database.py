"""The database handle: a saturated pool answers the contract's `unavailable`; statements
are counted; PostgreSQL connections run without JIT."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from parley.config import Settings
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


async def count_statements(url: str) -> int:
    """How many statements a read, a write and an executemany of three rows count as."""
    counted: list[None] = []
    database = Database(url, on_statement=lambda: counted.append(None))
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TEMPORARY TABLE counted (n INTEGER)"))
            await session.execute(
                text("INSERT INTO counted (n) VALUES (:n)"), [{"n": 1}, {"n": 2}, {"n": 3}]
            )
            assert await session.scalar(text("SELECT count(*) FROM counted")) == 3
    finally:
        await database.dispose()
    return len(counted)


async def test_statements_are_counted_on_sqlite(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).resolved_database_url
    # BEGIN and COMMIT are the driver's, not statements sent through SQLAlchemy.
    assert await count_statements(url) == 3


async def test_statements_are_counted_on_postgresql(postgres: PostgresServer) -> None:
    assert await count_statements(Settings(database_url=postgres.url).resolved_database_url) == 3


async def test_postgresql_connections_run_without_jit(postgres: PostgresServer) -> None:
    database = Database.from_settings(Settings(database_url=postgres.url))
    try:
        async with database.reading() as session:
            assert await session.scalar(text("SHOW jit")) == "off"
    finally:
        await database.dispose()
