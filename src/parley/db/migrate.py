"""Running the Alembic migrations, once, under a database-wide lock."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from parley.config import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def newest_revision(settings: Settings) -> str:
    heads = ScriptDirectory.from_config(alembic_config(settings.resolved_database_url)).get_heads()
    return ",".join(sorted(heads))


def known_revision(settings: Settings, revision: str) -> bool:
    """Whether this release has `revision` (a newer release's revision it has not)."""
    scripts = ScriptDirectory.from_config(alembic_config(settings.resolved_database_url))
    known = {script.revision for script in scripts.walk_revisions()}
    return all(part in known for part in revision.split(","))


async def current_revision(settings: Settings) -> str:
    """The revision the database is at; "" for a database never migrated."""

    def read(connection: Connection) -> str:
        return ",".join(sorted(MigrationContext.configure(connection).get_current_heads()))

    engine = create_async_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


def upgrade_to_head(settings: Settings) -> None:
    """Bring the schema to the newest revision.

    Processes starting together take turns: PostgreSQL through an advisory lock taken in
    the migration environment, SQLite through a lock file beside the database.
    """
    url = settings.resolved_database_url
    with _sqlite_file_lock(settings) if settings.is_sqlite else _no_lock():
        command.upgrade(alembic_config(url), "head")


@contextmanager
def _sqlite_file_lock(settings: Settings) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database_path = Path(settings.resolved_database_url.split("///", 1)[1])
    database_path.parent.mkdir(parents=True, exist_ok=True)
    with open(database_path.with_name(database_path.name + ".migrate-lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@contextmanager
def _no_lock() -> Iterator[None]:
    yield
