"""Wire-shape building blocks shared by every capability."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, model_validator
from pydantic.alias_generators import to_camel

from parley.errors import NotFound


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as the contract writes every time."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


class WireModel(BaseModel):
    """A shape the server sends: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class InputModel(BaseModel):
    """A shape clients send: camelCase, no unknown fields, no type coercion, real JSON.

    `strict` keeps `"5"` from passing for `5`; lengths and other configurable limits are
    checked by the services against the settings, not here.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )

    @model_validator(mode="before")
    @classmethod
    def _only_storable_json(cls, data: Any) -> Any:
        _require_storable(data)
        return data


def _require_storable(value: Any) -> None:
    """Refuse what JSON parsers let through but cannot be stored as sent.

    Python's parser accepts `NaN` and `Infinity` (not JSON) and `\\ud800` escapes (lone
    surrogates, not encodable as UTF-8); PostgreSQL keeps no NUL character in text. Each
    would fail or change on the way to storage, so no database is offered them.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain the NUL character (U+0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite (NaN and Infinity are not JSON)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_storable(key)
            _require_storable(item)
    elif isinstance(value, list):
        for item in value:
            _require_storable(item)


# The largest seq (and any integer cursor) the databases store: a signed 64-bit integer.
MAX_SEQ = 2**63 - 1

ItemT = TypeVar("ItemT")


class Page(WireModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


class Items(WireModel, Generic[ItemT]):
    items: list[ItemT]


def parse_id(raw: str) -> uuid.UUID:
    """A resource id from a path or socket payload; a malformed one names nothing."""
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("not found") from None
