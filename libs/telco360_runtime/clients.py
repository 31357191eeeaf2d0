"""Channels to peer services that carry the request id and the caller's deadline.

`open_channel(target)` returns a grpc.aio channel whose interceptors add `x-request-id`
(from the current call, or a new one) to every outgoing call and cap its timeout by what
is left of the incoming call's deadline, or the default peer timeout without one.
Targets like `dns:///scoring:50051` are balanced round-robin over all replicas.
`token` is this service's own credential for its peers: a string, or a `FileToken` that
re-reads its file when it changes (rotation without restart). `tls` (a tls.ChannelTls, e.g.
`settings.peer_tls()`) makes the channel TLS, mutual when it names a client certificate;
without it the channel is plaintext.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, cast

import grpc

from telco360_runtime import context
from telco360_runtime.tls import ChannelTls

_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


Token = str | Callable[[], str]


class FileToken:
    """A bearer token kept in a file, re-read when the file changes (checked with one stat per call)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._token = ""
        self._lock = threading.Lock()

    def __call__(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError:
            return ""  # the peer answers UNAUTHENTICATED, which names the problem
        key = (st.st_mtime_ns, st.st_size)
        if key != self._seen:
            with self._lock:
                try:
                    with open(self.path, encoding="utf-8") as fh:
                        self._token = fh.read().strip()
                except (OSError, UnicodeDecodeError):
                    self._token = ""
                self._seen = key
        return self._token


def _outgoing(
    details: grpc.aio.ClientCallDetails, default_timeout: float | None, token: str
) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    if context.REQUEST_ID_HEADER not in metadata:
        metadata[context.REQUEST_ID_HEADER] = context.request_id() or context.new_request_id()
    if token and "authorization" not in metadata:
        metadata["authorization"] = f"Bearer {token}"
    timeout = details.timeout if details.timeout is not None else default_timeout
    remaining = context.time_remaining()
    if remaining is not None:
        timeout = max(0.001, min(timeout, remaining)) if timeout is not None else max(0.001, remaining)
    return grpc.aio.ClientCallDetails(details.method, timeout, metadata, details.credentials, details.wait_for_ready)


class _Outgoing:
    """Adds request id, credentials and deadline to an outgoing call (shared by the four kinds)."""

    def __init__(self, default_timeout: float | None, token: Token) -> None:
        self._timeout = default_timeout
        self._token = token

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        token = self._token() if callable(self._token) else self._token
        return _outgoing(details, self._timeout, token)


# grpc.aio files each interceptor under the first call kind it is an instance of (an
# if/elif chain), so one object implementing all four would cover unary calls only and
# streams would leave without token, request id or deadline: one class per kind.
class _UnaryUnary(_Outgoing, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self.details(details), request)


class _UnaryStream(_Outgoing, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self.details(details), request)


class _StreamUnary(_Outgoing, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(self.details(details), request_iterator)


class _StreamStream(_Outgoing, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(self.details(details), request_iterator)


def propagating_interceptors(default_timeout: float | None, token: Token) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors adding request id, bearer token and deadline to calls of every kind."""
    kinds = (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    # grpc-stubs leaves ClientInterceptor as a must-cast placeholder.
    return [cast(grpc.aio.ClientInterceptor, kind(default_timeout, token)) for kind in kinds]


def open_channel(
    target: str,
    *,
    default_timeout: float | None = 5.0,
    token: Token = "",
    max_message_mb: int = 32,
    options: list[tuple[str, Any]] | None = None,
    tls: ChannelTls | None = None,
) -> grpc.aio.Channel:
    """A grpc.aio channel to a peer with request-id, token and deadline propagation: TLS
    (mutual with a client certificate) when `tls` is given, plaintext otherwise.

    `default_timeout=None` leaves calls without a deadline unless the incoming call has
    one (for long-lived streams such as follow-mode log reads).
    """
    limit = max_message_mb * 1024 * 1024
    opts = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.enable_retries", 1),
        *(tls.channel_options() if tls is not None else []),
        *(options or []),
    ]
    interceptors = propagating_interceptors(default_timeout, token)
    if tls is not None:
        return grpc.aio.secure_channel(target, tls.channel_credentials(), options=opts, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)
