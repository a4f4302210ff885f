"""The `postgres` and `redis` fixtures start real servers that answer on their URLs.

Most checks speak through `psql` and through Redis's wire protocol (RESP) on a plain socket,
so that they hold whatever client libraries the project has; asyncpg and redis-py, when
installed, are checked to reach the URLs too.
"""

from __future__ import annotations

import socket
import subprocess
import uuid

import asyncpg
import pytest
import redis.asyncio as redis_asyncio

from tests.support.services import POSTGRES_BIN, PostgresServer, RedisServer


def psql(url: str, sql: str) -> str:
    """Run one statement with `psql` against `url` and return its unaligned output."""
    result = subprocess.run(
        [str(POSTGRES_BIN / "psql"), url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def redis_command(port: int, *args: str) -> bytes:
    """Send one command to Redis on 127.0.0.1 and return its raw RESP reply.

    Only replies that fit in one line or one bulk string are read whole: enough for PING,
    SET and GET.
    """
    request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5.0) as sock:
        sock.sendall(request.encode())
        reply = b""
        for _ in range(100):  # a reply this small arrives in a few reads at most
            reply += sock.recv(4096)
            header, _, rest = reply.partition(b"\r\n")
            if not _:
                continue
            if not header.startswith(b"$") or header == b"$-1":
                return reply
            if len(rest) >= int(header[1:]) + 2:
                return reply
        raise AssertionError(f"incomplete reply from Redis: {reply!r}")


def unique_database_name() -> str:
    return f"test_{uuid.uuid4().hex[:16]}"


def test_postgres_accepts_the_parley_role_with_its_password(postgres: PostgresServer) -> None:
    assert postgres.url == f"postgresql://parley:parley@127.0.0.1:{postgres.port}/parley"
    assert psql(postgres.url, "SELECT 1") == "1"
    assert psql(postgres.url, "SELECT current_user || ' ' || current_database()") == (
        "parley parley"
    )


async def test_postgres_url_works_with_asyncpg(postgres: PostgresServer) -> None:
    connection = await asyncpg.connect(postgres.url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()


def test_postgres_listens_on_loopback_only_and_allows_many_connections(
    postgres: PostgresServer,
) -> None:
    assert psql(postgres.url, "SHOW listen_addresses") == "127.0.0.1"
    assert int(psql(postgres.url, "SHOW max_connections")) >= 300


def test_created_database_is_empty_and_separate(postgres: PostgresServer) -> None:
    used = postgres.create_database(unique_database_name())
    psql(used, "CREATE TABLE note (id int)")

    fresh = postgres.create_database(unique_database_name())

    assert fresh != used
    tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    assert psql(fresh, tables) == "0"
    assert psql(used, tables) == "1"


def test_create_database_refuses_a_name_that_needs_quoting(postgres: PostgresServer) -> None:
    with pytest.raises(ValueError, match="not a plain database name"):
        postgres.create_database('x"; DROP DATABASE parley; --')


def test_redis_answers_ping_set_and_get(redis: RedisServer) -> None:
    assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
    assert redis_command(redis.port, "PING") == b"+PONG\r\n"
    assert redis_command(redis.port, "SET", "greeting", "hello") == b"+OK\r\n"
    assert redis_command(redis.port, "GET", "greeting") == b"$5\r\nhello\r\n"


async def test_redis_url_works_with_redis_py(redis: RedisServer) -> None:
    client = redis_asyncio.Redis.from_url(redis.url)
    try:
        assert await client.ping() is True
        await client.set("library", "redis-py")
        assert await client.get("library") == b"redis-py"
    finally:
        await client.aclose()


def test_redis_stopped_then_started_comes_back_empty_on_the_same_port(
    redis: RedisServer,
) -> None:
    port, url = redis.port, redis.url
    redis_command(port, "SET", "survivor", "no")

    redis.stop()
    try:
        with pytest.raises(ConnectionRefusedError):
            redis_command(port, "PING")
    finally:
        redis.start()

    assert (redis.port, redis.url) == (port, url)
    assert redis_command(port, "PING") == b"+PONG\r\n"
    assert redis_command(port, "GET", "survivor") == b"$-1\r\n"
