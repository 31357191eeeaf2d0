"""gRPC servicer of the scoring service (api layer): protobuf <-> use-case types, nothing else.

Every rpc first checks its request against the documented bounds (request_bounds), so the
domain only ever sees values inside them. Answers that grow with the request stay below
bounds.PAGE_MAX_BYTES: ListModels pages stop early and resume by token, per-account and
per-row answers that would not fit ask for a smaller call, and a report too large to
send inline is left at its path.
"""

from __future__ import annotations

from typing import Any

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.audit import AuditTrail
from telco360_runtime.bounds import PAGE_MAX_BYTES, TOO_MANY
from telco360_runtime.context import caller_identity
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.jobs import JobStore
from telco360_runtime.proto_jobs import job_to_proto
from telco360_runtime.reasons import REQUIRED
from telco360_runtime.timeconv import to_timestamp

from ..usecases.scoring_app import ScoringApp
from . import analytics_converters as acv
from . import converters as cv
from . import request_bounds


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    """Every ScoringService rpc, delegating to the use cases."""

    def __init__(self, app: ScoringApp, jobs: JobStore, db_run: Any, audit: AuditTrail) -> None:
        self.app = app
        self.jobs = jobs
        self._run = db_run
        # Model changes and every read or computation of an account's scores are on the trail
        # (ids, kinds and job ids; never a table's content or path).
        self.audit = audit

    async def _job(self, job_id: str) -> common_pb2.Job:
        return job_to_proto(await self._run(self.jobs.get, job_id))

    async def TrainModel(self, request: pb.TrainModelRequest, context: Any) -> common_pb2.Job:
        request_bounds.check(request)
        with self.audit.recording("model.train", detail=f"kind={pb.ModelKind.Name(request.kind)}") as note:
            job_id = await self.app.train_model(cv.train_request(request))
            note.detail += f" job_id={job_id}"
        return await self._job(job_id)

    async def TrainFromTable(self, request: pb.TrainFromTableRequest, context: Any) -> common_pb2.Job:
        request_bounds.check(request)
        with self.audit.recording("model.train_from_table", detail=f"table={request.WhichOneof('table')}") as note:
            job_id = await self.app.train_from_table(cv.table_request(request))
            note.detail += f" job_id={job_id}"
        return await self._job(job_id)

    async def GetJob(self, request: common_pb2.GetJobRequest, context: Any) -> common_pb2.Job:
        request_bounds.check(request)
        return await self._job(request.job_id)

    async def ListModels(self, request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:
        request_bounds.check(request)
        kind = cv.KIND_FROM_PB.get(request.kind)
        records, token, total = await self.app.list_models(kind, request.page)
        reply = pb.ListModelsResponse(page=common_pb2.PageResponse(total_count=total))
        size = reply.ByteSize()
        for i, record in enumerate(records):
            model = cv.model_to_pb(record, with_importance=False)
            item = _encoded(model.ByteSize())
            if i and size + item > PAGE_MAX_BYTES:
                token = self.app.resume_token(kind, records[i - 1])
                break
            reply.models.append(model)
            size += item
        reply.page.next_page_token = token
        return reply

    async def GetModel(self, request: pb.GetModelRequest, context: Any) -> pb.Model:
        request_bounds.check(request)
        return cv.model_to_pb(await self.app.get_model(request.model_id))

    async def PromoteModel(self, request: pb.PromoteModelRequest, context: Any) -> pb.Model:
        request_bounds.check(request)
        with self.audit.recording("model.promote", detail=f"model_id={request.model_id}"):
            promoted = await self.app.promote(request.model_id)
        return cv.model_to_pb(promoted)

    async def ScoreCustomers(self, request: pb.ScoreCustomersRequest, context: Any) -> pb.ScoreCustomersResponse:
        request_bounds.check(request)
        with self.audit.recording("scores.compute", request.customer_ids, f"churn_only={request.churn_only}"):
            results = await self.app.score_customers(
                list(request.customer_ids), request.top_reasons, request.churn_only
            )
        return _fitting(pb.ScoreCustomersResponse(scores=[cv.account_to_pb(r) for r in results]), "customer_ids", "ids")

    async def ScoreFeatures(self, request: pb.ScoreFeaturesRequest, context: Any) -> pb.ScoreFeaturesResponse:
        bad = request_bounds.violations(request)
        # Rows beyond the count limit are refused unread.
        ids, rows = cv.feature_rows(request.rows) if len(request.rows) <= request_bounds.MAX_ROWS else ([], [])
        request_bounds.check_feature_rows(bad, rows)
        bad.raise_if_any()
        column_ids, columns = cv.feature_columns(request)
        result = await self.app.score_features(
            rows, request.model_id, cv.KIND_FROM_PB.get(request.kind, "churn"), request.top_reasons, columns
        )
        ids = column_ids if columns is not None else ids
        return _fitting(cv.feature_scores_to_pb(ids, result), "rows" if columns is None else "columns", "rows")

    async def ScoreTable(self, request: pb.ScoreTableRequest, context: Any) -> pb.ScoreFeaturesResponse:
        request_bounds.check(request)
        ids, parts = await self.app.score_table(
            request.content,
            cv.FORMAT_FROM_PB.get(request.format, ""),
            id_column=request.id_column,
            exclude=list(request.exclude_columns),
            model_id=request.model_id,
            kind=cv.KIND_FROM_PB.get(request.kind, "churn"),
            top_k=request.top_reasons,
        )
        return _fitting(cv.table_scores_to_pb(ids, parts), "content", "rows")

    async def ScoreAll(self, request: pb.ScoreAllRequest, context: Any) -> common_pb2.Job:
        request_bounds.check(request)
        with self.audit.recording("scores.compute_all", detail=f"skip_publish={request.skip_publish}") as note:
            job_id = await self.app.score_all(cv.optional_time(request.as_of), request.skip_publish, request.batch_size)
            note.detail += f" job_id={job_id}"
        return await self._job(job_id)

    async def GetStoredScore(self, request: pb.GetStoredScoreRequest, context: Any) -> pb.AccountScore:
        request_bounds.check(request)
        with self.audit.recording("scores.read", [request.customer_id]):
            stored = await self.app.stored_score(request.customer_id)
        return cv.stored_to_pb(stored)

    async def ApplyErasure(
        self, request: common_pb2.ApplyErasureRequest, context: Any
    ) -> common_pb2.ApplyErasureResponse:
        request_bounds.check(request)
        with self.audit.recording("customer.erase", [request.customer_id]) as note:
            erasure = await self.app.apply_erasure(request.erasure_id, request.customer_id)
            note.detail = f"erasure_id={erasure.erasure_id} repeated={erasure.repeated}"
        return common_pb2.ApplyErasureResponse(
            customer_id=erasure.customer_id, removed=erasure.removed, erased_at=to_timestamp(erasure.erased_at)
        )

    async def LiftErasure(self, request: common_pb2.LiftErasureRequest, context: Any) -> common_pb2.LiftErasureResponse:
        request_bounds.check(request)
        # The reason is free text from the request: it stays off the trail (profile keeps it).
        with self.audit.recording("customer.reactivate", [request.customer_id]) as note:
            lifted = await self.app.lift_erasure(request.customer_id, request.reason)
            note.detail = f"lifted={lifted}"
        return common_pb2.LiftErasureResponse(customer_id=request.customer_id, lifted=lifted)

    # -- base analytics (issue #19) --------------------------------------------------------

    async def RunBaseAnalytics(self, request: pb.RunBaseAnalyticsRequest, context: Any) -> common_pb2.Job:
        request_bounds.check(request)
        with self.audit.recording("analytics.run", detail=f"skip_publish={request.skip_publish}") as note:
            job_id = await self.app.run_base_analytics(
                cv.optional_time(request.as_of), request.skip_publish, request.batch_size
            )
            note.detail += f" job_id={job_id}"
        return await self._job(job_id)

    async def GetBaseAnalytics(self, request: pb.GetBaseAnalyticsRequest, context: Any) -> pb.BaseAnalytics:
        request_bounds.check(request)
        return acv.run_to_pb(await self.app.latest_run())

    async def ListOutliers(self, request: pb.ListOutliersRequest, context: Any) -> pb.ListOutliersResponse:
        request_bounds.check(request)
        with self.audit.recording("analytics.outliers.read", detail=f"dismissed={request.include_dismissed}") as note:
            run, items, token, total = await self.app.list_outliers(request.include_dismissed, request.page)
            note.add(a.customer_id for a in items)
        return pb.ListOutliersResponse(
            run_id=run.run_id,
            outliers=[acv.outlier_account_pb(a) for a in items],
            page=common_pb2.PageResponse(next_page_token=token, total_count=total),
        )

    async def ReviewOutlier(self, request: pb.ReviewOutlierRequest, context: Any) -> pb.OutlierReview:
        # One answer lists the bounds broken and the required fields missing together.
        bad = request_bounds.violations(request)
        if not request.customer_id.strip():
            bad.add("customer_id", "required", REQUIRED)
        if request.decision == pb.REVIEW_DECISION_UNSPECIFIED:
            bad.add("decision", "required: DISMISS or CONFIRM", REQUIRED)
        bad.raise_if_any()
        decision = acv.DECISION_FROM_PB.get(request.decision, "")
        # The note is free text: it stays off the trail (the review keeps it).
        with self.audit.recording("analytics.outlier.review", [request.customer_id], f"decision={decision}"):
            review = await self.app.review_outlier(request.customer_id, decision, request.note, caller_identity())
        return acv.review_to_pb(review)

    async def GetReport(self, request: pb.GetReportRequest, context: Any) -> pb.GetReportResponse:
        request_bounds.check(request)
        path, document, generated = await self.app.report(request.model_id)
        reply = pb.GetReportResponse(model_id=request.model_id, path=path, generated_at=to_timestamp(generated))
        if request.include_html:
            html = document.encode()
            if len(html) + reply.ByteSize() + 8 <= PAGE_MAX_BYTES:
                reply.html = html
            else:
                reply.html_omitted = True
        return reply


def _encoded(size: int) -> int:
    """Bytes an embedded message of `size` takes in its parent: a one-byte tag, the varint
    length, the message."""
    return 1 + max(1, (size.bit_length() + 6) // 7) + size


def _fitting(reply: Any, field: str, noun: str) -> Any:
    """The answer when it fits below PAGE_MAX_BYTES, else INVALID_ARGUMENT naming a size that fits.

    Per-account and per-row answers have one entry per requested item and cannot be paged;
    their size depends on the reasons and the model's feature names, so it is measured. The
    suggested count assumes every item is as large as the largest, so it always fits.
    """
    size = reply.ByteSize()
    if size <= PAGE_MAX_BYTES:
        return reply
    items = [_encoded(s.ByteSize()) for s in reply.scores]
    fixed = size - sum(items)
    fits = max(1, (PAGE_MAX_BYTES - fixed) // max(items))
    raise InvalidArgument(
        FieldViolation(
            field,
            f"the answer for {len(items)} {noun} would be {size:,} bytes, above the {PAGE_MAX_BYTES:,}-byte message "
            f"limit; send at most {fits} {noun} per call (or ask for fewer reasons)",
            TOO_MANY,
        )
    )
