"""Every error under `/api` as RFC 9457 problem details with the contract's `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.errors import (
    MethodNotAllowed,
    NotFound,
    ParleyError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_BY_STATUS: dict[int, type[ParleyError]] = {
    400: ValidationFailed,  # FastAPI's answer to a body its JSON parser gave up on
    401: Unauthorized,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    422: ValidationFailed,
}


def problem_response(error: ParleyError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(
        {
            "type": "about:blank",
            "title": error.title,
            "status": error.status,
            "detail": error.detail,
            "code": error.code,
        },
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def parley_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ParleyError)
        if error.status >= 500:
            logger.error("request failed: %s", error.detail)
        return problem_response(error)

    async def invalid_request(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return problem_response(ValidationFailed(_describe(error)))

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        kind = _BY_STATUS.get(error.status_code)
        if kind is None:
            failure = ParleyError(str(error.detail))
            failure.status = error.status_code
            return problem_response(failure)
        return problem_response(kind(str(error.detail).lower()))

    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=error)
        return problem_response(ParleyError("internal error"))

    app.add_exception_handler(ParleyError, parley_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _describe(error: RequestValidationError) -> str:
    """Where and what was wrong, never the offending values (they may be passwords)."""
    parts = []
    for item in list(error.errors())[:5]:
        location = tuple(item.get("loc", ()))
        kind = item.get("type")
        if kind == "json_invalid":
            parts.append("the body is not valid JSON")
        elif location == ("body",) and kind == "missing":
            parts.append("a JSON body is required")
        elif location == ("body",) and kind in ("model_attributes_type", "dict_type"):
            parts.append("the body must be a JSON object, sent with Content-Type: application/json")
        else:
            where = ".".join(str(part) for part in location if part != "body")
            message = str(item.get("msg", "invalid"))
            parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


class Problem(BaseModel):
    """RFC 9457 problem details, with the contract's error `code`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str


# Declared on every router so the OpenAPI document describes the error bodies too.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for status, title in (
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (409, "Conflict"),
        (413, "Payload Too Large"),
        (422, "Validation Error"),
        (429, "Too Many Requests"),
        (503, "Service Unavailable"),
    )
}
