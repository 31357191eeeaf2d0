"""Scoring's profile client: chunked, retried RecordScores publishing; exported rows as frames."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.scoring.domain.records import PublishedScore
from services.scoring.peers.profile import ProfileFeatureSource, records_frame
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_runtime.clients import open_channel
from telco360_runtime.errors import Unavailable
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings


class FlakyProfile(profile_pb2_grpc.ProfileServiceServicer):
    """RecordScores that answers UNAVAILABLE to the first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[int] = []

    async def RecordScores(
        self, request: profile_pb2.RecordScoresRequest, context: Any
    ) -> profile_pb2.RecordScoresResponse:
        self.calls.append(len(request.scores))
        if len(self.calls) <= self.failures:
            raise Unavailable("profile", "busy")
        return profile_pb2.RecordScoresResponse(accepted=len(request.scores), risk_band_changes=len(request.scores))


def _scores(n: int) -> list[PublishedScore]:
    now = dt.datetime.now(dt.UTC)
    return [
        PublishedScore(f"KA{i:06d}", 0.1, "LOW", 100, 6, "churn:1,value:1", now, [("f", "phrase", 0.5)])
        for i in range(n)
    ]


async def _served(profile: FlakyProfile) -> GrpcService:
    peer = GrpcService(
        ServiceSettings(service_name="profile", port=0, grace_seconds=0.2),
        [
            Registration(
                profile_pb2_grpc.add_ProfileServiceServicer_to_server,
                profile,
                profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
            )
        ],
    )
    await peer.start()
    return peer


async def test_band_changes_go_in_chunks_and_a_stalled_chunk_is_retried() -> None:
    profile = FlakyProfile(failures=1)
    peer = await _served(profile)
    channel = open_channel(peer.address)
    try:
        source = ProfileFeatureSource(channel, publish_chunk=500, publish_attempts=3)
        assert await source.record_scores(_scores(1200)) == 1200
        assert profile.calls == [500, 500, 500, 200]  # the first chunk twice
    finally:
        await channel.close()
        await peer.stop(0.2)


async def test_publishing_gives_up_after_its_attempts() -> None:
    profile = FlakyProfile(failures=10)
    peer = await _served(profile)
    channel = open_channel(peer.address)
    try:
        source = ProfileFeatureSource(channel, publish_chunk=500, publish_attempts=2)
        with pytest.raises(Unavailable):
            await source.record_scores(_scores(10))
        assert profile.calls == [10, 10]
    finally:
        await channel.close()
        await peer.stop(0.2)


def test_exported_feature_rows_become_columns_in_name_order() -> None:
    # Protobuf maps iterate in a different order in every process; the frame's column order
    # is the model's feature order, so it must not depend on it.
    rows = [
        {"z_fee": 1.0, "customer_id": "KA1", "a_tenure": 3.0},
        {"a_tenure": 4.0, "customer_id": "KA2", "z_fee": 2.0},
    ]
    frame = records_frame(rows)
    assert list(frame.columns) == ["a_tenure", "customer_id", "z_fee"]
    assert frame["z_fee"].tolist() == [1.0, 2.0]
