"""Structured JSON logging (structlog) with service, method and request id from contextvars.

Never log personal data: names, phone numbers, e-mails, notes. Log ids and counts.

Two safety nets keep request values out of logs whatever a call site passes:
- tracebacks are rendered without locals, and every exception message in the chain
  (causes, contexts, groups) is clipped to `EXCEPTION_MESSAGE_MAX` characters: a KeyError or
  a database error quoting a 3.9 MB request value logs a short prefix of it; the whole
  traceback is capped at `TRACEBACK_MAX` characters (first and last parts kept);
- any other string value in a log line is clipped to `VALUE_MAX` characters.

Request ids come from contextvars (context.py) bound per call; background work started
during a call must use `context.start_thread` / `context.create_task` / `context.run_detached`
so that it does not log that call's id for ever.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, cast

import structlog

from telco360_runtime.bounds import clip

EXCEPTION_MESSAGE_MAX = 300
TRACEBACK_MAX = 20_000
VALUE_MAX = 1_000


def _clip_messages(te: traceback.TracebackException, seen: set[int]) -> None:
    """Clip the message of every exception in a TracebackException's chain, in place."""
    if id(te) in seen:
        return
    seen.add(id(te))
    # `_str` holds the rendered message in CPython 3.11-3.13; without it the default rendering
    # stays (the whole-traceback cap still applies).
    message = getattr(te, "_str", None)
    if isinstance(message, str):
        cast(Any, te)._str = clip(message, EXCEPTION_MESSAGE_MAX)
    notes = getattr(te, "__notes__", None)
    if isinstance(notes, list):
        te.__notes__ = [clip(str(note), EXCEPTION_MESSAGE_MAX) for note in notes[:5]]
    for linked in (te.__cause__, te.__context__, *(getattr(te, "exceptions", None) or ())):
        if linked is not None:
            _clip_messages(linked, seen)


def format_exception(error: BaseException) -> str:
    """A traceback without locals whose exception messages are clipped (see module docstring)."""
    te = traceback.TracebackException(type(error), error, error.__traceback__, capture_locals=False)
    _clip_messages(te, set())
    text = "".join(te.format())
    if len(text) > TRACEBACK_MAX:
        head = TRACEBACK_MAX // 5
        tail = TRACEBACK_MAX - head
        text = f"{text[:head]}\n… ({len(text) - TRACEBACK_MAX} characters left out) …\n{text[-tail:]}"
    return text


def bounded_exc_info(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: `exc_info` -> `exception` rendered by `format_exception`."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        error: BaseException | None
        if isinstance(exc_info, BaseException):
            error = exc_info
        elif isinstance(exc_info, tuple):
            error = exc_info[1]
        else:
            error = sys.exc_info()[1]
        if error is not None:
            event_dict["exception"] = format_exception(error)
    return event_dict


def clip_values(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: string values longer than `VALUE_MAX` are clipped."""
    for key, value in event_dict.items():
        if key != "exception" and isinstance(value, str) and len(value) > VALUE_MAX:
            event_dict[key] = clip(value, VALUE_MAX)
    return event_dict


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog to write one JSON object per line, bound to `service`."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            bounded_exc_info,
            clip_values,
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
