"""Parley's error hierarchy: one class per contract error code.

Services raise these; `http_errors` turns them into problem+json and
`realtime` into socket acknowledgements. Nothing else decides a code.
"""

from __future__ import annotations


class ParleyError(Exception):
    """An error the client is told about, with the contract's code and HTTP status."""

    code = "internal"
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title.lower()
        super().__init__(self.detail)


class Unauthorized(ParleyError):
    code, status, title = "unauthorized", 401, "Unauthorized"


class Forbidden(ParleyError):
    code, status, title = "forbidden", 403, "Forbidden"


class NotFound(ParleyError):
    code, status, title = "not_found", 404, "Not Found"


class MethodNotAllowed(ParleyError):
    code, status, title = "method_not_allowed", 405, "Method Not Allowed"


class Conflict(ParleyError):
    code, status, title = "conflict", 409, "Conflict"


class PayloadTooLarge(ParleyError):
    code, status, title = "payload_too_large", 413, "Payload Too Large"


class ValidationFailed(ParleyError):
    code, status, title = "validation_error", 422, "Unprocessable Content"


class RateLimited(ParleyError):
    code, status, title = "rate_limited", 429, "Too Many Requests"

    def __init__(self, retry_after_seconds: float, detail: str | None = None) -> None:
        super().__init__(detail or "too many requests")
        # Whole seconds, rounded up: `Retry-After` takes an integer and 0 would invite a retry
        # that fails again.
        self.retry_after = max(1, int(-(-retry_after_seconds // 1)))


class Unavailable(ParleyError):
    code, status, title = "unavailable", 503, "Service Unavailable"
