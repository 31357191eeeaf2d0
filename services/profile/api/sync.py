"""API layer: handlers of the feeds in and out: scores from scoring, the account event feed, jobs and sync status."""

from __future__ import annotations

import asyncio
from typing import Any

from services.profile.api import converters as cv
from services.profile.api import validation
from services.profile.api.common import HandlerBase, required
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.errors import ViolationCollector
from telco360_runtime.proto_jobs import job_to_proto
from telco360_runtime.timeconv import month_of, parse_month


class SyncHandlers(HandlerBase):
    """RecordScores, WatchAccountEvents, GetJob, GetSyncStatus and CloseBillingPeriod."""

    async def RecordScores(self, request, context):
        now = self.store.clock()
        # A batch of independent rows: a bad row is reported and left out, the rest is stored.
        good, rejected = [], []
        for i, score in enumerate(request.scores):
            problems = validation.score_row_violations(i, score)
            if problems:
                rejected.append(
                    pb.RejectedScore(
                        index=i,
                        customer_id=score.customer_id[: bounds.ID_MAX],
                        violations=[
                            pb.ScoreViolation(field=v.field, description=v.description, reason=v.reason)
                            for v in problems
                        ],
                    )
                )
            else:
                good.append(cv.score_from_pb(score, now))
        result: dict[str, Any] = (
            await self.db.run(self.store.record_scores, good)
            if good
            else {"accepted": 0, "ignored": 0, "unknown": [], "changed": 0}
        )
        return pb.RecordScoresResponse(
            accepted=result["accepted"],
            ignored=result["ignored"],
            unknown_customer_ids=result["unknown"],
            risk_band_changes=result["changed"],
            rejected=rejected,
        )

    async def WatchAccountEvents(self, request, context):
        after, sent = request.after_sequence, 0
        types = list(request.types)

        while True:
            want = 500 if not request.limit else min(500, request.limit - sent)
            rows = await self.db.run(self.store.read_events, after, want, types, request.customer_id)
            for row in rows:
                yield cv.event_to_pb(row)
                after = row.sequence
                sent += 1
            if request.limit and sent >= request.limit:
                return
            if not rows:
                if not request.follow:
                    return
                await asyncio.sleep(0.2)

    async def GetJob(self, request, context):
        return job_to_proto(await self.db.run(self.jobs.store.get, required(request.job_id, "job_id")))

    async def GetSyncStatus(self, request, context):
        status = await self.db.run(self.store.sync_status)
        ingest_last = max(status["ingest_last_sequence"], self.consumer.ingest_last if self.consumer else 0)
        out = pb.SyncStatus(
            applied_sequence=status["applied_sequence"],
            ingest_last_sequence=ingest_last,
            lag_entries=max(0, ingest_last - status["applied_sequence"]),
            connected=bool(self.consumer and self.consumer.connected),
            accounts=status["accounts"],
            last_event_sequence=status["last_event_sequence"],
        )
        out.settling = status["pending_refresh"] > 0 or await self.db.run(self.store.shares_stale)
        if status["last_applied_at"]:
            out.last_applied_at.CopyFrom(cv.ts(status["last_applied_at"]))
        return out

    async def CloseBillingPeriod(self, request, context):
        out = ViolationCollector()
        if not request.month:
            out.add("month", "is required", bounds.REQUIRED)
        elif parse_month(request.month) is None:
            out.add("month", f"must be YYYY-MM, got {bounds.preview(request.month)}", bounds.BAD_FORMAT)
        elif request.month >= month_of(self.store.clock()):
            out.add("month", "must be before the current month (its bills are not all issued yet)", bounds.OUT_OF_RANGE)
        bounds.check_text(out, "note", request.note, max_len=bounds.NAME_MAX)
        out.raise_if_any()
        recomputed = await self.db.run(self.store.close_billing_period, request.month, request.note)
        closed = await self.db.run(self.store.billing_closed_month)
        return pb.CloseBillingPeriodResponse(billing_closed_month=closed, accounts_recomputed=recomputed)
