"""The database handle: an async engine, sessions, and the one way to write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from parley.config import Settings
from parley.errors import Unavailable

logger = logging.getLogger(__name__)

# How long a SQLite connection waits for a lock held by another process (a `parley migrate`
# running beside the server) before giving up.
SQLITE_BUSY_TIMEOUT_MS = 5000

T = TypeVar("T")


class Database:
    """Owns the engine. Services write only through `transaction()`.

    SQLite has no row locks, so on SQLite every write transaction of this process runs
    under one lock: the next `seq` is read and written with no other writer in between.
    PostgreSQL orders concurrent senders by the row lock on the conversation.
    """

    def __init__(
        self,
        url: str,
        on_error: Callable[[], None] | None = None,
        on_statement: Callable[[], None] | None = None,
        **engine_options: Any,
    ) -> None:
        self.is_sqlite = url.startswith("sqlite")
        self._on_error = on_error or (lambda: None)  # told of every lost or refused call
        self.engine = create_async_engine(url, **engine_options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)
        if on_statement is not None:
            _count_statements(self.engine.sync_engine, on_statement)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # SQLite: `write_at_once` runs on this thread, with a connection of its own.
        self._sync_engine: Engine | None = None
        self._sync_thread: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            sync_url = "sqlite://" + url.split("://", 1)[1]
            self._sync_engine = create_engine(sync_url, pool_size=1, max_overflow=0)
            event.listen(self._sync_engine, "connect", _configure_sqlite)
            if on_statement is not None:
                _count_statements(self._sync_engine, on_statement)
            self._sync_thread = ThreadPoolExecutor(1, thread_name_prefix="parley-sqlite-writer")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        on_error: Callable[[], None] | None = None,
        on_statement: Callable[[], None] | None = None,
    ) -> Database:
        url = settings.resolved_database_url
        if settings.is_sqlite:
            # Each SQLite connection is a thread of its own, set up anew when opened: the
            # pool keeps every connection it opens rather than closing those past its size.
            keep = settings.database_pool_size + settings.database_max_overflow
            return cls(url, on_error, on_statement, pool_size=keep, max_overflow=0)
        return cls(
            url,
            on_error,
            on_statement,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout_seconds,
            pool_recycle=settings.database_pool_recycle_seconds,
            # A connection that died while idle (a restarted server) is replaced, not used.
            pool_pre_ping=True,
            connect_args={
                "timeout": settings.database_connect_timeout_seconds,
                "command_timeout": settings.database_command_timeout_seconds,
                # Every query here is a short index walk. PostgreSQL's planner prices some
                # (the unread counts of a conversation list, when one conversation holds
                # millions of messages) above its JIT threshold, and compiling them then
                # costs ten times what running them does.
                "server_settings": {"jit": "off"},
            },
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits when the block ends without error."""
        if self._write_lock is None:
            async with self._unavailable_on_failure(), self.sessions() as session, session.begin():
                yield session
            return
        async with (
            self._write_lock,
            self._unavailable_on_failure(),
            self.sessions() as session,
            session.begin(),
        ):
            yield session

    async def write_at_once(self, work: Callable[[Session], T]) -> T:
        """Run `work`, plain synchronous code, in a write transaction committed when it
        returns; its result is returned once committed.

        For a hot path: on SQLite every statement of an async session is a hand-off to the
        connection's thread and back, while here the whole transaction is one, on a thread
        and connection kept for it. On PostgreSQL `work` runs in an async session.
        """
        if self._sync_engine is None or self._sync_thread is None:
            async with self.transaction() as session:
                return await session.run_sync(work)
        engine, thread = self._sync_engine, self._sync_thread

        def run() -> T:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return work(session)

        assert self._write_lock is not None
        async with self._write_lock, self._unavailable_on_failure():
            return await asyncio.get_running_loop().run_in_executor(thread, run)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; it never commits."""
        async with self._unavailable_on_failure(), self.sessions() as session:
            yield session

    def connections_in_use(self) -> int:
        checked_out = getattr(self.engine.pool, "checkedout", None)
        return int(checked_out()) if checked_out is not None else 0

    async def ping(self) -> None:
        async with self.reading() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None and self._sync_thread is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._sync_thread, self._sync_engine.dispose
            )
            self._sync_thread.shutdown()

    @asynccontextmanager
    async def _unavailable_on_failure(self) -> AsyncIterator[None]:
        """Translate a lost, unreachable or saturated database (no free connection in the
        pool in time) into the contract's `unavailable`."""
        try:
            yield
        except (OperationalError, InterfaceError, PoolTimeout, OSError) as exc:
            self._on_error()
            logger.error("database unavailable: %s", type(exc).__name__)
            raise Unavailable("database unavailable") from exc


def _count_statements(engine: Engine, on_statement: Callable[[], None]) -> None:
    """Call `on_statement` once per statement sent to the database (an executemany is one).

    Connection set-up (SQLite's pragmas, the pool's pings) goes around SQLAlchemy's
    execution and is not counted.
    """

    def counted(*_: Any) -> None:
        on_statement()

    event.listen(engine, "before_cursor_execute", counted)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; FULL syncs every commit, so an acknowledged
    # message survives a power cut, not only a crash of the process.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
