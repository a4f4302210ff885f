"""Structured logs: stdlib `logging` everywhere, rendered by structlog as console or JSON.

Modules log with `logging.getLogger(__name__)` and pass fields through `extra`; the
correlation id and other context bound with `structlog.contextvars` join every line.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's colored duplicate of the message
}


def _extra_fields(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    record: logging.LogRecord | None = event_dict.get("_record")
    if record is not None:
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                event_dict.setdefault(key, value)
    return event_dict


def configure_logging(log_format: str, level: str) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _extra_fields,
    ]
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "foreign_pre_chain": shared,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["default"], "level": level.upper()},
            "loggers": {
                # Parley writes its own access line; uvicorn's would repeat it.
                "uvicorn.access": {"handlers": [], "propagate": False},
                "uvicorn.error": {"level": "INFO"},
                # Library chatter below WARNING is noise at chat volumes.
                "sqlalchemy": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                "socketio": {"level": "WARNING"},
                "engineio": {"level": "WARNING"},
                "asyncio": {"level": "WARNING"},
                "alembic": {"level": "WARNING"},
            },
        }
    )
