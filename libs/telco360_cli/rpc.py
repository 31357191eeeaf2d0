"""gRPC stubs for the four services over `telco360_runtime.clients.open_channel` channels.

`Clients` is an async context manager: channels open lazily per service and close on exit,
so a command that only talks to profile never dials the others.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import grpc
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2_grpc
from telco360.ingest.v1 import ingest_pb2_grpc
from telco360.profile.v1 import profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2_grpc

from telco360_cli.config import CliConfig
from telco360_runtime.clients import open_channel

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
            self._channels[service] = open_channel(self.config.address(service), default_timeout=self.config.timeout,
                                                   token=self.config.token, max_message_mb=64)
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
            await channel.close()
        self._channels.clear()

    async def __aenter__(self) -> "Clients":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


JobGetter = Callable[[common_pb2.GetJobRequest], Awaitable[common_pb2.Job]]
FINISHED = {common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED, common_pb2.JOB_STATE_CANCELLED}


async def wait_job(get_job: JobGetter, job: common_pb2.Job, on_progress: Callable[[common_pb2.Job], None] | None = None,
                   poll_seconds: float = 0.5, timeout: float = 3600.0) -> common_pb2.Job:
    """Poll a long-running job until it finishes; call on_progress with each state seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while job.state not in FINISHED:
        if on_progress:
            on_progress(job)
        if loop.time() > deadline:
            raise TimeoutError(f"job {job.job_id} ({job.kind}) did not finish within {timeout:.0f} s")
        await asyncio.sleep(poll_seconds)
        job = await get_job(common_pb2.GetJobRequest(job_id=job.job_id))
    if on_progress:
        on_progress(job)
    return job
