"""`parley chat`, the README's way for two people to chat from two terminals."""

from __future__ import annotations

import asyncio
from asyncio.subprocess import PIPE, Process
from collections.abc import AsyncIterator, Callable

import pytest

from tests.support.clients import unique_name
from tests.support.server import PARLEY, ParleyServer

# The chats the running test started; each is ended after it, whatever became of the test.
started: list[Process] = []


@pytest.fixture(autouse=True)
async def end_started_chats() -> AsyncIterator[None]:
    yield
    while started:
        process = started.pop()
        if process.returncode is None:
            process.kill()
        await process.communicate()  # reads the pipes to their end, so they close


async def start_chat(server: ParleyServer, me: str, other: str, register: bool) -> Process:
    args = ["chat", "--url", server.url, "--username", me, "--password", "chat-secret-1"]
    args += ["--with", other, *(["--register"] if register else [])]
    process = await asyncio.create_subprocess_exec(
        str(PARLEY), *args, stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    started.append(process)
    return process


async def read_until(process: Process, text: str, timeout: float = 20.0) -> list[str]:
    """Lines the chat prints, up to and including the first one containing `text`."""
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                line = (await process.stdout.readline()).decode()
                if not line:
                    stderr = await process.stderr.read() if process.stderr else b""
                    raise AssertionError(f"chat ended before {text!r}: {lines} {stderr.decode()}")
                lines.append(line.rstrip("\n"))
                if text in line:
                    return lines
    except TimeoutError:
        raise AssertionError(f"no {text!r} within {timeout} s, only {lines}") from None


async def two_people_chatting(
    server: ParleyServer, alice: str, bob: str
) -> tuple[Process, Process]:
    """Two new accounts, each in a `parley chat` with the other, both past the greeting."""
    alice_chat = await start_chat(server, alice, bob, register=True)
    await read_until(alice_chat, f"waiting for {bob}")
    bob_chat = await start_chat(server, bob, alice, register=True)
    await read_until(bob_chat, "-- chatting with")
    await read_until(alice_chat, "-- chatting with")
    return alice_chat, bob_chat


async def say(process: Process, text: str) -> None:
    assert process.stdin is not None and process.stderr is not None
    try:
        process.stdin.write(f"{text}\n".encode())
        await process.stdin.drain()
    except ConnectionResetError:
        stderr = (await process.stderr.read()).decode()
        raise AssertionError(f"the chat ended before {text!r} could be typed: {stderr}") from None


async def leave(process: Process) -> None:
    """Ctrl-D: end the input, and the chat ends by itself."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    async with asyncio.timeout(10):
        rest = (await process.stdout.read()).decode()
        assert await process.wait() == 0
    assert "reconnecting" not in rest, rest


async def test_two_people_chat_from_two_terminals_and_keep_their_history(
    server: ParleyServer,
) -> None:
    alice, bob = unique_name("alice"), unique_name("bob")
    alice_chat, bob_chat = await two_people_chatting(server, alice, bob)

    await say(alice_chat, "hello bob 👋")
    await read_until(bob_chat, f"{alice}: hello bob 👋")
    await say(bob_chat, "hi alice")
    await read_until(alice_chat, f"{bob}: hi alice")
    await leave(alice_chat)
    await leave(bob_chat)

    again = await start_chat(server, alice, bob, register=False)
    history = await read_until(again, "-- chatting with")
    assert [line.split("] ", 1)[1] for line in history[:-1]] == [
        f"{alice}: hello bob 👋",
        f"{bob}: hi alice",
    ]
    await leave(again)


async def test_chat_with_an_unreachable_server_says_so_in_one_line() -> None:
    process = await asyncio.create_subprocess_exec(
        str(PARLEY), "chat", "--url", "http://127.0.0.1:9", "--username", "someone",
        "--password", "chat-secret-1", "--with", "other", stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 1
    assert stderr.decode().strip().splitlines() == [
        "parley chat: cannot reach Parley at http://127.0.0.1:9 (ConnectError)"
    ]


async def test_a_line_typed_while_the_server_restarts_arrives_once(
    server_factory: Callable[..., ParleyServer],
) -> None:
    server = server_factory()
    alice, bob = unique_name("alice"), unique_name("bob")
    alice_chat, bob_chat = await two_people_chatting(server, alice, bob)

    await asyncio.to_thread(server.stop)
    await say(alice_chat, "typed while the server was away")
    await asyncio.to_thread(server.start)

    await read_until(bob_chat, f"{alice}: typed while the server was away", timeout=20)
    await say(bob_chat, "got it")
    # Had the line arrived twice, bob's screen would show it again before his own line.
    lines = await read_until(bob_chat, f"{bob}: got it")
    assert not any("typed while the server was away" in line for line in lines), lines
    await read_until(alice_chat, f"{bob}: got it")  # past her "reconnecting" lines
    await leave(alice_chat)
    await leave(bob_chat)
