"""Small steps the REST integration tests share: users, conversations, messages, problems.

Every helper takes an open `api_client` (no token of its own) and the acting `Account`, so a
test can play several users over one connection pool.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from tests.support.clients import Account, register

JSON = dict[str, Any]

PROBLEM_CONTENT_TYPE = "application/problem+json"
# The contract's time format: ISO 8601 in UTC, millisecond precision, `Z` suffix.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MALFORMED_ID = "not-a-uuid"


def bearer(account: Account) -> dict[str, str]:
    """The Authorization header of `account`."""
    return {"Authorization": f"Bearer {account.access_token}"}


def unknown_id() -> str:
    """A well-formed id that names nothing on the server."""
    return str(uuid.uuid4())


def new_client_id() -> str:
    return uuid.uuid4().hex


def assert_timestamp(value: object) -> None:
    assert isinstance(value, str) and TIMESTAMP.match(value), value


def assert_problem(response: httpx.Response, status: int, code: str) -> JSON:
    """Assert `response` is an RFC 9457 problem with the contract's `code`; return its body."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_CONTENT_TYPE, media_type
    body: JSON = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert isinstance(body["type"], str), body
    assert isinstance(body["title"], str), body
    assert isinstance(body["detail"], str), body
    return body


async def register_many(base_url: str, count: int, prefix: str = "user") -> list[Account]:
    """`count` fresh users, registered concurrently."""
    return list(await asyncio.gather(*(register(base_url, prefix) for _ in range(count))))


async def create_direct(api: httpx.AsyncClient, account: Account, other: Account) -> JSON:
    response = await api.post(
        "/api/conversations",
        json={"type": "direct", "participantIds": [other.id]},
        headers=bearer(account),
    )
    assert response.status_code in (200, 201), response.text
    conversation: JSON = response.json()
    return conversation


async def create_group(
    api: httpx.AsyncClient, owner: Account, members: Sequence[Account], name: str = "group"
) -> JSON:
    response = await api.post(
        "/api/conversations",
        json={"type": "group", "name": name, "participantIds": [m.id for m in members]},
        headers=bearer(owner),
    )
    assert response.status_code == 201, response.text
    conversation: JSON = response.json()
    return conversation


async def get_conversation(api: httpx.AsyncClient, account: Account, conversation_id: str) -> JSON:
    response = await api.get(f"/api/conversations/{conversation_id}", headers=bearer(account))
    assert response.status_code == 200, response.text
    conversation: JSON = response.json()
    return conversation


async def add_participants(
    api: httpx.AsyncClient, actor: Account, conversation_id: str, users: Sequence[Account]
) -> JSON:
    response = await api.post(
        f"/api/conversations/{conversation_id}/participants",
        json={"userIds": [u.id for u in users]},
        headers=bearer(actor),
    )
    assert response.status_code == 200, response.text
    conversation: JSON = response.json()
    return conversation


async def set_role(
    api: httpx.AsyncClient, owner: Account, conversation_id: str, user: Account, role: str
) -> JSON:
    response = await api.patch(
        f"/api/conversations/{conversation_id}/participants/{user.id}",
        json={"role": role},
        headers=bearer(owner),
    )
    assert response.status_code == 200, response.text
    participant: JSON = response.json()
    return participant


async def send_message(
    api: httpx.AsyncClient,
    account: Account,
    conversation_id: str,
    content: str = "hello",
    client_id: str | None = None,
) -> JSON:
    response = await api.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"clientId": client_id or new_client_id(), "content": content},
        headers=bearer(account),
    )
    assert response.status_code == 201, response.text
    message: JSON = response.json()
    return message


async def send_messages(
    api: httpx.AsyncClient, account: Account, conversation_id: str, count: int
) -> list[JSON]:
    """`count` messages sent one after another, so their seqs follow the list order."""
    return [
        await send_message(api, account, conversation_id, f"message {index}")
        for index in range(count)
    ]


def participant_of(conversation: JSON, user: Account) -> JSON:
    """The entry of `user` in a conversation's `participants`."""
    matches = [p for p in conversation["participants"] if p["id"] == user.id]
    assert len(matches) == 1, conversation["participants"]
    participant: JSON = matches[0]
    return participant
