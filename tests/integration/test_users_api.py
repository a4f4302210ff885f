"""REST users: own profile, profile updates, search, public views."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.helpers import (
    MALFORMED_ID,
    assert_problem,
    assert_timestamp,
    bearer,
    unknown_id,
)
from tests.support.clients import api_client, register
from tests.support.server import ParleyServer

OWN_VIEW_FIELDS = {"id", "username", "displayName", "email", "avatarUrl", "createdAt", "updatedAt"}
PUBLIC_VIEW_FIELDS = (OWN_VIEW_FIELDS - {"email"}) | {"presence", "lastSeenAt"}


def search_tag() -> str:
    """A prefix no other user of the session starts with."""
    return "s" + uuid.uuid4().hex[:10]


# Own view


async def test_me_answers_own_view(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.get("/api/users/me")

    assert response.status_code == 200, response.text
    me = response.json()
    assert me.keys() >= OWN_VIEW_FIELDS
    for field in OWN_VIEW_FIELDS:
        assert me[field] == account.user[field], field
    assert_timestamp(me["createdAt"])


async def test_me_without_token_is_unauthorized(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        response = await api.get("/api/users/me")

    assert_problem(response, 401, "unauthorized")


async def test_patch_me_changes_display_name_and_avatar(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.patch(
            "/api/users/me",
            json={"displayName": " New name ✨ ", "avatarUrl": "https://example.com/a.png"},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["displayName"] == " New name ✨ "
        assert updated["avatarUrl"] == "https://example.com/a.png"
        assert updated["email"] == account.user["email"]
        assert updated["updatedAt"] >= account.user["updatedAt"]

        again = (await api.get("/api/users/me")).json()
        assert again["displayName"] == " New name ✨ "
        assert again["avatarUrl"] == "https://example.com/a.png"


async def test_patch_me_with_only_one_field_keeps_the_other(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        first = await api.patch("/api/users/me", json={"avatarUrl": "http://example.com/x.png"})
        assert first.status_code == 200, first.text
        second = await api.patch("/api/users/me", json={"displayName": "Only the name"})

    assert second.status_code == 200, second.text
    assert second.json()["avatarUrl"] == "http://example.com/x.png"
    assert second.json()["displayName"] == "Only the name"


async def test_patch_me_with_null_display_name_changes_nothing(server: ParleyServer) -> None:
    account = await register(server.url, display_name="Kept Name")
    async with api_client(server.url, account.access_token) as api:
        response = await api.patch("/api/users/me", json={"displayName": None})

    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Kept Name"


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": ""},
        {"displayName": "d" * 65},
        {"displayName": 42},
        {"avatarUrl": "ftp://example.com/a.png"},
        {"avatarUrl": "javascript:alert(1)"},
        {"avatarUrl": "not a url"},
        {"avatarUrl": "https://example.com/" + "a" * 2029},
        {"email": "new@example.com"},
        {"username": "renamed"},
    ],
    ids=[
        "empty_name",
        "name_65",
        "name_not_string",
        "avatar_ftp",
        "avatar_javascript",
        "avatar_not_url",
        "avatar_2049",
        "email_not_patchable",
        "username_not_patchable",
    ],
)
async def test_patch_me_invalid_body_is_validation_error(
    server: ParleyServer, body: dict[str, Any]
) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.patch("/api/users/me", json=body)
        assert_problem(response, 422, "validation_error")
        unchanged = (await api.get("/api/users/me")).json()

    assert unchanged["displayName"] == account.user["displayName"]
    assert unchanged["avatarUrl"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": "d"},
        {"displayName": "d" * 64},
        {"avatarUrl": "https://example.com/" + "a" * 2028},
    ],
    ids=["name_1", "name_64", "avatar_2048"],
)
async def test_patch_me_at_the_limits_is_accepted(
    server: ParleyServer, body: dict[str, Any]
) -> None:
    if "avatarUrl" in body:
        assert len(body["avatarUrl"]) == 2048
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.patch("/api/users/me", json=body)

    assert response.status_code == 200, response.text
    for key, value in body.items():
        assert response.json()[key] == value


# Search


async def test_search_finds_username_prefix_ignoring_case(server: ParleyServer) -> None:
    tag = search_tag()
    first = await register(server.url, prefix=tag)
    second = await register(server.url, prefix=tag)
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": tag.upper(), "limit": 20})

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {item["id"] for item in items} == {first.id, second.id}
    for item in items:
        assert item.keys() >= PUBLIC_VIEW_FIELDS
        assert "email" not in item


async def test_search_finds_display_name_prefix_ignoring_case(server: ParleyServer) -> None:
    tag = search_tag()
    found = await register(server.url, display_name=f"{tag.capitalize()} Person")
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": tag.upper()[:8]})

    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [found.id]


async def test_search_does_not_match_inside_names(server: ParleyServer) -> None:
    tag = search_tag()
    await register(server.url, prefix="x" + tag, display_name="Someone " + tag)
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": tag})

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


@pytest.mark.parametrize("wildcard", ["_", "%", "*", "."])
async def test_search_treats_wildcard_characters_literally(
    server: ParleyServer, wildcard: str
) -> None:
    tag = search_tag()
    literal = await register(server.url, display_name=f"{tag}{wildcard}literal")
    await register(server.url, display_name=f"{tag}Xother")
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": f"{tag}{wildcard}"})

    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [literal.id]


async def test_search_ignores_case_beyond_ascii(server: ParleyServer) -> None:
    tag = search_tag()
    found = await register(server.url, display_name=f"Ärger{tag} Émile")
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": f"ärger{tag.upper()}"})

    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [found.id]


async def test_search_respects_limit(server: ParleyServer) -> None:
    tag = search_tag()
    for _ in range(3):
        await register(server.url, prefix=tag)
    searcher = await register(server.url)
    async with api_client(server.url, searcher.access_token) as api:
        response = await api.get("/api/users", params={"query": tag, "limit": 2})

    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 2


async def test_search_without_token_is_unauthorized(server: ParleyServer) -> None:
    async with api_client(server.url) as api:
        response = await api.get("/api/users", params={"query": "abc"})

    assert_problem(response, 401, "unauthorized")


# Public view


async def test_other_user_answers_public_view_without_email(server: ParleyServer) -> None:
    viewer = await register(server.url)
    other = await register(server.url, display_name="Public Person")
    async with api_client(server.url, viewer.access_token) as api:
        response = await api.get(f"/api/users/{other.id}")

    assert response.status_code == 200, response.text
    view = response.json()
    assert view.keys() >= PUBLIC_VIEW_FIELDS
    assert "email" not in view
    assert view["id"] == other.id
    assert view["username"] == other.username
    assert view["displayName"] == "Public Person"
    assert view["presence"] == "offline"  # no socket connected
    if view["lastSeenAt"] is not None:
        assert_timestamp(view["lastSeenAt"])


async def test_own_id_answers_own_view(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.get(f"/api/users/{account.id}")

    assert response.status_code == 200, response.text
    assert response.json()["email"] == account.user["email"]
    assert response.json()["id"] == account.id


async def test_unknown_user_is_not_found(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url) as api:
        response = await api.get(f"/api/users/{unknown_id()}", headers=bearer(account))

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("bad_id", [MALFORMED_ID, "12345", "0" * 40])
async def test_malformed_user_id_is_not_found(server: ParleyServer, bad_id: str) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        response = await api.get(f"/api/users/{bad_id}")

    assert_problem(response, 404, "not_found")


async def test_empty_avatar_url_removes_the_avatar(server: ParleyServer) -> None:
    account = await register(server.url)
    async with api_client(server.url, account.access_token) as api:
        await api.patch("/api/users/me", json={"avatarUrl": "https://example.com/a.png"})
        kept = await api.patch("/api/users/me", json={"avatarUrl": None})
        removed = await api.patch("/api/users/me", json={"avatarUrl": ""})
    assert kept.json()["avatarUrl"] == "https://example.com/a.png"
    assert removed.status_code == 200, removed.text
    assert removed.json()["avatarUrl"] is None
