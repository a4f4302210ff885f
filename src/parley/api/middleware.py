"""ASGI middleware for `/api`: correlation ids, one access line per request, body size cap."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.problems import problem_response
from parley.errors import PayloadTooLarge
from parley.metrics import Metrics

logger = logging.getLogger("parley.access")

# A client may name its own correlation id; anything else gets a fresh one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._\-]{1,64}")


class RequestContextMiddleware:
    """Binds a correlation id for the request, and logs and counts it when it is answered."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if not scope["path"].startswith("/socket.io"):
                    elapsed = time.perf_counter() - started
                    # The route's template, never the raw path: labels must stay few.
                    route = getattr(scope.get("route"), "path", "other")
                    self.metrics.http_seconds.labels(scope["method"], route, status).observe(
                        elapsed
                    )
                    logger.info(
                        "request",
                        extra={
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "user_id": str(state["user_id"]) if "user_id" in state else None,
                            "duration_ms": round(elapsed * 1000, 3),
                        },
                    )


class BodySizeLimitMiddleware:
    """Answers `payload_too_large` for an `/api` request body over the cap.

    The body is read ahead (at most the cap plus one byte) and handed on whole, so the
    application never sees a truncated body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"the request body is over {self.max_bytes} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(too_large)(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await problem_response(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID_PATTERN.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex
