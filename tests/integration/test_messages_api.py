"""REST messages: sending and idempotency, seq, history paging, edit, delete, read markers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.helpers import (
    JSON,
    MALFORMED_ID,
    UNKNOWN_ID,
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
)
from tests.support.clients import Account, api_client
from tests.support.server import ParleyServer


async def post_message(
    api: httpx.AsyncClient, account: Account, conversation_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await api.post(
        f"/api/conversations/{conversation_id}/messages", json=body, headers=bearer(account)
    )


async def history(
    api: httpx.AsyncClient, account: Account, conversation_id: str, **params: int
) -> JSON:
    response = await api.get(
        f"/api/conversations/{conversation_id}/messages", params=params, headers=bearer(account)
    )
    assert response.status_code == 200, response.text
    page: JSON = response.json()
    return page


def seqs(page: JSON) -> list[int]:
    return [message["seq"] for message in page["items"]]


async def mark_read(
    api: httpx.AsyncClient, account: Account, conversation_id: str, seq: object
) -> httpx.Response:
    return await api.post(
        f"/api/conversations/{conversation_id}/read", json={"seq": seq}, headers=bearer(account)
    )


async def pair(server: ParleyServer, api: httpx.AsyncClient) -> tuple[Account, Account, str]:
    """Two fresh users and their direct conversation's id."""
    alice, bob = await register_many(server.url, 2)
    direct = await create_direct(api, alice, bob)
    return alice, bob, str(direct["id"])


def nested(depth: int) -> JSON:
    """An object nested `depth` deep, the top level counting as 1."""
    value: JSON = {}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


# Sending


async def test_send_answers_201_with_the_message(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        client_id = new_client_id()
        response = await post_message(
            api, alice, cid, {"clientId": client_id, "content": "hello", "metadata": {"k": [1]}}
        )

    assert response.status_code == 201, response.text
    message = response.json()
    assert message["conversationId"] == cid
    assert message["seq"] == 1
    assert message["senderId"] == alice.id
    assert message["clientId"] == client_id
    assert message["type"] == "text"
    assert message["content"] == "hello"
    assert message["metadata"] == {"k": [1]}
    assert_timestamp(message["createdAt"])
    assert message["editedAt"] is None
    assert message["deletedAt"] is None


async def test_send_keeps_text_exactly_as_sent(server: ParleyServer) -> None:
    text = "  <b>bold</b> &amp; e\u0301 \u00e9 \r\n\ttab 😀  "
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        sent = await send_message(api, alice, cid, text)
        fetched = await history(api, bob, cid)

    assert sent["content"] == text
    assert fetched["items"][0]["content"] == text


@pytest.mark.parametrize(
    "content",
    ["bidi \u202e override", "zero\u200bwidth", "\U0001f469\u200d\U0001f4bb", "tab\there"],
    ids=["bidi", "zero_width", "zwj_sequence", "control"],
)
async def test_send_keeps_unusual_code_points_exactly(server: ParleyServer, content: str) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        sent = await send_message(api, alice, cid, content)
        fetched = await history(api, bob, cid)

    assert sent["content"] == content
    assert fetched["items"][0]["content"] == content


@pytest.mark.parametrize(
    "body",
    [
        {"clientId": "c", "content": "nul \u0000 inside"},
        {"clientId": "c\u0000", "content": "x"},
        {"clientId": "c", "content": "x", "metadata": {"k\u0000": 1}},
        {"clientId": "c", "content": "x", "metadata": {"k": ["\u0000"]}},
    ],
    ids=["content", "client_id", "metadata_key", "metadata_value"],
)
async def test_nul_character_is_validation_error(server: ParleyServer, body: JSON) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await api.post(
            f"/api/conversations/{cid}/messages", json=body, headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


async def test_send_without_metadata_answers_empty_object(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        message = await send_message(api, alice, cid)

    assert message["metadata"] == {}
    assert message["type"] == "text"


async def test_send_with_null_type_and_metadata_treats_them_as_absent(
    server: ParleyServer,
) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(
            api,
            alice,
            cid,
            {"clientId": new_client_id(), "content": "x", "type": None, "metadata": None},
        )

    assert response.status_code == 201, response.text
    assert response.json()["type"] == "text"
    assert response.json()["metadata"] == {}


async def test_send_same_client_id_again_answers_200_with_the_original(
    server: ParleyServer,
) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        client_id = new_client_id()
        first = await post_message(
            api, alice, cid, {"clientId": client_id, "content": "original", "metadata": {"a": 1}}
        )
        again = await post_message(
            api, alice, cid, {"clientId": client_id, "content": "changed", "metadata": {"b": 2}}
        )
        following = await send_message(api, alice, cid)
        conversation = await get_conversation(api, bob, cid)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert following["seq"] == 2  # the resend took no seq
    assert conversation["lastSeq"] == 2
    assert conversation["unreadCount"] == 2


async def test_send_same_client_id_in_another_conversation_is_conflict(
    server: ParleyServer,
) -> None:
    async with api_client(server.url) as api:
        alice, bob, carol = await register_many(server.url, 3)
        first = await create_direct(api, alice, bob)
        second = await create_direct(api, alice, carol)
        client_id = new_client_id()
        await send_message(api, alice, first["id"], client_id=client_id)

        response = await post_message(
            api, alice, second["id"], {"clientId": client_id, "content": "elsewhere"}
        )
        after = await get_conversation(api, alice, second["id"])

    assert_problem(response, 409, "conflict")
    assert after["lastSeq"] == 0


async def test_one_client_id_sent_to_two_conversations_at_once_makes_one_message(
    server: ParleyServer,
) -> None:
    async with api_client(server.url) as api:
        alice, bob, carol = await register_many(server.url, 3)
        first = await create_direct(api, alice, bob)
        second = await create_direct(api, alice, carol)
        client_id = new_client_id()
        body = {"clientId": client_id, "content": "x"}
        responses = await asyncio.gather(
            *(post_message(api, alice, c["id"], body) for c in (first, second))
        )
        last_seqs = [
            (await get_conversation(api, alice, c["id"]))["lastSeq"] for c in (first, second)
        ]

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert sorted(last_seqs) == [0, 1]


async def test_same_client_id_from_two_senders_makes_two_messages(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        client_id = new_client_id()
        from_alice = await send_message(api, alice, cid, "a", client_id)
        from_bob = await send_message(api, bob, cid, "b", client_id)

    assert from_alice["id"] != from_bob["id"]
    assert [from_alice["seq"], from_bob["seq"]] == [1, 2]


async def test_seq_counts_from_one_without_gaps(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        sent = [await send_message(api, sender, cid) for sender in (alice, bob, alice, bob, bob)]
        other = await create_direct(api, alice, (await register_many(server.url, 1))[0])
        elsewhere = await send_message(api, alice, other["id"])
        conversation = await get_conversation(api, alice, cid)

    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 5]
    assert elsewhere["seq"] == 1  # seq is per conversation
    assert conversation["lastSeq"] == 5
    assert conversation["lastMessage"]["id"] == sent[-1]["id"]
    assert conversation["lastActivityAt"] == sent[-1]["createdAt"]


async def test_concurrent_sends_get_distinct_seqs_without_gaps(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        sent = await asyncio.gather(
            *(send_message(api, sender, cid) for sender in [alice, bob] * 10)
        )
        conversation = await get_conversation(api, alice, cid)
        page = await history(api, alice, cid, after=0)

    assert sorted(m["seq"] for m in sent) == list(range(1, 21))
    assert conversation["lastSeq"] == 20
    assert seqs(page) == list(range(1, 21))


async def test_concurrent_resends_of_one_client_id_make_one_message(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        client_id = new_client_id()
        responses = await asyncio.gather(
            *(
                post_message(api, alice, cid, {"clientId": client_id, "content": f"try {n}"})
                for n in range(5)
            )
        )
        conversation = await get_conversation(api, alice, cid)

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["content"] for r in responses}) == 1
    assert conversation["lastSeq"] == 1


async def test_send_to_foreign_conversation_is_not_found(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        _, _, cid = await pair(server, api)
        (outsider,) = await register_many(server.url, 1)
        response = await post_message(
            api, outsider, cid, {"clientId": new_client_id(), "content": "hi"}
        )

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("conversation_id", [UNKNOWN_ID, MALFORMED_ID])
async def test_send_to_unknown_or_malformed_conversation_is_not_found(
    server: ParleyServer, conversation_id: str
) -> None:
    (alice,) = await register_many(server.url, 1)
    async with api_client(server.url) as api:
        response = await post_message(
            api, alice, conversation_id, {"clientId": new_client_id(), "content": "hi"}
        )

    assert_problem(response, 404, "not_found")


# Content, metadata and type limits


@pytest.mark.parametrize(
    "content",
    ["a" * 4000, "😀" * 4000, "é" * 4000, "x"],
    ids=["ascii_4000", "emoji_4000", "accented_4000", "one"],
)
async def test_content_up_to_4000_code_points_is_accepted(
    server: ParleyServer, content: str
) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(
            api, alice, cid, {"clientId": new_client_id(), "content": content}
        )

    assert response.status_code == 201, response.text
    assert response.json()["content"] == content


@pytest.mark.parametrize(
    "content",
    ["", " ", "  \n\t ", "\u00a0\u2003", "a" * 4001, "😀" * 4001],
    ids=["empty", "space", "white_space", "unicode_spaces", "ascii_4001", "emoji_4001"],
)
async def test_invalid_content_is_validation_error(server: ParleyServer, content: str) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(
            api, alice, cid, {"clientId": new_client_id(), "content": content}
        )
        after = await get_conversation(api, alice, cid)

    assert_problem(response, 422, "validation_error")
    assert after["lastSeq"] == 0


def metadata_of_size(size_bytes: int) -> JSON:
    """A metadata object whose compact UTF-8 JSON is exactly `size_bytes` long."""
    value: JSON = {"k": "x" * (size_bytes - len('{"k":""}'))}
    assert len(json.dumps(value, separators=(",", ":")).encode()) == size_bytes
    return value


@pytest.mark.parametrize(
    ("metadata", "status"),
    [
        (metadata_of_size(8 * 1024), 201),
        (metadata_of_size(8 * 1024 + 1), 422),
        ({"k": "é" * 4092}, 201),  # 8192 bytes of compact UTF-8, fewer characters
        ({"k": "é" * 4093}, 422),  # 8194 bytes
        ({"k": "😀" * 2046}, 201),  # 8192 bytes
        ({"k": "😀" * 2047}, 422),  # 8196 bytes
        (nested(5), 201),
        (nested(6), 422),
        ({"list": [[[[{}]]]]}, 422),
        ([], 422),
        ("text", 422),
        (7, 422),
    ],
    ids=[
        "size_8192",
        "size_8193",
        "utf8_size_8192",
        "utf8_size_8194",
        "emoji_size_8192",
        "emoji_size_8196",
        "depth_5",
        "depth_6",
        "depth_6_through_arrays",
        "array",
        "string",
        "number",
    ],
)
async def test_metadata_limits(server: ParleyServer, metadata: object, status: int) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(
            api, alice, cid, {"clientId": new_client_id(), "content": "m", "metadata": metadata}
        )

    if status == 201:
        assert response.status_code == 201, response.text
        assert response.json()["metadata"] == metadata
    else:
        assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("message_type", ["image", "file", "video", ""])
async def test_non_text_type_is_validation_error(server: ParleyServer, message_type: str) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(
            api,
            alice,
            cid,
            {"clientId": new_client_id(), "content": "see attached", "type": message_type},
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(("length", "status"), [(0, 422), (1, 201), (64, 201), (65, 422)])
async def test_client_id_length_limits(server: ParleyServer, length: int, status: int) -> None:
    client_id = (new_client_id() * 3)[:length]
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        response = await post_message(api, alice, cid, {"clientId": client_id, "content": "c"})

    if status == 201:
        assert response.status_code == 201, response.text
        assert response.json()["clientId"] == client_id
    else:
        assert_problem(response, 422, "validation_error")


# History


async def test_history_before_pages_newest_first(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 7)

        newest = await history(api, bob, cid, limit=3)
        middle = await history(api, bob, cid, before=5, limit=3)
        oldest = await history(api, bob, cid, before=2, limit=3)
        everything = await history(api, bob, cid)
        exact = await history(api, bob, cid, before=4, limit=3)

    assert (seqs(newest), newest["hasMore"]) == ([7, 6, 5], True)
    assert (seqs(middle), middle["hasMore"]) == ([4, 3, 2], True)
    assert (seqs(oldest), oldest["hasMore"]) == ([1], False)
    assert (seqs(everything), everything["hasMore"]) == ([7, 6, 5, 4, 3, 2, 1], False)
    assert (seqs(exact), exact["hasMore"]) == ([3, 2, 1], False)


async def test_history_after_pages_oldest_first(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 7)

        first = await history(api, bob, cid, after=0, limit=3)
        second = await history(api, bob, cid, after=3, limit=3)
        last = await history(api, bob, cid, after=6, limit=3)
        exact = await history(api, bob, cid, after=4, limit=3)
        caught_up = await history(api, bob, cid, after=7, limit=3)

    assert (seqs(first), first["hasMore"]) == ([1, 2, 3], True)
    assert (seqs(second), second["hasMore"]) == ([4, 5, 6], True)
    assert (seqs(last), last["hasMore"]) == ([7], False)
    assert (seqs(exact), exact["hasMore"]) == ([5, 6, 7], False)
    assert (seqs(caught_up), caught_up["hasMore"]) == ([], False)


async def test_history_of_an_empty_conversation_is_empty(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        page = await history(api, alice, cid)

    assert page == {"items": [], "hasMore": False}


async def test_history_caps_limit_at_100_and_defaults_to_50(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 101)

        capped = await history(api, bob, cid, limit=1000)
        default = await history(api, bob, cid)
        capped_after = await history(api, bob, cid, after=0, limit=1000)

    assert seqs(capped) == list(range(101, 1, -1))
    assert capped["hasMore"] is True
    assert seqs(default) == list(range(101, 51, -1))
    assert default["hasMore"] is True
    assert seqs(capped_after) == list(range(1, 101))
    assert capped_after["hasMore"] is True


# Edit


async def test_edit_by_sender_answers_the_edited_message(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        message = await send_message(api, alice, cid, "typo")
        response = await api.patch(
            f"/api/messages/{message['id']}", json={"content": "fixed"}, headers=bearer(alice)
        )
        seen = await history(api, bob, cid)

    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["content"] == "fixed"
    assert edited["id"] == message["id"]
    assert edited["seq"] == message["seq"]
    assert edited["clientId"] == message["clientId"]
    assert edited["createdAt"] == message["createdAt"]
    assert_timestamp(edited["editedAt"])
    assert seen["items"][0]["content"] == "fixed"


async def test_edit_by_other_participant_is_forbidden(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        message = await send_message(api, alice, cid, "mine")
        response = await api.patch(
            f"/api/messages/{message['id']}", json={"content": "yours"}, headers=bearer(bob)
        )
        seen = await history(api, alice, cid)

    assert_problem(response, 403, "forbidden")
    assert seen["items"][0]["content"] == "mine"


async def test_edit_deleted_message_is_conflict(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        message = await send_message(api, alice, cid)
        deleted = await api.delete(f"/api/messages/{message['id']}", headers=bearer(alice))
        assert deleted.status_code == 204
        response = await api.patch(
            f"/api/messages/{message['id']}", json={"content": "revived"}, headers=bearer(alice)
        )

    assert_problem(response, 409, "conflict")


@pytest.mark.parametrize("content", ["", "   ", "a" * 4001])
async def test_edit_with_invalid_content_is_validation_error(
    server: ParleyServer, content: str
) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        message = await send_message(api, alice, cid)
        response = await api.patch(
            f"/api/messages/{message['id']}", json={"content": content}, headers=bearer(alice)
        )

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("message_id", [UNKNOWN_ID, MALFORMED_ID])
async def test_edit_or_delete_unknown_message_is_not_found(
    server: ParleyServer, message_id: str
) -> None:
    (alice,) = await register_many(server.url, 1)
    async with api_client(server.url) as api:
        edit = await api.patch(
            f"/api/messages/{message_id}", json={"content": "x"}, headers=bearer(alice)
        )
        delete = await api.delete(f"/api/messages/{message_id}", headers=bearer(alice))

    assert_problem(edit, 404, "not_found")
    assert_problem(delete, 404, "not_found")


# Delete


async def test_delete_by_sender_keeps_seq_and_blanks_the_message(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        message = await post_message(
            api,
            alice,
            cid,
            {"clientId": new_client_id(), "content": "secret", "metadata": {"x": 1}},
        )
        original = message.json()
        await send_message(api, alice, cid)

        response = await api.delete(f"/api/messages/{original['id']}", headers=bearer(alice))
        assert response.status_code == 204, response.text
        assert response.content == b""
        page = await history(api, bob, cid)

    assert seqs(page) == [2, 1]
    blanked = page["items"][1]
    assert blanked["id"] == original["id"]
    assert blanked["seq"] == original["seq"]
    assert blanked["senderId"] == alice.id
    assert blanked["clientId"] == original["clientId"]
    assert blanked["content"] == ""
    assert blanked["metadata"] == {}
    assert_timestamp(blanked["deletedAt"])


async def test_delete_twice_is_204(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        message = await send_message(api, alice, cid)
        first = await api.delete(f"/api/messages/{message['id']}", headers=bearer(alice))
        second = await api.delete(f"/api/messages/{message['id']}", headers=bearer(alice))

    assert first.status_code == second.status_code == 204


async def test_client_id_of_deleted_message_stays_taken(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, _, cid = await pair(server, api)
        message = await send_message(api, alice, cid, "first")
        await api.delete(f"/api/messages/{message['id']}", headers=bearer(alice))
        again = await post_message(
            api, alice, cid, {"clientId": message["clientId"], "content": "second"}
        )
        after = await get_conversation(api, alice, cid)

    assert again.status_code == 200, again.text
    assert again.json()["id"] == message["id"]
    assert again.json()["content"] == ""
    assert after["lastSeq"] == 1


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_group_owner_and_admin_delete_others_messages(
    server: ParleyServer, role: str
) -> None:
    owner, admin, member = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin, member])
        await set_role(api, owner, group["id"], admin, "admin")
        message = await send_message(api, member, group["id"])
        moderator = owner if role == "owner" else admin

        response = await api.delete(f"/api/messages/{message['id']}", headers=bearer(moderator))
        page = await history(api, member, group["id"])

    assert response.status_code == 204, response.text
    assert page["items"][0]["deletedAt"] is not None


async def test_group_admin_deletes_the_owners_message(server: ParleyServer) -> None:
    owner, admin = await register_many(server.url, 2)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [admin])
        await set_role(api, owner, group["id"], admin, "admin")
        message = await send_message(api, owner, group["id"])
        response = await api.delete(f"/api/messages/{message['id']}", headers=bearer(admin))

    assert response.status_code == 204, response.text


async def test_other_participant_of_direct_deleting_is_forbidden(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        message = await send_message(api, alice, cid, "stays")
        response = await api.delete(f"/api/messages/{message['id']}", headers=bearer(bob))
        page = await history(api, alice, cid)

    assert_problem(response, 403, "forbidden")
    assert page["items"][0]["content"] == "stays"


async def test_member_deleting_others_message_in_group_is_forbidden(
    server: ParleyServer,
) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob, carol])
        message = await send_message(api, bob, group["id"])
        response = await api.delete(f"/api/messages/{message['id']}", headers=bearer(carol))

    assert_problem(response, 403, "forbidden")


# Unread counts and read markers


async def test_sending_moves_the_senders_read_marker(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, bob, cid, 2)
        await send_message(api, alice, cid)
        seen_by_alice = await get_conversation(api, alice, cid)
        seen_by_bob = await get_conversation(api, bob, cid)

    assert seen_by_alice["unreadCount"] == 0
    assert participant_of(seen_by_alice, alice)["lastReadSeq"] == 3
    assert_timestamp(participant_of(seen_by_alice, alice)["lastReadAt"])
    # Bob's own two messages are read; alice's message does not move bob's marker.
    assert seen_by_bob["unreadCount"] == 1
    assert participant_of(seen_by_bob, bob)["lastReadSeq"] == 2


async def test_unread_count_skips_own_and_deleted_messages(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        sent = await send_messages(api, alice, cid, 4)
        assert (await get_conversation(api, bob, cid))["unreadCount"] == 4

        await api.delete(f"/api/messages/{sent[1]['id']}", headers=bearer(alice))
        assert (await get_conversation(api, bob, cid))["unreadCount"] == 3
        assert (await get_conversation(api, alice, cid))["unreadCount"] == 0


async def test_mark_read_moves_the_marker_forward_only(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 3)

        forward = await mark_read(api, bob, cid, 2)
        assert forward.status_code == 204, forward.text
        assert forward.content == b""
        after_forward = await get_conversation(api, bob, cid)
        assert participant_of(after_forward, bob)["lastReadSeq"] == 2
        assert after_forward["unreadCount"] == 1
        assert_timestamp(participant_of(after_forward, bob)["lastReadAt"])

        backward = await mark_read(api, bob, cid, 1)
        assert backward.status_code == 204, backward.text
        zero = await mark_read(api, bob, cid, 0)
        assert zero.status_code == 204, zero.text
        after_backward = await get_conversation(api, bob, cid)
        assert participant_of(after_backward, bob)["lastReadSeq"] == 2
        assert after_backward["unreadCount"] == 1


async def test_mark_read_past_last_seq_is_taken_as_last_seq(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 3)

        response = await mark_read(api, bob, cid, 999)
        assert response.status_code == 204, response.text
        after = await get_conversation(api, bob, cid)
        assert participant_of(after, bob)["lastReadSeq"] == 3
        assert after["unreadCount"] == 0

        # The marker did not jump ahead: the next message is unread.
        await send_message(api, alice, cid)
        assert (await get_conversation(api, bob, cid))["unreadCount"] == 1


@pytest.mark.parametrize("seq", [2**31, 2**53])
async def test_mark_read_far_past_last_seq_is_taken_as_last_seq(
    server: ParleyServer, seq: int
) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 2)
        response = await mark_read(api, bob, cid, seq)
        after = await get_conversation(api, bob, cid)

    assert response.status_code == 204, response.text
    assert participant_of(after, bob)["lastReadSeq"] == 2


@pytest.mark.parametrize("where", ["read", "before", "after"])
async def test_seq_beyond_64_bits_is_never_a_server_error(server: ParleyServer, where: str) -> None:
    """Past lastSeq is lastSeq; a number no seq can reach may also be refused as invalid."""
    huge = 10**30
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 2)
        if where == "read":
            response = await mark_read(api, bob, cid, huge)
            expected: JSON | None = None
        else:
            response = await api.get(
                f"/api/conversations/{cid}/messages", params={where: huge}, headers=bearer(bob)
            )
            newest_first = [2, 1] if where == "before" else []
            expected = {"seqs": newest_first, "hasMore": False}

    assert response.status_code in (204, 200, 422), response.text
    if response.status_code == 422:
        assert_problem(response, 422, "validation_error")
    elif expected is not None:
        assert response.status_code == 200
        assert seqs(response.json()) == expected["seqs"]
        assert response.json()["hasMore"] is expected["hasMore"]
    else:
        assert response.status_code == 204


@pytest.mark.parametrize("seq", [-1, "2", 1.5, None, "two"])
async def test_mark_read_with_invalid_seq_is_validation_error(
    server: ParleyServer, seq: object
) -> None:
    async with api_client(server.url) as api:
        alice, bob, cid = await pair(server, api)
        await send_messages(api, alice, cid, 2)
        response = await mark_read(api, bob, cid, seq)
        after = await get_conversation(api, bob, cid)

    assert_problem(response, 422, "validation_error")
    assert participant_of(after, bob)["lastReadSeq"] == 0


async def test_mark_read_is_per_reader(server: ParleyServer) -> None:
    owner, bob, carol = await register_many(server.url, 3)
    async with api_client(server.url) as api:
        group = await create_group(api, owner, [bob, carol])
        await send_messages(api, owner, group["id"], 3)
        assert (await mark_read(api, bob, group["id"], 3)).status_code == 204

        seen_by_carol = await get_conversation(api, carol, group["id"])

    assert seen_by_carol["unreadCount"] == 3
    assert participant_of(seen_by_carol, bob)["lastReadSeq"] == 3
    assert participant_of(seen_by_carol, carol)["lastReadSeq"] == 0


# Rate limit


async def test_sends_over_the_burst_are_rate_limited(
    server_factory: Callable[..., ParleyServer],
) -> None:
    instance = server_factory(
        {
            "PARLEY_RATE_LIMITS": "on",
            "PARLEY_RATE_LIMIT_SEND_BURST": "3",
            "PARLEY_RATE_LIMIT_SEND_PER_SECOND": "0.2",
        }
    )
    alice, bob = await register_many(instance.url, 2)
    async with api_client(instance.url) as api:
        direct = await create_direct(api, alice, bob)
        for _ in range(3):
            await send_message(api, alice, direct["id"])

        limited = await post_message(
            api, alice, direct["id"], {"clientId": new_client_id(), "content": "one too many"}
        )
        other_sender = await post_message(
            api, bob, direct["id"], {"clientId": new_client_id(), "content": "per user"}
        )
        conversation = await get_conversation(api, alice, direct["id"])

    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 5
    assert other_sender.status_code == 201, other_sender.text
    assert conversation["lastSeq"] == 4
