"""The benchmarks' bulk data (`bench.bulk`), served by a real server as if sent through the
API; and the conversation list's statement count, read from `/metrics`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from bench.bulk import bulk_conversations, bulk_history

from parley.config import Settings
from tests.integration.helpers import bearer, send_message, start_direct
from tests.integration.test_metrics import sample, scrape
from tests.support.clients import Account, api_client, register
from tests.support.server import ParleyServer

STATEMENTS = "parley_database_statements_total"


def database_url(server: ParleyServer) -> str:
    settings = Settings(
        data_dir=server.data_dir, database_url=server.settings.get("PARLEY_DATABASE_URL")
    )
    return settings.resolved_database_url


async def page_of(
    api: httpx.AsyncClient, account: Account, conversation_id: str, **params: int
) -> tuple[list[int], bool]:
    response = await api.get(
        f"/api/conversations/{conversation_id}/messages", params=params, headers=bearer(account)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return [m["seq"] for m in body["items"]], body["hasMore"]


async def test_bulk_history_continues_the_conversation(server: ParleyServer) -> None:
    alice, bob = await register(server.url, "alice"), await register(server.url, "bob")
    conversation = await start_direct(server.url, alice, bob)
    cid = conversation["id"]
    async with api_client(server.url) as api:
        await send_message(api, alice, cid, "before")
        assert (await page_of(api, bob, cid)) == ([1], False)  # the newest page, now cached

        result = await bulk_history(database_url(server), uuid.UUID(cid), 3000, chunk=700)
        assert (result.first_seq, result.last_seq) == (2, 3001)

        newest, more = await page_of(api, bob, cid, limit=5)
        assert (newest, more) == ([3001, 3000, 2999, 2998, 2997], True)
        deep, more = await page_of(api, bob, cid, before=3, limit=50)
        assert (deep, more) == ([2, 1], False)
        middle, _ = await page_of(api, bob, cid, before=1500, limit=50)
        assert middle == list(range(1499, 1449, -1))
        after, _ = await page_of(api, alice, cid, after=2990)
        assert after == list(range(2991, 3002))

        response = await api.get(f"/api/conversations/{cid}/messages", headers=bearer(bob))
        items: list[dict[str, Any]] = response.json()["items"]
        assert {m["senderId"] for m in items} == {alice.id, bob.id}
        assert all(m["type"] == "text" and m["content"] and m["metadata"] == {} for m in items)
        times = [m["createdAt"] for m in items]
        assert times == sorted(times, reverse=True)

        # Both sent in turn, so each one's marker is on their own newest message.
        view = (await api.get(f"/api/conversations/{cid}", headers=bearer(alice))).json()
        assert view["lastSeq"] == 3001 and view["lastMessage"]["seq"] == 3001
        assert view["lastActivityAt"] == view["lastMessage"]["createdAt"]
        markers = {p["id"]: p["lastReadSeq"] for p in view["participants"]}
        assert markers == {alice.id: 3000, bob.id: 3001}
        assert view["unreadCount"] == 1

        # The next message sent through the API takes the next seq.
        sent = await send_message(api, bob, cid, "after")
        assert sent["seq"] == 3002


async def list_first_page(server: ParleyServer, account: Account) -> tuple[list[Any], float]:
    """The first page of the account's conversations, and the SQL statements it ran."""
    before = sample((await scrape(server)).text, STATEMENTS)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(account)) as api:
        response = await api.get("/api/conversations")
    assert response.status_code == 200, response.text
    ran = sample((await scrape(server)).text, STATEMENTS) - before
    items: list[Any] = response.json()["items"]
    return items, ran


async def test_the_conversation_list_costs_the_same_statements_in_3_or_60_conversations(
    server_factory: Callable[..., ParleyServer],
) -> None:
    # A server of its own: nothing else runs statements between two scrapes.
    server = server_factory()
    url = database_url(server)
    few, many = await register(server.url, "few"), await register(server.url, "many")
    partners = [await register(server.url, "partner") for _ in range(2)]
    partner_ids = [uuid.UUID(p.id) for p in partners]

    made = await bulk_conversations(url, uuid.UUID(few.id), partner_ids, 3, messages=4, unread=2)
    await bulk_conversations(url, uuid.UUID(many.id), partner_ids, 60, messages=3, unread=3)

    few_items, few_statements = await list_first_page(server, few)
    many_items, many_statements = await list_first_page(server, many)
    assert few_statements == many_statements > 0
    assert len(few_items) == 3 and len(many_items) == 50

    assert [item["id"] for item in few_items] == [str(i) for i in made.conversation_ids]
    for item in few_items:
        assert item["type"] == "group" and item["lastSeq"] == 4 and item["unreadCount"] == 2
        assert item["participantCount"] == 3
        roles = [(p["id"], p["role"]) for p in item["participants"]]
        owner = roles[0][0]
        assert owner in {p.id for p in partners} and roles[0][1] == "owner"
        members = {few.id, *(p.id for p in partners)} - {owner}
        assert sorted(roles[1:]) == sorted((member, "member") for member in members)
        assert item["lastMessage"]["seq"] == 4 and item["lastMessage"]["senderId"] != few.id
        marker = next(p["lastReadSeq"] for p in item["participants"] if p["id"] == few.id)
        assert marker == 2
    assert all(item["unreadCount"] == 3 for item in many_items)
    activity = [item["lastActivityAt"] for item in many_items]
    assert activity == sorted(activity, reverse=True)

    # The user reads one group through the API: it drops to no unread.
    async with api_client(server.url) as api:
        first = few_items[0]["id"]
        response = await api.post(
            f"/api/conversations/{first}/read", json={"seq": 4}, headers=bearer(few)
        )
        assert response.status_code == 204
    after_reading, _ = await list_first_page(server, few)
    assert [item["unreadCount"] for item in after_reading] == [0, 2, 2]
