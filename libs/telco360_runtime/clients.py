"""Channels to peer services that carry the request id and the caller's deadline.

`open_channel(target)` returns a grpc.aio channel whose interceptors add `x-request-id`
(from the current call, or a new one) to every outgoing call and cap its timeout by what
is left of the incoming call's deadline, or the default peer timeout without one.
Targets like `dns:///scoring:50051` are balanced round-robin over all replicas.
"""

from __future__ import annotations

import json
from typing import Any, cast

import grpc

from telco360_runtime import context

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


class _PropagatingInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    """Adds request id, credentials and deadline to every outgoing call."""

    def __init__(self, default_timeout: float | None, token: str) -> None:
        self._timeout = default_timeout
        self._token = token

    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(_outgoing(details, self._timeout, self._token), request)

    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(_outgoing(details, self._timeout, self._token), request)

    async def intercept_stream_unary(self, continuation, details, request_iterator):
        return await continuation(_outgoing(details, self._timeout, self._token), request_iterator)

    async def intercept_stream_stream(self, continuation, details, request_iterator):
        return await continuation(_outgoing(details, self._timeout, self._token), request_iterator)


def open_channel(
    target: str,
    *,
    default_timeout: float | None = 5.0,
    token: str = "",
    max_message_mb: int = 32,
    options: list[tuple[str, Any]] | None = None,
) -> grpc.aio.Channel:
    """An insecure grpc.aio channel to a peer with request-id and deadline propagation.

    `default_timeout=None` leaves calls without a deadline unless the incoming call has
    one (for long-lived streams such as follow-mode log reads).
    """
    limit = max_message_mb * 1024 * 1024
    opts = [
        ("grpc.service_config", _SERVICE_CONFIG),
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", limit),
        ("grpc.enable_retries", 1),
        *(options or []),
    ]
    return grpc.aio.insecure_channel(
        target,
        options=opts,
        # grpc-stubs leaves ClientInterceptor as a must-cast placeholder.
        interceptors=[cast(grpc.aio.ClientInterceptor, _PropagatingInterceptor(default_timeout, token))],
    )
