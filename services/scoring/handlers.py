"""gRPC servicer of the scoring service: protobuf <-> domain conversion only."""

from __future__ import annotations

from typing import Any

from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.jobs import JobStore
from telco360_runtime.proto_jobs import job_to_proto
from telco360_runtime.timeconv import to_timestamp

from . import converters as cv
from .domain.usecases import ScoringApp


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    """Every ScoringService rpc, delegating to the use cases."""

    def __init__(self, app: ScoringApp, jobs: JobStore, db_run: Any) -> None:
        self.app = app
        self.jobs = jobs
        self._run = db_run

    async def _job(self, job_id: str) -> common_pb2.Job:
        return job_to_proto(await self._run(self.jobs.get, job_id))

    async def TrainModel(self, request: pb.TrainModelRequest, context: Any) -> common_pb2.Job:
        return await self._job(await self.app.train_model(cv.train_request(request)))

    async def TrainFromTable(self, request: pb.TrainFromTableRequest, context: Any) -> common_pb2.Job:
        return await self._job(await self.app.train_from_table(cv.table_request(request)))

    async def GetJob(self, request: common_pb2.GetJobRequest, context: Any) -> common_pb2.Job:
        return await self._job(request.job_id)

    async def ListModels(self, request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:
        records, token, total = await self.app.list_models(cv.KIND_FROM_PB.get(request.kind), request.page.page_size,
                                                           request.page.page_token)
        return pb.ListModelsResponse(models=[cv.model_to_pb(r, with_importance=False) for r in records],
                                     page=common_pb2.PageResponse(next_page_token=token, total_count=total))

    async def GetModel(self, request: pb.GetModelRequest, context: Any) -> pb.Model:
        return cv.model_to_pb(await self.app.get_model(request.model_id))

    async def PromoteModel(self, request: pb.PromoteModelRequest, context: Any) -> pb.Model:
        return cv.model_to_pb(await self.app.promote(request.model_id))

    async def ScoreCustomers(self, request: pb.ScoreCustomersRequest, context: Any) -> pb.ScoreCustomersResponse:
        results = await self.app.score_customers(list(request.customer_ids), request.top_reasons, request.churn_only)
        return pb.ScoreCustomersResponse(scores=[cv.account_to_pb(r) for r in results])

    async def ScoreFeatures(self, request: pb.ScoreFeaturesRequest, context: Any) -> pb.ScoreFeaturesResponse:
        column_ids, columns = cv.feature_columns(request)
        ids, rows = cv.feature_rows(request.rows)
        result = await self.app.score_features(rows, request.model_id, cv.KIND_FROM_PB.get(request.kind, "churn"),
                                               request.top_reasons, columns)
        ids = column_ids if columns is not None else ids
        return cv.feature_scores_to_pb(ids, result)

    async def ScoreAll(self, request: pb.ScoreAllRequest, context: Any) -> common_pb2.Job:
        job_id = await self.app.score_all(cv.optional_time(request.as_of), request.skip_publish, request.batch_size)
        return await self._job(job_id)

    async def GetStoredScore(self, request: pb.GetStoredScoreRequest, context: Any) -> pb.AccountScore:
        return cv.stored_to_pb(await self.app.stored_score(request.customer_id))

    async def GetReport(self, request: pb.GetReportRequest, context: Any) -> pb.GetReportResponse:
        path, document, generated = await self.app.report(request.model_id)
        return pb.GetReportResponse(model_id=request.model_id, path=path,
                                    html=document.encode() if request.include_html else b"",
                                    generated_at=to_timestamp(generated))
