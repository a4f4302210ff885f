"""REST conversations: direct and group creation, listing, renaming, participants and roles.

The membership rule is checked for every conversation-scoped endpoint: someone outside the
conversation gets `not_found` (existence is not leaked), a participant without the role gets
`forbidden`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.helpers import (
    JSON,
    MALFORMED_ID,
    add_participants,
    assert_problem,
    assert_timestamp,
    bearer,
    create_direct,
    create_group,
    get_conversation,
    new_client_id,
    participant_of,
    register_many,
    send_message,
    send_messages,
    set_role,
    unknown_id,
)
from tests.support.clients import Account, api_client, register
from tests.support.server import ParleyServer

PARTICIPANT_FIELDS = {
    "id",
    "username",
    "displayName",
    "avatarUrl",
    "presence",
    "lastSeenAt",
    "role",
    "joinedAt",
    "lastReadSeq",
    "lastReadAt",
}


async def list_page(
    api: httpx.AsyncClient, account: Account, limit: int, before: str | None = None
) -> JSON:
    params: dict[str, str | int] = {"limit": limit}
    if before is not None:
        params["before"] = before
    response = await api.get("/api/conversations", params=params, headers=bearer(account))
    assert response.status_code == 200, response.text
    page: JSON = response.json()
    return page


async def participants_page(
    api: httpx.AsyncClient, account: Account, conversation_id: str, limit: int, after: str | None
) -> JSON:
    params: dict[str, str | int] = {"limit": limit}
    if after is not None:
        params["after"] = after
    response = await api.get(
        f"/api/conversations/{conversation_id}/participants", params=params, headers=bearer(account)
    )
    assert response.status_code == 200, response.text
    page: JSON = response.json()
    return page


async def remove(
    api: httpx.AsyncClient, actor: Account, conversation_id: str, user: Account
) -> httpx.Response:
    return await api.delete(
        f"/api/conversations/{conversation_id}/participants/{user.id}", headers=bearer(actor)
    )


# Direct conversations


async def test_create_direct_answers_201_with_both_members(server: ParleyServer) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [bob.id]},
            headers=bearer(alice),
        )

    assert response.status_code == 201, response.text
    conversation = response.json()
    assert conversation["type"] == "direct"
    assert conversation["name"] is None
    assert conversation["participantCount"] == 2
    assert {p["id"] for p in conversation["participants"]} == {alice.id, bob.id}
    assert {p["role"] for p in conversation["participants"]} == {"member"}
    for participant in conversation["participants"]:
        assert participant.keys() >= PARTICIPANT_FIELDS
        assert "email" not in participant
    assert conversation["lastSeq"] == 0
    assert conversation["lastMessage"] is None
    assert conversation["unreadCount"] == 0
    assert_timestamp(conversation["createdAt"])
    assert conversation["lastActivityAt"] == conversation["createdAt"]


async def test_create_direct_again_answers_200_with_the_same_conversation(
    server: ParleyServer,
) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        first = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [bob.id]},
            headers=bearer(alice),
        )
        again = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [bob.id]},
            headers=bearer(alice),
        )
        other_side = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [alice.id]},
            headers=bearer(bob),
        )

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert other_side.status_code == 200, other_side.text
    assert first.json()["id"] == again.json()["id"] == other_side.json()["id"]


async def test_concurrent_direct_creation_makes_one_conversation(server: ParleyServer) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        responses = await asyncio.gather(
            api.post(
                "/api/conversations",
                json={"type": "direct", "participantIds": [bob.id]},
                headers=bearer(alice),
            ),
            api.post(
                "/api/conversations",
                json={"type": "direct", "participantIds": [alice.id]},
                headers=bearer(bob),
            ),
        )

    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    assert responses[0].json()["id"] == responses[1].json()["id"]


async def test_create_direct_with_self_is_validation_error(server: ParleyServer) -> None:
    alice = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [alice.id]},
            headers=bearer(alice),
        )

    assert_problem(response, 422, "validation_error")


async def test_create_direct_with_unknown_user_is_validation_error(server: ParleyServer) -> None:
    alice = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [unknown_id()]},
            headers=bearer(alice),
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("count", [0, 2])
async def test_create_direct_without_exactly_one_other_is_validation_error(
    server: ParleyServer, count: int
) -> None:
    alice, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "direct", "participantIds": [bob.id, carol.id][:count]},
            headers=bearer(alice),
        )

    assert_problem(response, 422, "validation_error")


# Groups


async def test_create_group_makes_the_creator_owner(server: ParleyServer) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "group", "name": "Team 🚀", "participantIds": [bob.id, carol.id]},
            headers=bearer(owner),
        )

    assert response.status_code == 201, response.text
    group = response.json()
    assert group["type"] == "group"
    assert group["name"] == "Team 🚀"
    assert group["participantCount"] == 3
    assert participant_of(group, owner)["role"] == "owner"
    assert participant_of(group, bob)["role"] == "member"
    assert participant_of(group, carol)["role"] == "member"
    assert group["participants"][0]["id"] == owner.id
    assert group["lastSeq"] == 0
    assert group["lastMessage"] is None
    assert group["unreadCount"] == 0
    assert group["lastActivityAt"] == group["createdAt"]


async def test_create_group_ignores_duplicates_and_own_id(server: ParleyServer) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={
                "type": "group",
                "name": "dupes",
                "participantIds": [bob.id, owner.id, bob.id, carol.id, carol.id],
            },
            headers=bearer(owner),
        )

    assert response.status_code == 201, response.text
    group = response.json()
    assert group["participantCount"] == 3
    assert sorted(p["id"] for p in group["participants"]) == sorted([owner.id, bob.id, carol.id])
    assert participant_of(group, owner)["role"] == "owner"


async def test_create_group_with_unknown_user_is_validation_error(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "group", "name": "g", "participantIds": [bob.id, unknown_id()]},
            headers=bearer(owner),
        )
        listed = await list_page(api, owner, 100)

    assert_problem(response, 422, "validation_error")
    assert listed["items"] == []


@pytest.mark.parametrize(
    "name",
    ["", "   ", "\t\n", "n" * 101, None],
    ids=["empty", "spaces", "white_space", "too_long", "missing"],
)
async def test_create_group_with_invalid_name_is_validation_error(
    server: ParleyServer, name: str | None
) -> None:
    owner, bob = await register_many(server.url, 2)
    body: JSON = {"type": "group", "participantIds": [bob.id]}
    if name is not None:
        body["name"] = name
    async with api_client(server.url) as api:
        response = await api.post("/api/conversations", json=body, headers=bearer(owner))

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("name", ["n", "n" * 100, "  padded  "])
async def test_create_group_name_is_kept_as_sent(server: ParleyServer, name: str) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob], name=name)

    assert group["name"] == name


async def test_create_with_unknown_type_is_validation_error(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        response = await api.post(
            "/api/conversations",
            json={"type": "channel", "name": "x", "participantIds": [bob.id]},
            headers=bearer(owner),
        )

    assert_problem(response, 422, "validation_error")


async def test_large_group_lists_ten_participants_in_list_items(server: ParleyServer) -> None:
    owner, *others = await register_many(server.url, 12)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, others)
        fetched = await get_conversation(api, owner, group["id"])
        listed = await list_page(api, owner, 10)

    assert group["participantCount"] == 12
    assert len(group["participants"]) == 12
    assert len(fetched["participants"]) == 12
    (item,) = [i for i in listed["items"] if i["id"] == group["id"]]
    assert item["participantCount"] == 12
    assert len(item["participants"]) == 10
    assert [p["id"] for p in item["participants"]] == [
        p["id"] for p in fetched["participants"][:10]
    ]


async def test_group_over_the_participant_cap_is_validation_error(
    server_factory: Callable[..., ParleyServer],
) -> None:
    instance = server_factory({"PARLEY_GROUP_MAX_PARTICIPANTS": "3"})
    owner, bob, carol, dave = await register_many(instance.url, 4)
    async with api_client(instance.url) as api:
        too_many = await api.post(
            "/api/conversations",
            json={"type": "group", "name": "big", "participantIds": [bob.id, carol.id, dave.id]},
            headers=bearer(owner),
        )
        assert_problem(too_many, 422, "validation_error")

        full = await create_group(api, owner, [bob, carol])  # the creator counts: 3 of 3
        one_more = await api.post(
            f"/api/conversations/{full['id']}/participants",
            json={"userIds": [dave.id]},
            headers=bearer(owner),
        )
        assert_problem(one_more, 422, "validation_error")
        assert (await get_conversation(api, owner, full["id"]))["participantCount"] == 3


async def test_group_over_100_shows_the_first_100_and_pages_the_rest(
    server: ParleyServer,
) -> None:
    owner, *others = await register_many(server.url, 102)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, others)
        fetched = await get_conversation(api, owner, group["id"])

        listed: list[str] = []
        cursor: str | None = None
        for _ in range(10):  # bounded: 102 participants in pages of 100 take 2 pages
            page = await participants_page(api, owner, group["id"], 100, cursor)
            listed.extend(item["id"] for item in page["items"])
            cursor = page["nextCursor"]
            if cursor is None:
                break

    assert group["participantCount"] == fetched["participantCount"] == 102
    assert len(group["participants"]) == 100
    assert len(fetched["participants"]) == 100
    assert listed[:100] == [p["id"] for p in fetched["participants"]]
    assert sorted(listed) == sorted([owner.id, *(o.id for o in others)])


# Listing


async def test_list_is_newest_activity_first_and_pages_without_duplicates(
    server: ParleyServer,
) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        created = [await create_group(api, alice, [bob], name=f"g{i}") for i in range(5)]
        await asyncio.sleep(0.01)  # the message's time must be later than every creation
        await send_message(api, bob, created[0]["id"])

        whole = await list_page(api, alice, 100)
        assert whole["nextCursor"] is None
        ids = [item["id"] for item in whole["items"]]
        assert sorted(ids) == sorted(c["id"] for c in created)
        assert ids[0] == created[0]["id"]  # the message made it the newest
        activity = [item["lastActivityAt"] for item in whole["items"]]
        assert activity == sorted(activity, reverse=True)

        paged: list[str] = []
        cursor: str | None = None
        sizes: list[int] = []
        for _ in range(10):  # bounded: 5 conversations in pages of 2 take 3 pages
            page = await list_page(api, alice, 2, cursor)
            sizes.append(len(page["items"]))
            paged.extend(item["id"] for item in page["items"])
            cursor = page["nextCursor"]
            if cursor is None:
                break

    assert sizes == [2, 2, 1]
    assert paged == ids


async def test_list_pages_one_by_one_through_ties_without_loss_or_duplicates(
    server: ParleyServer,
) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        # Created at once, several share a millisecond: the cursor must break ties by id.
        created = await asyncio.gather(
            *(create_group(api, alice, [bob], name=f"tie{i}") for i in range(8))
        )
        whole = [item["id"] for item in (await list_page(api, alice, 100))["items"]]

        paged: list[str] = []
        cursor: str | None = None
        for _ in range(20):  # bounded: 8 conversations in pages of 1 take 8 pages
            page = await list_page(api, alice, 1, cursor)
            paged.extend(item["id"] for item in page["items"])
            cursor = page["nextCursor"]
            if cursor is None:
                break

    assert sorted(whole) == sorted(c["id"] for c in created)
    assert paged == whole


async def test_list_item_carries_last_message_and_unread_count(server: ParleyServer) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        direct = await create_direct(api, alice, bob)
        sent = await send_messages(api, alice, direct["id"], 2)
        page = await list_page(api, bob, 10)

    (item,) = page["items"]
    assert item["id"] == direct["id"]
    assert item["lastSeq"] == 2
    assert item["lastMessage"]["id"] == sent[-1]["id"]
    assert item["unreadCount"] == 2
    assert item["lastActivityAt"] == sent[-1]["createdAt"]


async def test_list_of_a_new_user_is_empty(server: ParleyServer) -> None:
    alice = await register(server.url)
    async with api_client(server.url) as api:
        page = await list_page(api, alice, 10)

    assert page == {"items": [], "nextCursor": None}


async def test_list_caps_limit_at_100(server: ParleyServer) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        for index in range(101):
            await create_group(api, alice, [bob], name=f"g{index}")
        page = await list_page(api, alice, 500)
        default = await list_page(api, alice, 50)
        unlimited = await api.get("/api/conversations", headers=bearer(alice))

    assert len(page["items"]) == 100
    assert page["nextCursor"] is not None
    assert len(default["items"]) == 50
    assert unlimited.status_code == 200
    assert len(unlimited.json()["items"]) == 50


# Get and rename


async def test_get_conversation_answers_it(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob], name="fetch me")
        fetched = await get_conversation(api, bob, group["id"])

    assert fetched["id"] == group["id"]
    assert fetched["name"] == "fetch me"
    assert [p["id"] for p in fetched["participants"]] == [p["id"] for p in group["participants"]]


async def test_get_unknown_conversation_is_not_found(server: ParleyServer) -> None:
    alice = await register(server.url)
    async with api_client(server.url) as api:
        unknown = await api.get(f"/api/conversations/{unknown_id()}", headers=bearer(alice))
        malformed = await api.get(f"/api/conversations/{MALFORMED_ID}", headers=bearer(alice))

    assert_problem(unknown, 404, "not_found")
    assert_problem(malformed, 404, "not_found")


async def test_rename_by_owner_and_admin_answers_the_conversation(server: ParleyServer) -> None:
    owner, admin = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin], name="before")
        await set_role(api, owner, group["id"], admin, "admin")

        by_owner = await api.patch(
            f"/api/conversations/{group['id']}", json={"name": "by owner"}, headers=bearer(owner)
        )
        assert by_owner.status_code == 200, by_owner.text
        assert by_owner.json()["name"] == "by owner"
        assert by_owner.json()["participantCount"] == 2

        by_admin = await api.patch(
            f"/api/conversations/{group['id']}", json={"name": "by admin"}, headers=bearer(admin)
        )
        assert by_admin.status_code == 200, by_admin.text
        assert (await get_conversation(api, owner, group["id"]))["name"] == "by admin"


async def test_rename_by_member_is_forbidden(server: ParleyServer) -> None:
    owner, member = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [member], name="stays")
        response = await api.patch(
            f"/api/conversations/{group['id']}", json={"name": "nope"}, headers=bearer(member)
        )
        unchanged = await get_conversation(api, owner, group["id"])

    assert_problem(response, 403, "forbidden")
    assert unchanged["name"] == "stays"


@pytest.mark.parametrize("name", ["", "  ", "n" * 101])
async def test_rename_with_invalid_name_is_validation_error(
    server: ParleyServer, name: str
) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        response = await api.patch(
            f"/api/conversations/{group['id']}", json={"name": name}, headers=bearer(owner)
        )

    assert_problem(response, 422, "validation_error")


async def test_rename_direct_is_validation_error(server: ParleyServer) -> None:
    alice, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        direct = await create_direct(api, alice, bob)
        response = await api.patch(
            f"/api/conversations/{direct['id']}", json={"name": "ours"}, headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


# Participants


async def test_participants_page_in_join_order(server: ParleyServer) -> None:
    owner, *members = await register_many(server.url, 4)
    late = await register(server.url)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, members)
        await add_participants(api, owner, group["id"], [late])
        expected = [
            p["id"] for p in (await get_conversation(api, owner, group["id"]))["participants"]
        ]

        seen: list[str] = []
        sizes: list[int] = []
        cursor: str | None = None
        for _ in range(10):  # bounded: 5 participants in pages of 2 take 3 pages
            page = await participants_page(api, members[0], group["id"], 2, cursor)
            sizes.append(len(page["items"]))
            for item in page["items"]:
                assert item.keys() >= PARTICIPANT_FIELDS
                assert "email" not in item
            seen.extend(item["id"] for item in page["items"])
            cursor = page["nextCursor"]
            if cursor is None:
                break

    assert sizes == [2, 2, 1]
    assert seen == expected
    assert seen[0] == owner.id
    assert seen[-1] == late.id
    assert len(set(seen)) == 5


async def test_add_participants_start_with_read_marker_at_last_seq(server: ParleyServer) -> None:
    owner, bob, newcomer = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        await send_messages(api, bob, group["id"], 3)

        response = await api.post(
            f"/api/conversations/{group['id']}/participants",
            json={"userIds": [newcomer.id]},
            headers=bearer(owner),
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["participantCount"] == 3
        joined = participant_of(updated, newcomer)
        assert joined["role"] == "member"
        assert joined["lastReadSeq"] == 3

        seen_by_newcomer = await get_conversation(api, newcomer, group["id"])
        assert seen_by_newcomer["unreadCount"] == 0
        await send_message(api, bob, group["id"])
        assert (await get_conversation(api, newcomer, group["id"]))["unreadCount"] == 1


async def test_readded_participant_joins_again_at_the_end_with_nothing_unread(
    server: ParleyServer,
) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob, carol])
        assert (await remove(api, bob, group["id"], bob)).status_code == 204
        await send_messages(api, carol, group["id"], 2)

        updated = await add_participants(api, owner, group["id"], [bob])
        seen_by_bob = await get_conversation(api, bob, group["id"])

    assert [p["id"] for p in updated["participants"]] == [owner.id, carol.id, bob.id]
    assert participant_of(updated, bob)["role"] == "member"
    assert participant_of(updated, bob)["lastReadSeq"] == 2
    assert seen_by_bob["unreadCount"] == 0


async def test_add_participants_ignores_those_already_in(server: ParleyServer) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        updated = await add_participants(api, owner, group["id"], [bob, owner, carol, carol])

    assert updated["participantCount"] == 3
    assert sorted(p["id"] for p in updated["participants"]) == sorted([owner.id, bob.id, carol.id])
    assert participant_of(updated, owner)["role"] == "owner"


async def test_concurrent_adds_of_one_user_add_them_once(server: ParleyServer) -> None:
    owner, admin, newcomer = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin])
        await set_role(api, owner, group["id"], admin, "admin")
        responses = await asyncio.gather(
            *(
                api.post(
                    f"/api/conversations/{group['id']}/participants",
                    json={"userIds": [newcomer.id]},
                    headers=bearer(actor),
                )
                for actor in (owner, admin, owner, admin)
            )
        )
        after = await get_conversation(api, owner, group["id"])

    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert after["participantCount"] == 3
    assert [p["id"] for p in after["participants"]].count(newcomer.id) == 1


async def test_add_participants_by_admin_is_allowed(server: ParleyServer) -> None:
    owner, admin, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin])
        await set_role(api, owner, group["id"], admin, "admin")
        updated = await add_participants(api, admin, group["id"], [carol])

    assert participant_of(updated, carol)["role"] == "member"


async def test_add_unknown_user_is_validation_error(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        response = await api.post(
            f"/api/conversations/{group['id']}/participants",
            json={"userIds": [unknown_id()]},
            headers=bearer(owner),
        )

    assert_problem(response, 422, "validation_error")


async def test_owner_changes_roles(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        promoted = await set_role(api, owner, group["id"], bob, "admin")
        assert promoted["id"] == bob.id
        assert promoted["role"] == "admin"
        assert {"joinedAt", "lastReadSeq", "lastReadAt", "presence"} <= promoted.keys()
        assert participant_of(await get_conversation(api, bob, group["id"]), bob)["role"] == "admin"

        demoted = await set_role(api, owner, group["id"], bob, "member")
        assert demoted["role"] == "member"


async def test_owner_changing_own_role_is_conflict(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        response = await api.patch(
            f"/api/conversations/{group['id']}/participants/{owner.id}",
            json={"role": "member"},
            headers=bearer(owner),
        )
        after = await get_conversation(api, owner, group["id"])

    assert_problem(response, 409, "conflict")
    assert participant_of(after, owner)["role"] == "owner"


@pytest.mark.parametrize("role", ["owner", "guest", ""])
async def test_role_outside_admin_and_member_is_validation_error(
    server: ParleyServer, role: str
) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        response = await api.patch(
            f"/api/conversations/{group['id']}/participants/{bob.id}",
            json={"role": role},
            headers=bearer(owner),
        )

    assert_problem(response, 422, "validation_error")


async def test_owner_and_admin_remove_members(server: ParleyServer) -> None:
    owner, admin, bob, carol = await register_many(server.url, 4)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin, bob, carol])
        await set_role(api, owner, group["id"], admin, "admin")

        by_owner = await remove(api, owner, group["id"], bob)
        assert by_owner.status_code == 204, by_owner.text
        by_admin = await remove(api, admin, group["id"], carol)
        assert by_admin.status_code == 204, by_admin.text

        remaining = await get_conversation(api, owner, group["id"])
        assert sorted(p["id"] for p in remaining["participants"]) == sorted([owner.id, admin.id])
        assert remaining["participantCount"] == 2
        removed_view = await api.get(f"/api/conversations/{group['id']}", headers=bearer(bob))
        assert_problem(removed_view, 404, "not_found")


async def test_only_the_owner_removes_admins(server: ParleyServer) -> None:
    owner, first_admin, second_admin = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [first_admin, second_admin])
        await set_role(api, owner, group["id"], first_admin, "admin")
        await set_role(api, owner, group["id"], second_admin, "admin")

        by_admin = await remove(api, first_admin, group["id"], second_admin)
        assert_problem(by_admin, 403, "forbidden")
        by_owner = await remove(api, owner, group["id"], second_admin)
        assert by_owner.status_code == 204, by_owner.text


async def test_nobody_removes_the_owner(server: ParleyServer) -> None:
    owner, admin, member = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin, member])
        await set_role(api, owner, group["id"], admin, "admin")

        assert_problem(await remove(api, admin, group["id"], owner), 403, "forbidden")
        assert_problem(await remove(api, member, group["id"], owner), 403, "forbidden")
        after = await get_conversation(api, owner, group["id"])

    assert participant_of(after, owner)["role"] == "owner"


async def test_member_removing_another_member_is_forbidden(server: ParleyServer) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob, carol])
        response = await remove(api, bob, group["id"], carol)

    assert_problem(response, 403, "forbidden")


@pytest.mark.parametrize("role", ["member", "admin"])
async def test_anyone_leaves(server: ParleyServer, role: str) -> None:
    owner, leaver = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [leaver])
        if role == "admin":
            await set_role(api, owner, group["id"], leaver, "admin")

        response = await remove(api, leaver, group["id"], leaver)
        assert response.status_code == 204, response.text
        gone = await api.get(f"/api/conversations/{group['id']}", headers=bearer(leaver))
        assert_problem(gone, 404, "not_found")
        listed = await list_page(api, leaver, 10)
        assert listed["items"] == []
        assert (await get_conversation(api, owner, group["id"]))["participantCount"] == 1


async def test_last_participant_leaving_is_204(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        assert (await remove(api, bob, group["id"], bob)).status_code == 204
        response = await remove(api, owner, group["id"], owner)
        gone = await api.get(f"/api/conversations/{group['id']}", headers=bearer(owner))

    assert response.status_code == 204, response.text
    assert_problem(gone, 404, "not_found")


async def test_owner_leaving_passes_ownership_to_longest_standing_admin(
    server: ParleyServer,
) -> None:
    owner, early_member, first_admin, second_admin = await register_many(server.url, 4)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [early_member])
        await add_participants(api, owner, group["id"], [first_admin])
        await add_participants(api, owner, group["id"], [second_admin])
        # Promote the later one first: standing is join order, not promotion order.
        await set_role(api, owner, group["id"], second_admin, "admin")
        await set_role(api, owner, group["id"], first_admin, "admin")

        response = await remove(api, owner, group["id"], owner)
        assert response.status_code == 204, response.text
        after = await get_conversation(api, early_member, group["id"])

    assert participant_of(after, first_admin)["role"] == "owner"
    assert participant_of(after, second_admin)["role"] == "admin"
    assert participant_of(after, early_member)["role"] == "member"
    assert after["participantCount"] == 3


async def test_owner_leaving_without_admins_passes_ownership_to_longest_standing_member(
    server: ParleyServer,
) -> None:
    owner, first, second = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [first])
        await add_participants(api, owner, group["id"], [second])

        response = await remove(api, owner, group["id"], owner)
        assert response.status_code == 204, response.text
        after = await get_conversation(api, second, group["id"])

    assert participant_of(after, first)["role"] == "owner"
    assert participant_of(after, second)["role"] == "member"


async def test_new_owner_after_handover_manages_the_group(server: ParleyServer) -> None:
    owner, heir, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [heir])
        await add_participants(api, owner, group["id"], [carol])
        assert (await remove(api, owner, group["id"], owner)).status_code == 204

        promoted = await set_role(api, heir, group["id"], carol, "admin")

    assert promoted["role"] == "admin"


async def test_participant_changes_on_direct_are_validation_error(server: ParleyServer) -> None:
    alice, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        direct = await create_direct(api, alice, bob)
        path = f"/api/conversations/{direct['id']}/participants"

        add = await api.post(path, json={"userIds": [carol.id]}, headers=bearer(alice))
        role = await api.patch(f"{path}/{bob.id}", json={"role": "admin"}, headers=bearer(alice))
        kick = await api.delete(f"{path}/{bob.id}", headers=bearer(alice))
        leave = await api.delete(f"{path}/{alice.id}", headers=bearer(alice))
        after = await get_conversation(api, alice, direct["id"])

    for response in (add, role, kick, leave):
        assert_problem(response, 422, "validation_error")
    assert after["participantCount"] == 2


async def test_unknown_participant_in_path_is_not_found(server: ParleyServer) -> None:
    owner, bob, outsider = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        path = f"/api/conversations/{group['id']}/participants"
        results = [
            await api.patch(f"{path}/{outsider.id}", json={"role": "admin"}, headers=bearer(owner)),
            await api.delete(f"{path}/{outsider.id}", headers=bearer(owner)),
            await api.patch(
                f"{path}/{MALFORMED_ID}", json={"role": "admin"}, headers=bearer(owner)
            ),
            await api.delete(f"{path}/{MALFORMED_ID}", headers=bearer(owner)),
        ]

    for response in results:
        assert_problem(response, 404, "not_found")


# The membership rule, endpoint by endpoint


@dataclass(frozen=True)
class Call:
    """One request against a conversation, with placeholders filled from a `Scene`."""

    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass
class Scene:
    """A group with an owner, two admins, two members, an outsider and a message of each kind."""

    conversation_id: str
    owner: Account
    admin: Account
    other_admin: Account
    member: Account
    other_member: Account
    outsider: Account
    owner_message_id: str
    member_message_id: str

    def fill(self, text: str) -> str:
        return text.format(
            cid=self.conversation_id,
            owner=self.owner.id,
            admin=self.admin.id,
            other_admin=self.other_admin.id,
            member=self.member.id,
            other_member=self.other_member.id,
            outsider=self.outsider.id,
            owner_message=self.owner_message_id,
            member_message=self.member_message_id,
        )

    def actor(self, name: str) -> Account:
        account: Account = getattr(self, name)
        return account


async def build_scene(api: httpx.AsyncClient, base_url: str) -> Scene:
    owner, admin, other_admin, member, other_member, outsider = await register_many(base_url, 6)
    group = await create_group(api, owner, [admin, other_admin, member, other_member])
    await set_role(api, owner, group["id"], admin, "admin")
    await set_role(api, owner, group["id"], other_admin, "admin")
    owner_message = await send_message(api, owner, group["id"], "from the owner")
    member_message = await send_message(api, other_member, group["id"], "from a member")
    return Scene(
        group["id"],
        owner,
        admin,
        other_admin,
        member,
        other_member,
        outsider,
        owner_message["id"],
        member_message["id"],
    )


async def perform(api: httpx.AsyncClient, scene: Scene, actor: str, call: Call) -> httpx.Response:
    body = None
    if call.body is not None:
        body = {key: scene.fill(v) if isinstance(v, str) else v for key, v in call.body.items()}
        if "userIds" in body:
            body["userIds"] = [scene.fill(u) for u in body["userIds"]]
    return await api.request(
        call.method, scene.fill(call.path), json=body, headers=bearer(scene.actor(actor))
    )


CONVERSATION_SCOPED_CALLS = {
    "get_conversation": Call("GET", "/api/conversations/{cid}"),
    "rename": Call("PATCH", "/api/conversations/{cid}", {"name": "taken over"}),
    "list_participants": Call("GET", "/api/conversations/{cid}/participants"),
    "add_participants": Call(
        "POST", "/api/conversations/{cid}/participants", {"userIds": ["{outsider}"]}
    ),
    "change_role": Call(
        "PATCH", "/api/conversations/{cid}/participants/{member}", {"role": "admin"}
    ),
    "remove_participant": Call("DELETE", "/api/conversations/{cid}/participants/{member}"),
    "leave": Call("DELETE", "/api/conversations/{cid}/participants/{outsider}"),
    "history_before": Call("GET", "/api/conversations/{cid}/messages"),
    "history_after": Call("GET", "/api/conversations/{cid}/messages?after=0"),
    "send_message": Call(
        "POST", "/api/conversations/{cid}/messages", {"clientId": "intruder", "content": "hi"}
    ),
    "mark_read": Call("POST", "/api/conversations/{cid}/read", {"seq": 1}),
    "edit_message": Call("PATCH", "/api/messages/{owner_message}", {"content": "defaced"}),
    "delete_message": Call("DELETE", "/api/messages/{owner_message}"),
}


@pytest.mark.parametrize("name", CONVERSATION_SCOPED_CALLS)
async def test_outsider_gets_not_found_from_every_conversation_endpoint(
    server: ParleyServer, name: str
) -> None:
    async with api_client(server.url) as api:
        scene = await build_scene(api, server.url)
        response = await perform(api, scene, "outsider", CONVERSATION_SCOPED_CALLS[name])
        assert_problem(response, 404, "not_found")

        # Nothing changed behind the refusal.
        after = await get_conversation(api, scene.owner, scene.conversation_id)
        assert after["name"] == "group"
        assert after["participantCount"] == 5
        assert after["lastSeq"] == 2
        assert participant_of(after, scene.member)["role"] == "member"
        history = await api.get(
            f"/api/conversations/{scene.conversation_id}/messages", headers=bearer(scene.owner)
        )
        contents = [m["content"] for m in history.json()["items"]]
        assert contents == ["from a member", "from the owner"]


async def test_removed_participant_gets_not_found(server: ParleyServer) -> None:
    owner, bob = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob])
        message = await send_message(api, bob, group["id"])
        assert (await remove(api, owner, group["id"], bob)).status_code == 204

        cid = group["id"]
        results = [
            await api.get(f"/api/conversations/{cid}", headers=bearer(bob)),
            await api.get(f"/api/conversations/{cid}/messages", headers=bearer(bob)),
            await api.post(
                f"/api/conversations/{cid}/messages",
                json={"clientId": new_client_id(), "content": "still here?"},
                headers=bearer(bob),
            ),
            await api.patch(
                f"/api/messages/{message['id']}", json={"content": "x"}, headers=bearer(bob)
            ),
            await api.delete(f"/api/messages/{message['id']}", headers=bearer(bob)),
        ]

    for response in results:
        assert_problem(response, 404, "not_found")


FORBIDDEN_CALLS = {
    "member_renames": ("member", Call("PATCH", "/api/conversations/{cid}", {"name": "mine"})),
    "member_adds": (
        "member",
        Call("POST", "/api/conversations/{cid}/participants", {"userIds": ["{outsider}"]}),
    ),
    "member_changes_role": (
        "member",
        Call("PATCH", "/api/conversations/{cid}/participants/{other_member}", {"role": "admin"}),
    ),
    "member_promotes_self": (
        "member",
        Call("PATCH", "/api/conversations/{cid}/participants/{member}", {"role": "admin"}),
    ),
    "admin_changes_role": (
        "admin",
        Call("PATCH", "/api/conversations/{cid}/participants/{other_member}", {"role": "admin"}),
    ),
    "admin_demotes_admin": (
        "admin",
        Call("PATCH", "/api/conversations/{cid}/participants/{other_admin}", {"role": "member"}),
    ),
    "member_removes_member": (
        "member",
        Call("DELETE", "/api/conversations/{cid}/participants/{other_member}"),
    ),
    "member_removes_admin": (
        "member",
        Call("DELETE", "/api/conversations/{cid}/participants/{admin}"),
    ),
    "admin_removes_admin": (
        "admin",
        Call("DELETE", "/api/conversations/{cid}/participants/{other_admin}"),
    ),
    "admin_removes_owner": (
        "admin",
        Call("DELETE", "/api/conversations/{cid}/participants/{owner}"),
    ),
    "member_edits_others_message": (
        "member",
        Call("PATCH", "/api/messages/{member_message}", {"content": "changed"}),
    ),
    "owner_edits_others_message": (
        "owner",
        Call("PATCH", "/api/messages/{member_message}", {"content": "changed"}),
    ),
    "member_deletes_others_message": (
        "member",
        Call("DELETE", "/api/messages/{owner_message}"),
    ),
}


@pytest.mark.parametrize("name", FORBIDDEN_CALLS)
async def test_participant_without_the_role_is_forbidden(server: ParleyServer, name: str) -> None:
    actor, call = FORBIDDEN_CALLS[name]
    async with api_client(server.url) as api:
        scene = await build_scene(api, server.url)
        response = await perform(api, scene, actor, call)
        assert_problem(response, 403, "forbidden")

        after = await get_conversation(api, scene.owner, scene.conversation_id)
        roles = {p["id"]: p["role"] for p in after["participants"]}
        assert roles == {
            scene.owner.id: "owner",
            scene.admin.id: "admin",
            scene.other_admin.id: "admin",
            scene.member.id: "member",
            scene.other_member.id: "member",
        }
        assert after["name"] == "group"
        history = await api.get(
            f"/api/conversations/{scene.conversation_id}/messages", headers=bearer(scene.owner)
        )
        contents = [m["content"] for m in history.json()["items"]]
        assert contents == ["from a member", "from the owner"]
