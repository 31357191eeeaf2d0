"""Peers: ApplyErasure / LiftErasure on ingest, scoring and contact (the erasure dispatcher's calls).

Each call carries profile's service token (and TLS when configured). A failure is raised as
`ErasureCallFailed` (an Unavailable naming the peer's gRPC status) for the dispatcher to
record; the call does not wait for a peer that is down (wait_for_ready=False).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import grpc

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2_grpc
from telco360.ingest.v1 import ingest_pb2_grpc
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.clients import Token, open_channel
from telco360_runtime.errors import Unavailable
from telco360_runtime.tls import ChannelTls

_STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "ingest": ingest_pb2_grpc.IngestServiceStub,
    "scoring": scoring_pb2_grpc.ScoringServiceStub,
    "contact": contact_pb2_grpc.ContactServiceStub,
}


class ErasureCallFailed(Unavailable):
    """A peer did not apply (or lift) an erasure; `code` is its gRPC status name, `details` its message."""

    def __init__(self, service: str, code: str, details: str) -> None:
        super().__init__(service, f"{code}: {details}")
        self.code = code
        self.details = details


class ErasurePeers:
    """Channels to the services an erasure must reach (those with an address)."""

    def __init__(self, addrs: dict[str, str], timeout: float, token: Token = "", tls: ChannelTls | None = None) -> None:
        self.timeout = timeout
        self._channels = {name: open_channel(addr, token=token, tls=tls) for name, addr in addrs.items() if addr}
        self._stubs = {name: _STUBS[name](channel) for name, channel in self._channels.items()}

    @property
    def services(self) -> list[str]:
        """The services this profile reaches, in name order."""
        return sorted(self._stubs)

    async def apply(
        self, service: str, erasure_id: str, customer_id: str, purge_facts: bool
    ) -> tuple[dict[str, int], dt.datetime | None]:
        """Ask `service` to apply the erasure: (removed counts, when it first applied it)."""
        request = common_pb2.ApplyErasureRequest(
            erasure_id=erasure_id, customer_id=customer_id, purge_facts=purge_facts
        )
        try:
            reply = await self._stubs[service].ApplyErasure(request, timeout=self.timeout, wait_for_ready=False)
        except grpc.aio.AioRpcError as error:
            raise ErasureCallFailed(service, error.code().name, error.details() or "") from None
        at = reply.erased_at.ToDatetime(tzinfo=dt.UTC) if reply.HasField("erased_at") else None
        return {k: int(v) for k, v in reply.removed.items()}, at

    async def lift(self, service: str, customer_id: str, reason: str) -> bool:
        """Ask `service` to lift its tombstone; whether there was one."""
        request = common_pb2.LiftErasureRequest(customer_id=customer_id, reason=reason)
        try:
            reply = await self._stubs[service].LiftErasure(request, timeout=self.timeout, wait_for_ready=False)
        except grpc.aio.AioRpcError as error:
            raise ErasureCallFailed(service, error.code().name, error.details() or "") from None
        return bool(reply.lifted)

    async def close(self) -> None:
        """Close the channels."""
        for channel in self._channels.values():
            await channel.close(None)
