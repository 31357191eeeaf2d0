"""Handlers of the feeds in and out: scores from scoring, the account event feed, jobs and sync status."""

from __future__ import annotations

import asyncio

from services.profile import converters as cv
from services.profile.handlers.common import HandlerBase, required
from services.profile.store import views
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.auth import require_role
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.proto_jobs import job_to_proto


class SyncHandlers(HandlerBase):
    """RecordScores, WatchAccountEvents, GetJob and GetSyncStatus."""

    async def RecordScores(self, request, context):
        require_role(("service",))
        now = self.store.clock()
        for i, score in enumerate(request.scores):
            if not score.customer_id:
                raise InvalidArgument(FieldViolation(f"scores[{i}].customer_id", "is required", "REQUIRED"))
            if not 0.0 <= score.churn_probability <= 1.0:
                raise InvalidArgument(FieldViolation(f"scores[{i}].churn_probability", "must be 0-1", "OUT_OF_RANGE"))
        result = await self.db.run(self.store.record_scores, [cv.score_from_pb(s, now) for s in request.scores])
        return pb.RecordScoresResponse(accepted=result["accepted"], ignored=result["ignored"],
                                       unknown_customer_ids=result["unknown"], risk_band_changes=result["changed"])

    async def WatchAccountEvents(self, request, context):
        after, sent = request.after_sequence, 0
        types = list(request.types)

        def read(limit: int):
            with self.db.session() as s:
                return views.read_events(s, after, limit, types, request.customer_id)
        while True:
            want = 500 if not request.limit else min(500, request.limit - sent)
            rows = await self.db.run(read, want)
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
        out = pb.SyncStatus(applied_sequence=status["applied_sequence"], ingest_last_sequence=ingest_last,
                            lag_entries=max(0, ingest_last - status["applied_sequence"]),
                            connected=bool(self.consumer and self.consumer.connected), accounts=status["accounts"],
                            last_event_sequence=status["last_event_sequence"])
        out.settling = status["pending_refresh"] > 0 or await self.db.run(self.store.shares_stale)
        if status["last_applied_at"]:
            out.last_applied_at.CopyFrom(cv.ts(status["last_applied_at"]))
        return out
