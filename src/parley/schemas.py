"""Wire-shape building blocks shared by every capability."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer
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
    """A shape clients send: camelCase, no unknown fields, no type coercion.

    `strict` keeps `"5"` from passing for `5`; lengths and other configurable limits are
    checked by the services against the settings, not here.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )


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
