"""gRPC stubs for the four services over `telco360_runtime.clients.open_channel` channels.

`Clients` is an async context manager: channels open lazily per service and close on exit,
so a command that only talks to profile never dials the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from telco360.contact.v1 import contact_pb2_grpc
from telco360.ingest.v1 import ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_cli.config import CliConfig
from telco360_runtime.clients import open_channel
from telco360_runtime.proto_jobs import wait_job

__all__ = ["Clients", "wait_job"]

_STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "ingest": ingest_pb2_grpc.IngestServiceStub,
    "profile": profile_pb2_grpc.ProfileServiceStub,
    "scoring": scoring_pb2_grpc.ScoringServiceStub,
    "contact": contact_pb2_grpc.ContactServiceStub,
}
T = TypeVar("T")


class Clients:
    """Lazily opened stubs for ingest, profile, scoring and contact."""

    def __init__(self, config: CliConfig) -> None:
        self.config = config
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        """The channel to a service (opened on first use)."""
        if service not in self._channels:
            self._channels[service] = open_channel(
                self.config.address(service),
                default_timeout=self.config.timeout,
                token=self.config.token,
                max_message_mb=64,
                tls=self.config.tls,
            )
        return self._channels[service]

    @property
    def ingest(self) -> ingest_pb2_grpc.IngestServiceStub:
        """Ingest stub."""
        return _STUBS["ingest"](self.channel("ingest"))

    @property
    def profile(self) -> profile_pb2_grpc.ProfileServiceStub:
        """Profile stub."""
        return _STUBS["profile"](self.channel("profile"))

    @property
    def scoring(self) -> scoring_pb2_grpc.ScoringServiceStub:
        """Scoring stub."""
        return _STUBS["scoring"](self.channel("scoring"))

    @property
    def contact(self) -> contact_pb2_grpc.ContactServiceStub:
        """Contact stub."""
        return _STUBS["contact"](self.channel("contact"))

    async def close(self) -> None:
        """Close every opened channel."""
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
