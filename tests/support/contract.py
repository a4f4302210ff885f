"""Checks of what the server sends against the published contract.

Socket.IO events and acknowledgements are checked against `docs/asyncapi.yaml`; REST
responses against the OpenAPI document the server under test serves at `/openapi.json`, plus
the rules of `docs/api.md` that no schema there states: problem details with the contract's
codes and statuses, empty 204 bodies, and its timestamp format.

Every check raises AssertionError with a message naming the event or request, the failing
value's location and the schema it broke.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_PATH = ROOT / "docs" / "asyncapi.yaml"
ASYNCAPI: dict[str, Any] = yaml.safe_load(ASYNCAPI_PATH.read_text(encoding="utf-8"))

# The base URI the AsyncAPI document's own `#/...` references resolve against.
ASYNCAPI_URI = "urn:parley:asyncapi"

# docs/api.md, "Conventions": every error code and the HTTP status that goes with it.
ERROR_STATUS: dict[str, int] = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "validation_error": 422,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
}

# docs/api.md: ISO 8601 in UTC with millisecond precision and a `Z` suffix.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

# docs/api.md names every time member `...At` (createdAt, lastSeenAt, readAt, ...).
TIME_MEMBER = re.compile(r"[a-z][A-Za-z]*At")

# Errors the contract gives a body other than problem details: (method, path template, status).
# `GET /api/health` and its readiness twin answer 503 with their own `{status, checks}` shape.
NON_PROBLEM_ERRORS = {("GET", "/api/health", 503), ("GET", "/api/health/ready", 503)}

# RFC 9457 problem details with the contract's extra `code`; further members are extensions.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"enum": list(ERROR_STATUS)},
    },
}


# Socket.IO


def follow_refs(document: dict[str, Any], pointer: str) -> tuple[str, Any]:
    """The node at JSON pointer `pointer` ("#/a/b") of `document`, following local `$ref`s.

    Returns the pointer where the chain of references ends, and the node there.

    Raises:
        AssertionError: a pointer leads nowhere, or a reference is not local.
    """
    seen: set[str] = set()
    while True:
        node: Any = document
        for segment in pointer.removeprefix("#").split("/")[1:]:
            key = segment.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise AssertionError(f"{pointer!r} points to nothing") from None
        if not (isinstance(node, dict) and "$ref" in node):
            return pointer, node
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise AssertionError(f"{pointer!r} holds a non-local $ref {ref!r}")
        if ref in seen:
            raise AssertionError(f"$ref cycle through {ref!r}")
        seen.add(ref)
        pointer = ref


def escape_pointer_segment(segment: str) -> str:
    """`segment` as one step of a JSON pointer (RFC 6901)."""
    return segment.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class SocketContract:
    """The payload schemas of `/chat`, each given as a pointer into the AsyncAPI document."""

    events: dict[str, str]
    """Server-to-client event name -> its payload schema."""
    acks: dict[str, list[str]]
    """Client-to-server event name -> the payload schemas of its acknowledgement."""


def _listed_messages(document: dict[str, Any], owner: str) -> list[tuple[str, str]]:
    """(Socket.IO name, payload schema pointer) of each message the object at `owner` lists."""
    owner, node = follow_refs(document, owner)
    listed: list[tuple[str, str]] = []
    for i in range(len(node.get("messages", []))):
        pointer, message = follow_refs(document, f"{owner}/messages/{i}")
        listed.append((message["name"], f"{pointer}/payload"))
    return listed


def read_socket_contract(document: dict[str, Any]) -> SocketContract:
    """Index `document`'s operations: `send` ones are events, `receive` ones with a reply acks."""
    events: dict[str, str] = {}
    acks: dict[str, list[str]] = {}
    for name in document.get("operations", {}):
        pointer, operation = follow_refs(document, f"#/operations/{escape_pointer_segment(name)}")
        messages = _listed_messages(document, pointer)
        if operation["action"] == "send":
            events.update(messages)
        elif "reply" in operation:
            replies = [payload for _, payload in _listed_messages(document, f"{pointer}/reply")]
            acks.update((event, replies) for event, _ in messages)
    return SocketContract(events, acks)


SOCKET = read_socket_contract(ASYNCAPI)
_ASYNCAPI_REGISTRY: Registry[Any] = Registry().with_resource(
    ASYNCAPI_URI, Resource.from_contents(ASYNCAPI, default_specification=DRAFT7)
)


@functools.cache
def asyncapi_validator(pointer: str) -> Any:
    """A jsonschema validator for the schema at `pointer` ("#/...") of docs/asyncapi.yaml."""
    # AsyncAPI 3.0 schemas are a superset of JSON Schema draft 7.
    return jsonschema.Draft7Validator(
        {"$ref": ASYNCAPI_URI + quote(pointer, safe="#/~")}, registry=_ASYNCAPI_REGISTRY
    )


def schema_violation(validator: Any, instance: Any) -> str | None:
    """A one-line account of the most relevant way `instance` breaks the schema, or None."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    schema_path = "/".join(str(step) for step in error.absolute_schema_path)
    return f"{error.message} (at {error.json_path}, schema {schema_path})"


def _shorten(value: Any, limit: int = 600) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[:limit] + "..."


def validate_event(name: str, payload: Any) -> None:
    """Assert that `payload` is what the contract lets the server send as event `name`.

    Raises:
        AssertionError: `name` is no server-to-client event of docs/asyncapi.yaml, or the
            payload does not match that event's schema.
    """
    pointer = SOCKET.events.get(name)
    if pointer is None:
        raise AssertionError(
            f"the server sent {name!r}, which is no server-to-client event of "
            f"{ASYNCAPI_PATH.name} (those are {', '.join(sorted(SOCKET.events))})"
        )
    problem = schema_violation(asyncapi_validator(pointer), payload)
    if problem is not None:
        raise AssertionError(f"event {name!r} breaks {pointer}: {problem}\n{_shorten(payload)}")


def validate_ack(event: str, ack: Any) -> None:
    """Assert that `ack` is a contract acknowledgement of client-to-server event `event`.

    That is `{ok: true, data}` with the event's data, or `{ok: false, error}` with one of the
    contract's error codes.

    Raises:
        AssertionError: `event` is no acknowledged client event of docs/asyncapi.yaml, or the
            ack matches none of its reply schemas.
    """
    pointers = SOCKET.acks.get(event)
    if not pointers:
        raise AssertionError(
            f"{event!r} is no acknowledged client-to-server event of {ASYNCAPI_PATH.name} "
            f"(those are {', '.join(sorted(SOCKET.acks))})"
        )
    problems = [schema_violation(asyncapi_validator(pointer), ack) for pointer in pointers]
    if None not in problems:
        details = "; ".join(
            f"{p}: {problem}" for p, problem in zip(pointers, problems, strict=True)
        )
        raise AssertionError(f"ack of {event!r} breaks {details}\n{_shorten(ack)}")


# REST


def _check_timestamp(value: object) -> bool:
    return not isinstance(value, str) or TIMESTAMP.fullmatch(value) is not None


# Every format jsonschema knows, with `date-time` narrowed to the contract's timestamps.
_REST_FORMATS = jsonschema.FormatChecker()
_REST_FORMATS.checks("date-time")(_check_timestamp)


@dataclass(frozen=True)
class OpenApi:
    """A server's OpenAPI document, ready to match requests and validate bodies."""

    uri: str
    document: dict[str, Any]
    registry: Registry[Any]
    templates: list[tuple[re.Pattern[str], str]]
    """(regex, template) per path; a template's `{param}` matches one path segment."""

    def find_operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The path template and operation serving `method path`, or None if none does."""
        matches = [template for pattern, template in self.templates if pattern.fullmatch(path)]
        # A literal segment beats a parameter, as `/api/users/me` beats `/api/users/{id}`.
        for template in sorted(matches, key=lambda template: template.count("{")):
            operation = self.document["paths"][template].get(method.lower())
            if isinstance(operation, dict):
                return template, operation
        return None

    def validator(self, pointer: str) -> Any:
        """A validator for the schema at `pointer`; OpenAPI 3.1 schemas are JSON Schema 2020-12."""
        return jsonschema.Draft202012Validator(
            {"$ref": self.uri + quote(pointer, safe="#/~")},
            registry=self.registry,
            format_checker=_REST_FORMATS,
        )


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


@functools.cache
def openapi_for(base_url: str) -> OpenApi:
    """The OpenAPI document served at `base_url`, fetched once per base URL.

    Raises:
        AssertionError: the server does not serve a JSON document at `/openapi.json`.
    """
    uri = f"{base_url}/openapi.json"
    fetched = httpx.get(uri, timeout=10.0)
    if fetched.status_code != 200:
        raise AssertionError(f"GET {uri} answered {fetched.status_code}: {fetched.text[:300]}")
    document: dict[str, Any] = fetched.json()
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    templates = [(_path_pattern(template), template) for template in document.get("paths", {})]
    return OpenApi(uri, document, Registry().with_resource(uri, resource), templates)


def malformed_times(node: Any, where: str = "$") -> Iterator[str]:
    """The locations in a JSON value of `...At` members neither null nor a contract timestamp.

    FastAPI's document says only `string` for a time the server formats itself, so this is
    where REST times are held to the contract's format.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                TIME_MEMBER.fullmatch(key)
                and value is not None
                and not (isinstance(value, str) and TIMESTAMP.fullmatch(value))
            ):
                yield f"{where}.{key} = {value!r}"
            else:
                yield from malformed_times(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from malformed_times(item, f"{where}[{i}]")


def _media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _json_body(label: str, response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{label}: the body is not JSON: {response.text[:300]!r}") from None


def _check_problem(label: str, response: httpx.Response) -> None:
    """Assert the contract's problem details, with a code that goes with the status."""
    if _media_type(response) != "application/problem+json":
        raise AssertionError(
            f"{label}: an error must be application/problem+json, not "
            f"{_media_type(response) or 'untyped'}: {response.text[:300]!r}"
        )
    body = _json_body(label, response)
    problem = schema_violation(jsonschema.Draft202012Validator(PROBLEM_SCHEMA), body)
    if problem is not None:
        raise AssertionError(f"{label}: not the contract's problem details: {problem}")

    expected = ERROR_STATUS[body["code"]]
    if (body["status"], response.status_code) != (expected, expected):
        raise AssertionError(
            f"{label}: code {body['code']!r} goes with status {expected}, but the response "
            f"status is {response.status_code} and the body's {body['status']}"
        )
    if body["code"] == "rate_limited" and not response.headers.get("retry-after", "").isdigit():
        raise AssertionError(f"{label}: rate_limited needs a Retry-After in whole seconds")


def _check_documented(
    label: str,
    openapi: OpenApi,
    operation_pointer: str,
    response: httpx.Response,
    required: bool,
) -> None:
    """Assert that the operation documents the response's status, media type and body.

    An undocumented status fails only when `required`.
    """
    status = response.status_code
    _, operation = follow_refs(openapi.document, operation_pointer)
    responses: dict[str, Any] = operation.get("responses", {})
    key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
    if key is None:
        if required:
            raise AssertionError(f"{label}: the OpenAPI document lists no {status} response")
        return

    spec_pointer, spec = follow_refs(
        openapi.document, f"{operation_pointer}/responses/{escape_pointer_segment(key)}"
    )
    content: dict[str, Any] = spec.get("content") or {}
    if not response.content:
        return
    media_type = _media_type(response)
    documented = media_type if media_type in content else None
    if documented is None and _is_json(media_type) and "application/json" in content:
        documented = "application/json"  # problem+json documented as plain JSON still counts
    if documented is None:
        raise AssertionError(
            f"{label}: {media_type or 'an untyped body'} is not documented for {status} "
            f"(documented: {', '.join(content) or 'no body'})"
        )
    if not _is_json(media_type) or "schema" not in content[documented]:
        return

    schema_pointer = f"{spec_pointer}/content/{escape_pointer_segment(documented)}/schema"
    body = _json_body(label, response)
    problem = schema_violation(openapi.validator(schema_pointer), body)
    if problem is not None:
        raise AssertionError(
            f"{label}: the body breaks the OpenAPI schema {schema_pointer}: {problem}\n"
            f"{_shorten(body)}"
        )


def validate_response(response: httpx.Response) -> None:
    """Assert that a REST response under `/api` keeps the contract.

    The operation is found in the server's own OpenAPI document by method and path template.
    Every error (status >= 400), including those of unknown paths and wrong methods, must be
    the contract's problem details, and is checked against the documented schema for its
    status too when there is one; a success must be documented (its status, media type and
    JSON body); a 204 must have no body; every `...At` member of a JSON body is null or a
    contract timestamp. Responses outside `/api` (the web client,
    `/openapi.json`, `/docs`) are not checked. The response body must have been read.

    Raises:
        AssertionError: the response breaks the contract; the message says how.
    """
    request = response.request
    path = request.url.path
    if path != "/api" and not path.startswith("/api/"):
        return
    label = f"{request.method} {path} -> {response.status_code}"
    base_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
    openapi = openapi_for(base_url)
    found = openapi.find_operation(request.method, path)
    template = found[0] if found else None
    status = response.status_code
    exempt = (request.method, template, status) in NON_PROBLEM_ERRORS

    if status == 204 and response.content:
        raise AssertionError(f"{label}: a 204 must have no body, got {response.text[:300]!r}")
    if response.content and _is_json(_media_type(response)):
        bad_times = list(malformed_times(_json_body(label, response)))
        if bad_times:
            raise AssertionError(f"{label}: times not in the contract's format: {bad_times}")
    if status >= 400 and not exempt:
        _check_problem(label, response)
    elif found is None:
        raise AssertionError(f"{label}: the OpenAPI document has no operation for this request")

    if template is not None:
        operation_pointer = f"#/paths/{escape_pointer_segment(template)}/{request.method.lower()}"
        _check_documented(
            label, openapi, operation_pointer, response, required=status < 400 or exempt
        )
