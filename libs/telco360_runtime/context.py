"""Per-RPC context carried in contextvars: request id, caller role and subject, deadline.

The server interceptor sets these at the start of every call; logging, outgoing peer calls
and role checks read them, so no handler has to pass them around.

Work that outlives the call must not inherit them: `asyncio.create_task` copies the current
context, so a worker task (or a thread whose target was wrapped in `copy_context().run`)
started lazily inside a call would log that call's request id, and act with its caller's
role and deadline, for ever. Start such workers with a clean context:

    context.start_thread(self._loop, name="contact-group-commit")   # a thread
    context.create_task(self._refresh())                            # an asyncio task
    threading.Thread(target=context.run_detached, args=(fn,))       # any other runner

`detached_context()` is the context they run in: a copy of the current one (so the
service name bound at start stays in log lines) without the call's request id, method,
caller and deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog

T = TypeVar("T")

REQUEST_ID_HEADER = "x-request-id"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
#: The role outside any call: none, so a role check or a masking decision made where the call's
#: context was lost (a thread that did not copy it) fails safe instead of acting as admin.
NO_ROLE = ""
_caller_role: contextvars.ContextVar[str] = contextvars.ContextVar("caller_role", default=NO_ROLE)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)
_caller_subject: contextvars.ContextVar[str] = contextvars.ContextVar("caller_subject", default="anonymous")
_method: contextvars.ContextVar[str] = contextvars.ContextVar("method", default="")
# Account managers the caller may see the accounts of (account-team scoping); None: all accounts.
_caller_scope: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar("caller_scope", default=None)


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


def method() -> str:
    """The full gRPC method of the current call, e.g. "/telco360.profile.v1.ProfileService/GetFeatures"."""
    return _method.get()


def caller_scope() -> frozenset[str] | None:
    """Account manager ids whose accounts the caller may see, or None when the role is not scoped."""
    return _caller_scope.get()


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


def bind(request_id_value: str, method_value: str, time_remaining_s: float | None) -> list[contextvars.Token]:
    """Set the context for a call (no caller yet: `set_caller` once authenticated); tokens for `reset`."""
    limit = None if time_remaining_s is None else time.monotonic() + time_remaining_s
    return [
        _request_id.set(request_id_value),
        _caller_role.set(NO_ROLE),
        _deadline.set(limit),
        _caller_subject.set("anonymous"),
        _method.set(method_value),
        _caller_scope.set(None),
    ]


def set_caller(role: str, subject: str, scope: frozenset[str] | None = None) -> None:
    """Bind the authenticated caller (role, subject, account scope) to the current call (reset with it)."""
    _caller_role.set(role)
    _caller_subject.set(subject)
    _caller_scope.set(scope)


def _forget_call() -> None:
    pairs: tuple[tuple[contextvars.ContextVar[Any], Any], ...] = (
        (_request_id, ""),
        (_caller_role, NO_ROLE),
        (_deadline, None),
        (_caller_subject, "anonymous"),
        (_method, ""),
        (_caller_scope, None),
    )
    for var, value in pairs:
        var.set(value)
    structlog.contextvars.unbind_contextvars("request_id", "method")


def detached_context() -> contextvars.Context:
    """A copy of the current context without the current call's values (see module docstring)."""
    ctx = contextvars.copy_context()
    ctx.run(_forget_call)
    return ctx


def run_detached(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a `detached_context()` (e.g. as a thread's target)."""
    return detached_context().run(fn, *args, **kwargs)


def start_thread(target: Callable[[], Any], *, name: str, daemon: bool = True) -> threading.Thread:
    """Start a long-lived worker thread whose logs carry no call's request id."""
    ctx = detached_context()
    thread = threading.Thread(target=ctx.run, args=(target,), name=name, daemon=daemon)
    thread.start()
    return thread


def create_task(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """`asyncio.create_task` for work that outlives the current call (clean context)."""
    return asyncio.get_running_loop().create_task(coro, name=name, context=detached_context())


def reset(tokens: list[contextvars.Token]) -> None:
    """Undo `bind`."""
    variables: tuple[contextvars.ContextVar[Any], ...] = (
        _request_id,
        _caller_role,
        _deadline,
        _caller_subject,
        _method,
        _caller_scope,
    )
    for var, token in zip(variables, tokens, strict=False):
        try:
            var.reset(token)
        except ValueError:
            # A cancelled stream's generator is finalised in another context; that context
            # dies with the call, so there is nothing left to restore.
            pass
