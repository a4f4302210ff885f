from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from parley.db.migrate import alembic_config, upgrade_to_head
from parley.db.models import Base
from tests.support.services import PostgresServer
from tests.unit.conftest import unit_settings


def _differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async def run() -> list[object]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    settings = unit_settings(tmp_path)
    upgrade_to_head(settings)
    assert _differences(settings.resolved_database_url) == []


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    settings = unit_settings(tmp_path)
    upgrade_to_head(settings)
    config = alembic_config(settings.resolved_database_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert _differences(settings.resolved_database_url) == []


def test_migrations_build_exactly_the_models_on_postgresql(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.create_database(f"migrations_{uuid.uuid4().hex[:12]}")
    settings = unit_settings(tmp_path, database_url=url)
    upgrade_to_head(settings)
    assert _differences(settings.resolved_database_url) == []
    config = alembic_config(settings.resolved_database_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert _differences(settings.resolved_database_url) == []


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    settings = unit_settings(tmp_path)
    upgrade_to_head(settings)
    upgrade_to_head(settings)
    assert _differences(settings.resolved_database_url) == []
