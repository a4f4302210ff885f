"""The contract documents and the checks built on them (`tests/support/contract.py`).

The AsyncAPI document must be well formed and say what docs/api.md says; the checks must
accept what the contract allows and reject what it does not. Examples are written by hand
from docs/api.md, not taken from the documents they test.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tests.support import contract

API_MD = (contract.ROOT / "docs" / "api.md").read_text(encoding="utf-8")
DOC = contract.ASYNCAPI

CONVERSATION_ID = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed"
MESSAGE_ID = "6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b"
ALICE = "0f8fad5b-d9cb-469f-a165-70867728950e"
BOB = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
NOW = "2026-12-04T15:06:55.123Z"


def message(**changes: Any) -> dict[str, Any]:
    base = {
        "id": MESSAGE_ID,
        "conversationId": CONVERSATION_ID,
        "seq": 1,
        "senderId": ALICE,
        "clientId": "c-1",
        "type": "text",
        "content": "  hi <b>there</b>  ",
        "metadata": {"mentions": [BOB]},
        "createdAt": NOW,
        "editedAt": None,
        "deletedAt": None,
    }
    return {**base, **changes}


def participant(user_id: str, **changes: Any) -> dict[str, Any]:
    base = {
        "id": user_id,
        "username": "alice.b-c_1",
        "displayName": "Alice",
        "avatarUrl": None,
        "createdAt": NOW,
        "updatedAt": NOW,
        "presence": "offline",
        "lastSeenAt": NOW,
        "role": "member",
        "joinedAt": NOW,
        "lastReadSeq": 0,
        "lastReadAt": None,
    }
    return {**base, **changes}


def conversation_update(**changes: Any) -> dict[str, Any]:
    base = {
        "id": CONVERSATION_ID,
        "type": "direct",
        "name": None,
        "participantCount": 2,
        "participants": [participant(ALICE), participant(BOB, presence="away", lastSeenAt=None)],
        "lastSeq": 1,
        "lastMessage": message(),
        "createdAt": NOW,
        "updatedAt": NOW,
        "lastActivityAt": NOW,
    }
    return {**base, **changes}


def ok(data: Any) -> dict[str, Any]:
    return {"ok": True, "data": data}


def failed(code: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": "it did not work", **extra}}


def all_refs(node: Any) -> Iterator[str]:
    """Every `$ref` value anywhere under `node`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


def socket_section() -> str:
    return API_MD.split("## Socket.IO", 1)[1]


# The AsyncAPI document


def test_asyncapi_document_is_asyncapi_3_with_the_chat_namespace() -> None:
    assert DOC["asyncapi"] == "3.0.0"
    assert DOC["info"]["title"] and DOC["info"]["version"]
    assert DOC["channels"]["chat"]["address"] == "/chat"
    assert {operation["action"] for operation in DOC["operations"].values()} == {"send", "receive"}


def test_every_ref_in_the_asyncapi_document_resolves() -> None:
    refs = set(all_refs(DOC))

    assert refs
    for ref in refs:
        contract.follow_refs(DOC, ref)


def test_operations_take_their_messages_from_their_channel() -> None:
    for name, operation in DOC["operations"].items():
        for part in (operation, operation.get("reply")):
            if part is None:
                continue
            channel = part["channel"]["$ref"]
            for ref in all_refs(part.get("messages", [])):
                assert ref.startswith(f"{channel}/messages/"), (name, ref)


def test_every_message_example_matches_its_payload_schema() -> None:
    for name, message_object in DOC["components"]["messages"].items():
        validator = contract.asyncapi_validator(f"#/components/messages/{name}/payload")
        for example in message_object.get("examples", []):
            assert contract.schema_violation(validator, example["payload"]) is None, name


def test_participant_carries_every_member_of_the_public_user_view() -> None:
    schemas = DOC["components"]["schemas"]
    user, member = schemas["UserPublic"], schemas["Participant"]

    for field, schema in user["properties"].items():
        assert {k: v for k, v in member["properties"][field].items() if k != "description"} == {
            k: v for k, v in schema.items() if k != "description"
        }, field
    assert set(user["required"]) <= set(member["required"])


def test_every_socket_event_of_api_md_is_in_the_asyncapi_document() -> None:
    section = socket_section()
    table_rows = re.findall(r"^\| `(\w+)` \|.*\| `?(\w+)`? ", section, re.MULTILINE)
    client_events = {client for client, _ in table_rows}
    server_events = {emitted for _, emitted in table_rows if emitted != "nothing"}
    server_list = section.split("Server to client", 1)[1].split("Delivery rules", 1)[0]
    server_events |= set(re.findall(r"^- `(\w+)`", server_list, re.MULTILINE))

    assert client_events == {
        "sendMessage",
        "editMessage",
        "deleteMessage",
        "typing",
        "markRead",
        "heartbeat",
        "sync",
    }
    assert set(contract.SOCKET.acks) == client_events
    assert set(contract.SOCKET.events) == server_events | {"connect_error"}
    assert "connect_error" in section


def test_error_codes_match_api_md() -> None:
    listed = {code: int(status) for code, status in re.findall(r"`(\w+)` \((\d{3})", API_MD)}

    assert listed == contract.ERROR_STATUS
    assert DOC["components"]["schemas"]["ErrorCode"]["enum"] == list(listed)


# validate_event

GOOD_EVENTS: list[tuple[str, Any]] = [
    ("newMessage", message()),
    ("newMessage", message(type="image", metadata={}, clientId="x" * 64)),
    ("messageEdited", message(content="edited", editedAt=NOW)),
    ("messageEdited", message(content="", metadata={}, deletedAt=NOW)),
    (
        "messageDeleted",
        {"id": MESSAGE_ID, "conversationId": CONVERSATION_ID, "seq": 3, "deletedAt": NOW},
    ),
    ("userTyping", {"conversationId": CONVERSATION_ID, "userId": ALICE, "isTyping": False}),
    (
        "readReceipt",
        {"conversationId": CONVERSATION_ID, "userId": BOB, "seq": 7, "readAt": NOW},
    ),
    ("presence", {"userId": ALICE, "status": "online", "lastSeenAt": None}),
    ("presence", {"userId": ALICE, "status": "offline", "lastSeenAt": NOW}),
    ("conversationUpdated", conversation_update()),
    (
        "conversationUpdated",
        conversation_update(
            type="group",
            name="Lunch",
            participantCount=1,
            participants=[participant(ALICE, role="owner")],
            lastSeq=0,
            lastMessage=None,
        ),
    ),
    ("connect_error", {"code": "unauthorized"}),
]

BAD_EVENTS: list[tuple[str, Any, str]] = [
    ("newMessage", message(seq=0), "seq counts from 1"),
    ("newMessage", message(createdAt="2026-12-04T15:06:55Z"), "no milliseconds"),
    ("newMessage", message(createdAt="2026-12-04T15:06:55.123+00:00"), "no Z suffix"),
    ("newMessage", message(type="video"), "unknown type"),
    ("newMessage", message(id="42"), "id is not a uuid"),
    ("newMessage", message(senderName="Alice"), "member not in the contract"),
    ("newMessage", {k: v for k, v in message().items() if k != "clientId"}, "clientId missing"),
    ("newMessage", message(metadata=None), "metadata is an object"),
    ("messageDeleted", {"id": MESSAGE_ID, "conversationId": CONVERSATION_ID, "seq": 3}, "no time"),
    ("userTyping", {"conversationId": CONVERSATION_ID, "userId": ALICE, "isTyping": 1}, "int"),
    ("presence", {"userId": ALICE, "status": "online", "lastSeenAt": NOW}, "online, seen"),
    ("presence", {"userId": ALICE, "status": "busy", "lastSeenAt": None}, "unknown status"),
    ("conversationUpdated", conversation_update(unreadCount=0), "carries unreadCount"),
    ("conversationUpdated", conversation_update(name="Us"), "direct with a name"),
    (
        "conversationUpdated",
        conversation_update(participants=[participant(ALICE, email="a@example.com")]),
        "participant with an email",
    ),
    (
        "conversationUpdated",
        conversation_update(participants=[participant(ALICE, role="guest")]),
        "unknown role",
    ),
    ("connect_error", {"message": "unauthorized"}, "no code"),
    ("sendMessage", message(), "a client-to-server event"),
    ("message", message(), "no such event"),
]


@pytest.mark.parametrize(("name", "payload"), GOOD_EVENTS)
def test_validate_event_accepts_a_contract_payload(name: str, payload: Any) -> None:
    contract.validate_event(name, payload)


@pytest.mark.parametrize(("name", "payload", "why"), BAD_EVENTS)
def test_validate_event_rejects_a_payload_off_contract(name: str, payload: Any, why: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(repr(name))):
        contract.validate_event(name, payload)


# validate_ack

GOOD_ACKS: list[tuple[str, Any]] = [
    ("sendMessage", ok(message())),
    ("sendMessage", failed("not_found")),
    ("sendMessage", failed("rate_limited", retryAfter=1)),
    ("sendMessage", failed("rate_limited", retryAfter=0.5)),
    ("editMessage", ok(message(content="edited", editedAt=NOW))),
    ("editMessage", failed("conflict")),
    ("deleteMessage", ok({"id": MESSAGE_ID})),
    ("typing", ok({})),
    ("markRead", ok({"lastReadSeq": 0})),
    ("heartbeat", ok({})),
    ("heartbeat", failed("validation_error")),
    ("sync", ok({"items": [message(), message(seq=2, id=BOB)], "hasMore": True})),
    ("sync", ok({"items": [], "hasMore": False})),
]

BAD_ACKS: list[tuple[str, Any, str]] = [
    ("sendMessage", ok({**message(), "extra": 1}), "message with an extra member"),
    ("sendMessage", {"ok": True}, "no data"),
    ("sendMessage", {"data": message()}, "no ok"),
    ("sendMessage", failed("bad_request"), "code not in the contract"),
    ("sendMessage", failed("rate_limited"), "rate_limited without retryAfter"),
    ("sendMessage", {"ok": False, "error": {"code": "not_found"}}, "error without message"),
    ("sendMessage", {"ok": False, "error": "not_found"}, "error is not an object"),
    ("editMessage", ok({"id": MESSAGE_ID}), "data is not a message"),
    ("deleteMessage", ok(message()), "data is not {id}"),
    ("typing", ok(None), "data is not {}"),
    ("markRead", ok({"lastReadSeq": -1}), "negative marker"),
    ("heartbeat", ok({"status": "away"}), "data is not {}"),
    ("sync", ok({"items": [message()]}), "no hasMore"),
    ("sync", ok({"items": [message(seq="1")], "hasMore": False}), "seq is a string"),
    ("newMessage", ok(message()), "a server-to-client event"),
    ("ping", ok({}), "no such event"),
    ("typing", [ok({})], "the ack is a list"),
]


@pytest.mark.parametrize(("event", "ack"), GOOD_ACKS)
def test_validate_ack_accepts_a_contract_ack(event: str, ack: Any) -> None:
    contract.validate_ack(event, ack)


@pytest.mark.parametrize(("event", "ack", "why"), BAD_ACKS)
def test_validate_ack_rejects_an_ack_off_contract(event: str, ack: Any, why: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(repr(event))):
        contract.validate_ack(event, ack)


# validate_response, against the OpenAPI document of a small FastAPI app served on loopback


class Item(BaseModel):
    id: uuid.UUID
    name: str
    createdAt: datetime
    due: datetime | None = None  # a time not named `...At`: only its schema format checks it


class Profile(BaseModel):
    username: str


class Health(BaseModel):
    status: str


def sample_openapi() -> dict[str, Any]:
    """FastAPI's own OpenAPI output for a few routes shaped like Parley's."""
    app = FastAPI()

    @app.get("/api/items/me")
    def own_profile() -> Profile:
        raise NotImplementedError

    @app.get("/api/items/{item_id}")
    def get_item(item_id: str) -> Item:
        raise NotImplementedError

    @app.post("/api/items", status_code=201)
    def create_item(item: Profile) -> Item:
        raise NotImplementedError

    @app.delete("/api/items/{item_id}", status_code=204)
    def delete_item(item_id: str) -> None:
        raise NotImplementedError

    @app.get("/api/health", responses={503: {"model": Health}})
    def health() -> Health:
        raise NotImplementedError

    return app.openapi()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The URL of a loopback HTTP server that serves only `/openapi.json`."""
    body = json.dumps(sample_openapi()).encode()

    class OpenApiHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/openapi.json" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if status == 200 else 0))
            self.end_headers()
            if status == 200:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenApiHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def problem(code: str, status: int, **changes: Any) -> dict[str, Any]:
    base = {"type": "about:blank", "title": "T", "status": status, "detail": "d", "code": code}
    return {**base, **changes}


PROBLEM = "application/problem+json"
ITEM = {"id": MESSAGE_ID, "name": "thing", "createdAt": NOW}

# (method, path, status, body, media type, headers); a body of None is an empty one.
Case = tuple[str, str, int, Any, str, dict[str, str]]
JSON = "application/json"

GOOD_RESPONSES: list[Case] = [
    ("GET", f"/api/items/{MESSAGE_ID}", 200, ITEM, JSON, {}),
    ("GET", "/api/items/me", 200, {"username": "alice"}, JSON, {}),
    ("POST", "/api/items", 201, ITEM, JSON, {}),
    ("DELETE", "/api/items/x", 204, None, JSON, {}),
    ("GET", "/api/items/x", 404, problem("not_found", 404), PROBLEM, {}),
    ("GET", "/api/nothing/here", 404, problem("not_found", 404), PROBLEM, {}),
    ("PUT", "/api/items", 405, problem("method_not_allowed", 405), PROBLEM, {}),
    ("GET", "/api/items/x", 429, problem("rate_limited", 429), PROBLEM, {"Retry-After": "2"}),
    ("GET", "/api/items/x", 404, problem("not_found", 404, errors=[]), PROBLEM, {}),
    ("GET", "/api/health", 503, {"status": "error"}, JSON, {}),
    ("GET", "/openapi.json", 200, {"anything": True}, JSON, {}),
    ("GET", "/", 200, "<html>", "text/html", {}),
]

# ... and a phrase the rejection must contain.
BAD_RESPONSES: list[tuple[Case, str]] = [
    (("GET", "/api/items/x", 200, {**ITEM, "name": 1}, JSON, {}), "is not of type"),
    (("GET", "/api/items/x", 200, {**ITEM, "id": "42"}, JSON, {}), "is not a 'uuid'"),
    (("GET", "/api/items/x", 200, {**ITEM, "createdAt": NOW[:-5] + "Z"}, JSON, {}), "$.createdAt"),
    (("GET", "/api/items/x", 200, {**ITEM, "due": NOW[:-5] + "Z"}, JSON, {}), "'date-time'"),
    (("GET", "/api/health", 200, {"status": "ok", "checkedAt": 1}, JSON, {}), "$.checkedAt = 1"),
    (("GET", "/api/items/me", 200, ITEM, JSON, {}), "'username' is a required property"),
    (("POST", "/api/items", 200, ITEM, JSON, {}), "lists no 200 response"),
    (("GET", "/api/items/x", 200, "<p>", "text/html", {}), "text/html is not documented"),
    (("DELETE", "/api/items/x", 204, {}, JSON, {}), "a 204 must have no body"),
    (("GET", "/api/nothing/here", 200, {}, JSON, {}), "has no operation"),
    (("GET", "/api/items/x", 404, {"detail": "Not Found"}, JSON, {}), "problem+json"),
    (("GET", "/api/items/x", 404, problem("nope", 404), PROBLEM, {}), "'nope' is not one of"),
    (("GET", "/api/items/x", 404, {"code": "not_found"}, PROBLEM, {}), "is a required property"),
    (("GET", "/api/items/x", 404, problem("forbidden", 403), PROBLEM, {}), "goes with status 403"),
    (("GET", "/api/items/x", 404, problem("not_found", 400), PROBLEM, {}), "the body's 400"),
    (("GET", "/api/items/x", 429, problem("rate_limited", 429), PROBLEM, {}), "Retry-After"),
    # FastAPI documents a 422 as its own HTTPValidationError until the server says otherwise.
    (("POST", "/api/items", 422, problem("validation_error", 422), PROBLEM, {}), "OpenAPI schema"),
]


def respond(base_url: str, case: Case) -> httpx.Response:
    """The response of `case` as the harness's client hands it over: body read, request set."""
    method, path, status, body, media_type, headers = case
    content = b"" if body is None else json.dumps(body).encode()
    all_headers = {"content-type": media_type} if body is not None else {}
    return httpx.Response(
        status,
        content=content,
        headers={**all_headers, **headers},
        request=httpx.Request(method, base_url + path),
    )


@pytest.mark.parametrize("case", GOOD_RESPONSES)
def test_validate_response_accepts_a_response_on_contract(base_url: str, case: Case) -> None:
    contract.validate_response(respond(base_url, case))


@pytest.mark.parametrize(("case", "why"), BAD_RESPONSES)
def test_validate_response_rejects_a_response_off_contract(
    base_url: str, case: Case, why: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(why)):
        contract.validate_response(respond(base_url, case))
