"""A profile peer for scoring's integration tests, serving a synthetic base over real gRPC.

It answers the four rpcs scoring calls (GetFeatures, ExportFeatures, ExportOutcomes,
RecordScores) with the ProfileService contract, from `services.scoring.domain.synthetic`, and
remembers the scores it was sent. The real profile service speaks the same contract.
`refuse[rpc] = (code, details)` makes the peer answer that rpc with an error status, as a
failing profile would.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
import pandas as pd

from services.scoring.domain import synthetic
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_runtime.timeconv import from_timestamp, is_set, to_timestamp

ACTIVE = profile_pb2.ACCOUNT_STATUS_ACTIVE
TERMINATED = profile_pb2.ACCOUNT_STATUS_TERMINATED


def _value(v: Any) -> common_pb2.AttributeValue | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return common_pb2.AttributeValue(bool_value=bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        return common_pb2.AttributeValue(number_value=float(v))
    return common_pb2.AttributeValue(string_value=str(v))


def vector(row: dict[str, Any]) -> profile_pb2.FeatureVector:
    """One frame row as a FeatureVector."""
    status = TERMINATED if row["status"] == "TERMINATED" else ACTIVE
    features = {
        k: v for k, v in ((k, _value(x)) for k, x in row.items() if k not in ("customer_id", "as_of")) if v is not None
    }
    return profile_pb2.FeatureVector(customer_id=row["customer_id"], found=True, status=status, features=features)


class SyntheticProfile(profile_pb2_grpc.ProfileServiceServicer):
    """ProfileService over a synthetic base; 'now' is the end of the simulated period."""

    def __init__(self, base: synthetic.SyntheticBase) -> None:
        self.base = base
        self.recorded: list[profile_pb2.AccountScore] = []
        self.refuse: dict[str, tuple[grpc.StatusCode, str]] = {}
        self._frames: dict[int, pd.DataFrame] = {}
        self._vectors: dict[int, dict[str, profile_pb2.FeatureVector]] = {}

    def month_of(self, ts: Any) -> int:
        """The base's month index whose start is the latest at or before ts."""
        when = pd.Timestamp(from_timestamp(ts))
        start = pd.Timestamp(f"{self.base.start_month}-01", tz="UTC")
        m = (when.year - start.year) * 12 + when.month - start.month
        if when > pd.Timestamp(f"{when.year}-{when.month:02d}-01", tz="UTC"):
            m += 1
        return min(max(m, 1), self.base.months)

    def frame(self, m: int) -> pd.DataFrame:
        if m not in self._frames:
            self._frames[m] = synthetic.features_as_of(self.base, m)
        return self._frames[m]

    def vectors(self, m: int) -> dict[str, profile_pb2.FeatureVector]:
        """Prebuilt vectors of month m by account (the peer answers from memory)."""
        if m not in self._vectors:
            self._vectors[m] = {r["customer_id"]: vector(r) for r in self.frame(m).to_dict("records")}
        return self._vectors[m]

    async def _maybe_refuse(self, rpc: str, context: Any) -> None:
        if rpc in self.refuse:
            code, details = self.refuse[rpc]
            await context.abort(code, details)

    async def GetFeatures(
        self, request: profile_pb2.GetFeaturesRequest, context: Any
    ) -> profile_pb2.GetFeaturesResponse:
        await self._maybe_refuse("GetFeatures", context)
        m = self.month_of(request.as_of) if is_set(request.as_of) else self.base.months
        known = self.vectors(m)
        vectors = [
            known.get(cid) or profile_pb2.FeatureVector(customer_id=cid, found=False) for cid in request.customer_ids
        ]
        return profile_pb2.GetFeaturesResponse(vectors=vectors, as_of=to_timestamp(self.base.cutoff(m).to_pydatetime()))

    async def ExportFeatures(
        self, request: profile_pb2.ExportFeaturesRequest, context: Any
    ) -> AsyncIterator[profile_pb2.FeatureBatch]:
        await self._maybe_refuse("ExportFeatures", context)
        m = self.month_of(request.as_of)
        frame = self.frame(m)
        if not request.include_terminated:
            frame = frame[frame["status"] != "TERMINATED"]
        size = request.batch_size or 500
        known = self.vectors(m)
        records = frame["customer_id"].tolist()
        schema = profile_pb2.FeatureSchema(
            features=[
                profile_pb2.FeatureSpec(name=c, description=f"{c} (synthetic)")
                for c in frame.columns
                if c not in ("customer_id", "as_of")
            ]
        )
        for start in range(0, len(records), size):
            batch = profile_pb2.FeatureBatch(
                vectors=[known[c] for c in records[start : start + size]],
                as_of=to_timestamp(self.base.cutoff(m).to_pydatetime()),
            )
            if start == 0:
                batch.schema.CopyFrom(schema)
            yield batch

    async def ExportOutcomes(
        self, request: profile_pb2.ExportOutcomesRequest, context: Any
    ) -> AsyncIterator[profile_pb2.OutcomeBatch]:
        await self._maybe_refuse("ExportOutcomes", context)
        oc = synthetic.outcomes(self.base)
        rev = oc.revenue[(oc.revenue["month"] >= request.from_month) & (oc.revenue["month"] <= request.to_month)]
        months = {cid: g for cid, g in rev.groupby("customer_id")}
        life = {cid: g for cid, g in oc.lifecycle.groupby("customer_id")}
        outcomes = []
        for cid in self.base.customer_ids:
            g = months.get(cid)
            lc = life.get(cid)
            outcomes.append(
                profile_pb2.AccountOutcome(
                    customer_id=cid,
                    months=[]
                    if g is None
                    else [
                        profile_pb2.MonthlyTotal(month=mo, total_fee_fen=int(fee))
                        for mo, fee in zip(g["month"], g["total_fee_fen"], strict=False)
                    ],
                    lifecycle=[]
                    if lc is None
                    else [
                        profile_pb2.LifecycleChange(
                            occurred_at=to_timestamp(t.to_pydatetime()),
                            action=ingest_pb2.LIFECYCLE_ACTION_TERMINATED,
                            reason=ingest_pb2.TERMINATION_REASON_COMPETITOR,
                        )
                        for t in lc["occurred_at"]
                    ],
                )
            )
        size = request.batch_size or 500
        for start in range(0, len(outcomes), size):
            yield profile_pb2.OutcomeBatch(outcomes=outcomes[start : start + size])

    async def RecordScores(
        self, request: profile_pb2.RecordScoresRequest, context: Any
    ) -> profile_pb2.RecordScoresResponse:
        self.recorded.extend(request.scores)
        return profile_pb2.RecordScoresResponse(accepted=len(request.scores), risk_band_changes=len(request.scores))
