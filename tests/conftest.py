"""Shared fixtures: a real Parley server per test session, and factories for more."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support.clients import ChatSocket, connect
from tests.support.server import ParleyServer
from tests.support.services import PostgresServer, RedisServer

CONFIGURATIONS = ["embedded", "production"]
# Shared by every process of a production test server, as a deployment's would be.
TEST_JWT_SECRET = "parley-test-secret-not-for-production-0123456789"


@pytest.fixture(scope="session", params=CONFIGURATIONS)
def configuration(request: pytest.FixtureRequest) -> str:
    """Each integration test runs twice: on the embedded default (SQLite, in-process
    state) and in production mode (PostgreSQL and Redis)."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def backing_settings(
    configuration: str, request: pytest.FixtureRequest
) -> Callable[[], dict[str, str]]:
    """Settings that put a new server on the configuration's services, with data of its own.

    Production servers each get a fresh PostgreSQL database and their own Redis key prefix,
    so tests never see each other's state.
    """
    if configuration == "embedded":
        return dict
    postgres: PostgresServer = request.getfixturevalue("postgres")
    redis: RedisServer = request.getfixturevalue("redis")

    def production() -> dict[str, str]:
        name = f"parley_{uuid.uuid4().hex[:12]}"
        return {
            "PARLEY_DATABASE_URL": postgres.create_database(name),
            "PARLEY_REDIS_URL": redis.url,
            "PARLEY_REDIS_PREFIX": name,
            "PARLEY_JWT_SECRET": TEST_JWT_SECRET,
        }

    return production


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, backing_settings: Callable[[], dict[str, str]]
) -> Iterator[ParleyServer]:
    """One server shared by every test that needs no special settings.

    Tests keep out of each other's way by registering fresh users (`unique_name`).
    """
    instance = ParleyServer(tmp_path_factory.mktemp("parley"), backing_settings())
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL 15 for the session, started when a test first asks for it.

    `postgres.url` is its `parley` database, shared by every test that uses it; a test
    that needs a database of its own calls `postgres.create_database(name)`.
    """
    with PostgresServer(tmp_path_factory.mktemp("postgres")) as instance:
        yield instance


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One Redis for the session, started when a test first asks for it.

    A test that stops it must start it again (same port, empty) before it ends.
    """
    with RedisServer(tmp_path_factory.mktemp("redis")) as instance:
        yield instance


@pytest.fixture
def server_factory(
    tmp_path: Path, backing_settings: Callable[[], dict[str, str]]
) -> Iterator[Callable[..., ParleyServer]]:
    """Start servers with their own settings and data; all are stopped after the test."""
    started: list[ParleyServer] = []

    def make(settings: dict[str, str] | None = None, data_dir: Path | None = None) -> ParleyServer:
        combined = {**backing_settings(), **(settings or {})}
        instance = ParleyServer(data_dir or tmp_path / f"server{len(started)}", combined)
        instance.start()
        started.append(instance)
        return instance

    yield make
    for instance in started:
        instance.stop()


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., object]]:
    """`await sockets(base_url, token)` connects a `/chat` socket closed after the test."""
    opened: list[ChatSocket] = []

    async def open_socket(base_url: str, token: str | None) -> ChatSocket:
        chat = await connect(base_url, token)
        opened.append(chat)
        return chat

    yield open_socket
    for chat in opened:
        await chat.disconnect()
