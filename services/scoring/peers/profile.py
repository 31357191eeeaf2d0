"""Profile as scoring's feature source (peers layer): GetFeatures, ExportFeatures, ExportOutcomes,
RecordScores over gRPC, converted to the domain's frames and dataclasses.

Peer failures surface as domain errors whose message is a sentence naming profile: down or
slow as `Unavailable("profile")` ("profile unavailable: ..."), any other refusal as
`FailedPrecondition` ("profile refused ..."), so a caller of scoring (or a job's error
message) learns which dependency failed and how, never a raw AioRpcError text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pandas as pd

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_runtime.bounds import preview
from telco360_runtime.errors import FailedPrecondition, Unavailable
from telco360_runtime.logs import get_logger
from telco360_runtime.timeconv import from_timestamp, to_timestamp

from ..domain.labels import Outcomes
from ..domain.records import FeatureFrame, FeatureLookup, PublishedScore
from .analytics_pb import value_analytics_pb

_PEER_DOWN = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
_TERMINATED = profile_pb2.AccountStatus.ACCOUNT_STATUS_TERMINATED
_BAND = {"LOW": common_pb2.RISK_BAND_LOW, "MEDIUM": common_pb2.RISK_BAND_MEDIUM, "HIGH": common_pb2.RISK_BAND_HIGH}
MAX_IDS_PER_CALL = 1000
_log = get_logger()


def attribute_value(v: common_pb2.AttributeValue) -> Any:
    """The Python value of an AttributeValue (None when unset)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return v.number_value
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    return None


def vector_dict(features: Any) -> dict[str, Any]:
    """A FeatureVector's map as a plain dict."""
    return {name: attribute_value(value) for name, value in features.items()}


def _peer_error(err: grpc.aio.AioRpcError) -> Exception:
    """Any error profile answered, as a domain error with a clean sentence."""
    code = err.code()
    name = code.name if code is not None else "UNKNOWN"
    if code in _PEER_DOWN:
        return Unavailable("profile", f"profile unavailable: it did not answer in time or is down ({name})")
    # Profile's own text names its problem; a short prefix is enough and bounds the message.
    detail = (err.details() or "").strip()
    suffix = f": {preview(detail, 120)}" if detail else ""
    return FailedPrecondition(f"profile refused the request ({name}){suffix}")


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Feature rows as a frame with its columns in name order.

    Protobuf map iteration order is not stable across processes, and the column order
    becomes the model's feature order (LightGBM's feature sampling picks columns by
    position): without sorting, the same data trained two different models in two runs.
    """
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(sorted(frame.columns), axis=1)


class ProfileFeatureSource:
    """FeatureSource backed by the profile service."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        export_timeout: float = 600.0,
        publish_chunk: int = 500,
        publish_timeout: float = 30.0,
        publish_attempts: int = 4,
    ) -> None:
        self._stub = profile_pb2_grpc.ProfileServiceStub(channel)
        self._export_timeout = export_timeout
        self._publish_chunk = max(1, min(publish_chunk, MAX_IDS_PER_CALL))
        self._publish_timeout = publish_timeout
        self._publish_attempts = max(1, publish_attempts)

    async def get_features(self, customer_ids: Sequence[str], as_of: dt.datetime | None = None) -> FeatureLookup:
        """Point-in-time features of up to 1000 accounts (now, unless as_of)."""
        request = profile_pb2.GetFeaturesRequest(customer_ids=list(customer_ids))
        if as_of is not None:
            request.as_of.CopyFrom(to_timestamp(as_of))
        try:
            reply = await self._stub.GetFeatures(request)
        except grpc.aio.AioRpcError as err:
            raise _peer_error(err) from err
        lookup = FeatureLookup(
            as_of=from_timestamp(reply.as_of) if reply.HasField("as_of") else dt.datetime.now(dt.UTC)
        )
        for v in reply.vectors:
            if not v.found:
                lookup.not_found.add(v.customer_id)
            elif v.status == _TERMINATED:
                lookup.terminated.add(v.customer_id)
            else:
                lookup.rows[v.customer_id] = vector_dict(v.features)
        return lookup

    async def export_features(self, as_of: dt.datetime, batch_size: int = 1000) -> AsyncIterator[FeatureFrame]:
        """Active accounts' features as of a moment, one frame per streamed batch."""
        request = profile_pb2.ExportFeaturesRequest(as_of=to_timestamp(as_of), batch_size=min(max(batch_size, 1), 5000))
        descriptions: dict[str, str] = {}
        try:
            async for batch in self._stub.ExportFeatures(request, timeout=self._export_timeout):
                if batch.HasField("schema"):
                    descriptions = {f.name: f.description for f in batch.schema.features}
                records = []
                for v in batch.vectors:
                    if not v.found:
                        continue
                    row = vector_dict(v.features)
                    row["customer_id"] = v.customer_id
                    row["status"] = "terminated" if v.status == _TERMINATED else "active"
                    records.append(row)
                when = from_timestamp(batch.as_of) if batch.HasField("as_of") else as_of
                yield FeatureFrame(when, records_frame(records), descriptions)
        except grpc.aio.AioRpcError as err:
            raise _peer_error(err) from err

    async def export_outcomes(self, from_month: str, to_month: str) -> Outcomes:
        """Monthly totals and lifecycle changes of the window (label facts)."""
        request = profile_pb2.ExportOutcomesRequest(from_month=from_month, to_month=to_month, batch_size=5000)
        revenue: list[tuple[str, str, int]] = []
        costs: list[tuple[str, str, int]] = []
        lifecycle: list[tuple[str, dt.datetime, bool]] = []
        try:
            async for batch in self._stub.ExportOutcomes(request, timeout=self._export_timeout):
                for o in batch.outcomes:
                    revenue.extend((o.customer_id, m.month, m.total_fee_fen) for m in o.months)
                    # Only costed months: a month without a cost record has an unknown cost.
                    costs.extend((o.customer_id, m.month, m.total_cost_fen) for m in o.months if m.costed)
                    lifecycle.extend(
                        (
                            o.customer_id,
                            from_timestamp(c.occurred_at),
                            c.action == ingest_pb2.LifecycleAction.LIFECYCLE_ACTION_TERMINATED,
                        )
                        for c in o.lifecycle
                    )
        except grpc.aio.AioRpcError as err:
            raise _peer_error(err) from err
        rev = pd.DataFrame(revenue, columns=["customer_id", "month", "total_fee_fen"])
        lc = pd.DataFrame(lifecycle, columns=["customer_id", "occurred_at", "terminated"])
        lc["occurred_at"] = pd.to_datetime(lc["occurred_at"], utc=True)
        lc["terminated"] = lc["terminated"].astype(bool)
        cost = pd.DataFrame(costs, columns=["customer_id", "month", "total_cost_fen"])
        return Outcomes(revenue=rev, lifecycle=lc, costs=cost)

    async def record_scores(self, scores: Sequence[PublishedScore]) -> int:
        """Publish scores to profile in chunks; returns the band changes profile counted.

        Chunks are small (500 by default, at most PUBLISH_CHUNK_BYTES) so one call stays well
        inside its deadline on a busy profile, and a chunk that times out or finds profile unavailable is retried
        with backoff: RecordScores sets each account's latest score, so a repeat is
        harmless (at worst profile counts a band change twice).
        """
        changes = 0
        for chunk in _chunks([_score_pb(s) for s in scores], self._publish_chunk):
            reply = await self._record_with_retries(profile_pb2.RecordScoresRequest(scores=chunk))
            changes += reply.risk_band_changes
        return changes

    async def _record_with_retries(self, request: profile_pb2.RecordScoresRequest) -> profile_pb2.RecordScoresResponse:
        for attempt in range(1, self._publish_attempts + 1):
            try:
                return await self._stub.RecordScores(request, timeout=self._publish_timeout)
            except grpc.aio.AioRpcError as err:
                if err.code() not in _PEER_DOWN or attempt == self._publish_attempts:
                    raise _peer_error(err) from err
                _log.warning("record_scores_retry", attempt=attempt, code=err.code().name, accounts=len(request.scores))
                await asyncio.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
        raise AssertionError("unreachable")


#: Bytes of one RecordScores request at most: within the runtime's default request bound
#: (256 KiB, which every method accepts), since scores with their analytics and reasons reach
#: about a kilobyte each.
PUBLISH_CHUNK_BYTES = 200 * 1024


def _chunks(scores: list[profile_pb2.AccountScore], most: int) -> list[list[profile_pb2.AccountScore]]:
    """Scores in chunks of at most `most` accounts and PUBLISH_CHUNK_BYTES bytes."""
    out: list[list[profile_pb2.AccountScore]] = []
    chunk: list[profile_pb2.AccountScore] = []
    size = 0
    for score in scores:
        item = score.ByteSize() + 4  # tag and length prefix
        if chunk and (len(chunk) >= most or size + item > PUBLISH_CHUNK_BYTES):
            out.append(chunk)
            chunk, size = [], 0
        chunk.append(score)
        size += item
    if chunk:
        out.append(chunk)
    return out


def _score_pb(s: PublishedScore) -> profile_pb2.AccountScore:
    out = _plain_score_pb(s)
    analytics = value_analytics_pb(s.analytics)
    if analytics is not None:
        out.analytics.CopyFrom(analytics)
    return out


def _plain_score_pb(s: PublishedScore) -> profile_pb2.AccountScore:
    return profile_pb2.AccountScore(
        customer_id=s.customer_id,
        churn_probability=s.churn_probability,
        risk_band=_BAND.get(s.risk_band, common_pb2.RISK_BAND_UNSPECIFIED),
        predicted_value_fen=s.predicted_value_fen,
        value_horizon_months=s.value_horizon_months,
        model_version=s.model_version,
        scored_at=to_timestamp(s.scored_at),
        reasons=[profile_pb2.ScoreReason(feature=f, description=d, contribution=c) for f, d, c in s.reasons],
    )
