"""Checks of configurable limits, shared by the services. Each raises `ValidationFailed`."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from parley.errors import ValidationFailed

USERNAME_CHARACTERS = re.compile(r"[A-Za-z0-9_.\-]+")


def check_length(field: str, value: str, minimum: int, maximum: int) -> None:
    """Length in Unicode code points, as the contract counts it."""
    if not minimum <= len(value) <= maximum:
        raise ValidationFailed(f"{field} must be {minimum}-{maximum} characters")


def check_not_blank(field: str, value: str) -> None:
    if not value.strip():
        raise ValidationFailed(f"{field} must not be only white space")


def check_username(value: str, minimum: int, maximum: int) -> None:
    check_length("username", value, minimum, maximum)
    if not USERNAME_CHARACTERS.fullmatch(value):
        raise ValidationFailed("username may contain only letters, digits, '_', '.' and '-'")


def check_url(field: str, value: str, maximum: int) -> None:
    check_length(field, value, 1, maximum)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValidationFailed(f"{field} must be an http or https URL")


def check_metadata(value: dict[str, Any], max_bytes: int, max_depth: int) -> None:
    """Size as compact UTF-8 JSON, and nesting depth counting the top-level object as 1."""
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if len(encoded) > max_bytes:
        raise ValidationFailed(f"metadata must be at most {max_bytes} bytes as JSON")
    if _depth(value) > max_depth:
        raise ValidationFailed(f"metadata must nest at most {max_depth} levels")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def page_size(limit: int | None, default: int, maximum: int) -> int:
    """The size of a page: the default when unasked, a larger ask capped at the maximum."""
    if limit is None:
        return default
    if limit < 1:
        raise ValidationFailed("limit must be at least 1")
    return min(limit, maximum)
