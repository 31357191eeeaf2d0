"""Structured JSON logging (structlog) with service, method and request id from contextvars.

Never log personal data: names, phone numbers, e-mails, notes. Log ids and counts.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog to write one JSON object per line, bound to `service`."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(**initial: Any) -> structlog.typing.FilteringBoundLogger:
    """A logger; `initial` key-values are added to every line."""
    return structlog.get_logger(**initial)
