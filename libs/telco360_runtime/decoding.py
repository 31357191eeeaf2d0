"""Undecodable request bytes answer INVALID_ARGUMENT (reason UNDECODABLE), never UNKNOWN or INTERNAL.

grpc.aio decodes a request before any interceptor code runs: a `DecodeError` there answers
UNKNOWN ("Unexpected <class DecodeError>") on unary requests and escapes into the handler
as an arbitrary exception (INTERNAL) on request streams. The server interceptor wraps every
method's `request_deserializer` with these guards, once for every service:

- unary requests (unary-unary, unary-stream): a failed decode becomes an `Undecodable`
  marker in place of the request; the interceptor's wrapped behaviour raises its
  `UndecodableRequest` (an `InvalidArgument`) before the handler runs.
- request streams (stream-unary, stream-stream): a bad message ends the stream with
  INVALID_ARGUMENT at that message, naming its position in the stream (1-based); answers
  already sent for earlier messages stand, later messages are not read. The error is
  raised where the handler reads (`async for` or `ctx.read()`), so a handler that catches
  `InvalidArgument` per message may also report it and go on reading.

The violation never echoes the bytes, only the message type and the position.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telco360_runtime.bounds import OUT_OF_RANGE, UNDECODABLE
from telco360_runtime.errors import FieldViolation, InvalidArgument

Deserializer = Callable[[bytes], Any]

# Messages decoded so far in the current call's request stream (set per call by the
# interceptor, so the position is the call's own).
_received: contextvars.ContextVar[int] = contextvars.ContextVar("telco360_stream_received", default=0)

FIELD = "request"


class UndecodableRequest(InvalidArgument):
    """The request bytes are not a valid encoding of the method's request message."""

    def __init__(self, type_name: str, position: int | None = None) -> None:
        what = f"a {type_name} message" if type_name else "the request message"
        where = f"message {position} of the request stream" if position else "the request"
        super().__init__(
            FieldViolation(
                FIELD, f"{where} could not be decoded as {what} (malformed or truncated bytes)", UNDECODABLE
            ),
            message=f"invalid request: {where} could not be decoded",
        )


class RequestTooLarge(InvalidArgument):
    """A request message larger than its method's bound (access.Access.max_request_kb)."""

    def __init__(self, size: int, limit: int, position: int | None = None) -> None:
        where = f"message {position} of the request stream" if position else "the request"
        super().__init__(
            FieldViolation(
                FIELD, f"{where} is {size} bytes; this method takes at most {limit} bytes per message", OUT_OF_RANGE
            ),
            message=f"invalid request: {where} is larger than this method accepts",
        )


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a unary request that failed to decode (see module docstring)."""

    type_name: str
    size: int = 0
    limit: int = 0

    def error(self) -> InvalidArgument:
        """The error the call answers with."""
        if self.limit:
            return RequestTooLarge(self.size, self.limit)
        return UndecodableRequest(self.type_name)


def _raw_bytes(data: bytes) -> bytes:
    return data  # methods registered without a message type take the bytes as they are


def _type_name(deserializer: Deserializer) -> str:
    # `Message.FromString` is a bound class method: its class names the message type.
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", "") or ""


def guard_unary(deserializer: Deserializer | None, max_bytes: int | None = None) -> Deserializer | None:
    """A deserializer returning an `Undecodable` marker instead of raising (also for a
    request over `max_bytes`, which is not decoded at all)."""
    if deserializer is None and max_bytes is None:
        return None
    parse: Deserializer = deserializer or _raw_bytes
    type_name = _type_name(parse)

    def decode(data: bytes) -> Any:
        if max_bytes is not None and len(data) > max_bytes:
            return Undecodable(type_name, len(data), max_bytes)
        try:
            return parse(data)
        except Exception:  # noqa: BLE001 - any failure to decode is the caller's bad bytes
            return Undecodable(type_name)

    return decode


def guard_stream(deserializer: Deserializer | None, max_bytes: int | None = None) -> Deserializer | None:
    """A deserializer raising `UndecodableRequest` (with the message's position) instead of
    the decoder's own error, and `RequestTooLarge` for a message over `max_bytes`."""
    if deserializer is None and max_bytes is None:
        return None
    parse: Deserializer = deserializer or _raw_bytes
    type_name = _type_name(parse)

    def decode(data: bytes) -> Any:
        position = _received.get() + 1
        _received.set(position)
        if max_bytes is not None and len(data) > max_bytes:
            raise RequestTooLarge(len(data), max_bytes, position)
        try:
            return parse(data)
        except Exception as error:  # noqa: BLE001 - any failure to decode is the caller's bad bytes
            raise UndecodableRequest(type_name, position) from error

    return decode


def begin_call() -> contextvars.Token:
    """Start counting the current call's stream messages from zero (token for `end_call`)."""
    return _received.set(0)


def end_call(token: contextvars.Token) -> None:
    """Undo `begin_call`."""
    try:
        _received.reset(token)
    except ValueError:
        # A cancelled stream's generator is finalised in another context (see context.reset).
        pass
