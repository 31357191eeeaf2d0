"""A failed call to a peer, as a telco360_runtime.errors.Unavailable (peers layer).

The gRPC clients of this package turn every grpc.RpcError they do not handle themselves
into `PeerUnavailable`, which names the peer and the gRPC status code (for logs and the
reasons of degraded answers), so callers above the peers never import grpc.
"""

from __future__ import annotations

import grpc

from telco360_runtime.errors import Unavailable


class PeerUnavailable(Unavailable):
    """A peer call failed; `code` is the gRPC status name (or the exception's type name)."""

    def __init__(self, peer: str, code: str) -> None:
        super().__init__(peer, f"{peer} is unavailable ({code})")
        self.code = code


def unavailable(peer: str, error: grpc.RpcError) -> PeerUnavailable:
    """The PeerUnavailable that reports `error` of a call to `peer`."""
    code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
    return PeerUnavailable(peer, code)
