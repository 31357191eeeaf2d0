"""Per-RPC context carried in contextvars: request id, caller role and subject, deadline.

The server interceptor sets these at the start of every call; logging, outgoing peer calls
and role checks read them, so no handler has to pass them around.
"""

from __future__ import annotations

import contextvars
import time
import uuid

REQUEST_ID_HEADER = "x-request-id"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_caller_role: contextvars.ContextVar[str] = contextvars.ContextVar("caller_role", default="admin")
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
_caller_subject: contextvars.ContextVar[str] = contextvars.ContextVar("caller_subject", default="anonymous")


def new_request_id() -> str:
    """A fresh random request id."""
    return uuid.uuid4().hex


def request_id() -> str:
    """The current call's request id ('' outside a call)."""
    return _request_id.get()


def caller_role() -> str:
    """The role of the authenticated caller of the current call."""
    return _caller_role.get()


def caller_subject() -> str:
    """Who the authenticated caller of the current call is (the token's subject; see auth)."""
    return _caller_subject.get()


def caller_identity() -> str:
    """The caller as audit records name it: "<subject> (<role>)"."""
    return f"{_caller_subject.get()} ({_caller_role.get()})"


def deadline() -> float | None:
    """Absolute `time.monotonic()` deadline of the current call, or None."""
    return _deadline.get()


def time_remaining() -> float | None:
    """Seconds left before the current call's deadline, or None without a deadline."""
    limit = _deadline.get()
    return None if limit is None else limit - time.monotonic()


def bind(request_id_value: str, role: str, time_remaining_s: float | None) -> list[contextvars.Token]:
    """Set the context for a call; returns tokens for `reset`."""
    limit = None if time_remaining_s is None else time.monotonic() + time_remaining_s
    return [_request_id.set(request_id_value), _caller_role.set(role), _deadline.set(limit),
            _caller_subject.set("anonymous")]


def set_caller_role(role: str) -> None:
    """Bind the authenticated caller's role to the current call (reset with the call)."""
    _caller_role.set(role)


def set_caller(role: str, subject: str) -> None:
    """Bind the authenticated caller's role and subject to the current call (reset with the call)."""
    _caller_role.set(role)
    _caller_subject.set(subject)


def reset(tokens: list[contextvars.Token]) -> None:
    """Undo `bind`."""
    for var, token in zip((_request_id, _caller_role, _deadline, _caller_subject), tokens):
        try:
            var.reset(token)
        except ValueError:
            # A cancelled stream's generator is finalised in another context; that context
            # dies with the call, so there is nothing left to restore.
            pass
