"""Scoring as a real gRPC server on port 0, talking to a profile peer over a real channel.

Covers the whole contract: TrainModel as a polled job with auto-promotion, the registry,
PromoteModel with an atomic swap under concurrent ScoreCustomers, per-account NOT_FOUND,
reasons that name the account's own features, ScoreFeatures, ScoreAll publishing band
changes to profile, GetReport, TrainFromTable, and errors with field violations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import pathlib
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pandas as pd
import pytest

from services.scoring.app import build_service
from services.scoring.domain import synthetic
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.db import Database, migrate
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.status import field_violations
from telco360_runtime.timeconv import to_timestamp

from .conftest import make_sets
from .profile_peer import SyntheticProfile


@functools.cache
def service_base() -> synthetic.SyntheticBase:
    """The synthetic base behind the profile peer, built on first use (never at collection)."""
    return synthetic.generate(1500, months=33, seed=5)


FAST = {"num_boost_round": "150", "learning_rate": "0.1"}


def cut(m: int):
    return to_timestamp(service_base().cutoff(m).to_pydatetime())


class Env:
    """A running profile peer and scoring server with a stub to scoring."""

    def __init__(self, profile: SyntheticProfile, stub: scoring_pb2_grpc.ScoringServiceStub, db_url: str) -> None:
        self.profile, self.stub, self.db_url = profile, stub, db_url

    async def wait(self, job: common_pb2.Job, timeout: float = 120) -> common_pb2.Job:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            job = await self.stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id))
            if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
                assert job.state == common_pb2.JOB_STATE_SUCCEEDED, job.error_message
                return job
            assert asyncio.get_running_loop().time() < deadline, f"job still {job.state}: {job.message}"
            await asyncio.sleep(0.1)

    async def train_churn(self, params: dict[str, str], rule: int = pb.AUTO_PROMOTE_NEVER) -> str:
        job = await self.stub.TrainModel(
            pb.TrainModelRequest(
                kind=pb.MODEL_KIND_CHURN,
                as_of=[cut(m) for m in (12, 15, 18, 21)],
                holdout_as_of=cut(24),
                horizon_months=3,
                parameters=params,
                auto_promote=rule,
                description="test",
            )
        )
        assert job.kind == "train_model"
        return (await self.wait(job)).result_ref


@pytest.fixture
async def env(tmp_path: pathlib.Path) -> AsyncIterator[Env]:
    profile = SyntheticProfile(service_base())
    peer = GrpcService(
        ServiceSettings(service_name="profile", port=0, grace_seconds=0.5),
        [
            Registration(
                profile_pb2_grpc.add_ProfileServiceServicer_to_server,
                profile,
                profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
            )
        ],
    )
    await peer.start()
    db_url = f"sqlite:///{tmp_path / 'scoring.db'}"
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=4)
    settings = ScoringSettings(
        port=0,
        database_url=db_url,
        profile_addr=peer.address,
        report_dir=str(tmp_path / "reports"),
        champion_refresh_seconds=0,
        grace_seconds=1,
    )
    service = build_service(settings, db)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            yield Env(profile, scoring_pb2_grpc.ScoringServiceStub(channel), db_url)
    finally:
        await service.stop(1)
        db.dispose()
        await peer.stop(0.5)


async def test_train_promote_score_batch_and_report(env: Env) -> None:
    stub = env.stub
    churn_id = await env.train_churn(FAST, pb.AUTO_PROMOTE_IF_BETTER)
    model = await stub.GetModel(pb.GetModelRequest(model_id=churn_id))
    assert model.status == pb.MODEL_STATUS_CHAMPION and "no champion" in model.promotion_note
    m = model.churn_metrics
    assert m.roc_auc > m.baseline_roc_auc > 0.5 and m.calibration and 0 < m.base_rate < 1
    # Bands of this version come from its holdout: HIGH is the top decile, MEDIUM the next 20 %.
    assert 0 < m.band_medium_threshold <= m.band_high_threshold < 1
    assert [b.band for b in m.bands] == [
        common_pb2.RISK_BAND_HIGH,
        common_pb2.RISK_BAND_MEDIUM,
        common_pb2.RISK_BAND_LOW,
    ]
    assert abs(m.bands[0].account_share - 0.10) < 0.03 and m.bands[0].churn_rate > m.base_rate
    assert len(model.lineage.as_of) == 4 and model.lineage.horizon_months == 3
    assert model.lineage.train_rows > 0 and model.lineage.training_seconds > 0 and model.lineage.data_fingerprint
    names = {f.name for f in model.features}
    assert {"complaints_90d", "fee_total_3v3_pct", "industry"} <= names and "status" not in names
    assert next(f for f in model.features if f.name == "industry").type == pb.FEATURE_TYPE_CATEGORICAL

    value_job = await stub.TrainModel(
        pb.TrainModelRequest(
            kind=pb.MODEL_KIND_VALUE, as_of=[cut(6), cut(12)], holdout_as_of=cut(18), horizon_months=6, parameters=FAST
        )
    )
    value_id = (await env.wait(value_job)).result_ref
    value = await stub.PromoteModel(pb.PromoteModelRequest(model_id=value_id))
    assert value.status == pb.MODEL_STATUS_CHAMPION and value.value_metrics.spearman > 0.5

    listing = await stub.ListModels(pb.ListModelsRequest(page=common_pb2.PageRequest(page_size=1)))
    assert listing.page.total_count == 2 and len(listing.models) == 1 and listing.page.next_page_token

    profile_frame = env.profile.frame(service_base().months).set_index("customer_id")
    active = profile_frame[profile_frame["status"] == "ACTIVE"].index[:20].tolist()
    gone = profile_frame[profile_frame["status"] == "TERMINATED"].index[0]
    reply = await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=[*active, "NO-SUCH", gone], top_reasons=3))
    assert [s.customer_id for s in reply.scores] == [*active, "NO-SUCH", gone]
    assert reply.scores[-2].status == pb.SCORE_STATUS_NOT_FOUND
    assert reply.scores[-1].status == pb.SCORE_STATUS_TERMINATED
    for s in reply.scores[:-2]:
        assert s.status == pb.SCORE_STATUS_OK and 0 < s.churn_probability < 1
        assert s.risk_band != common_pb2.RISK_BAND_UNSPECIFIED and s.value_tier != common_pb2.ACCOUNT_TIER_UNSPECIFIED
        assert s.churn_model_id == churn_id and s.value_model_id == value_id and s.predicted_value_fen >= 0
        assert 1 <= len(s.churn_reasons) <= 3
        for r in s.churn_reasons:
            assert r.phrase and r.feature in names
            assert str(profile_frame.loc[s.customer_id, r.feature]) not in ("nan", "None")

    rows = [
        pb.FeatureRow(
            row_id=cid,
            features={
                "complaints_90d": common_pb2.AttributeValue(number_value=4),
                "industry": common_pb2.AttributeValue(string_value="RETAIL"),
                "not_a_feature": common_pb2.AttributeValue(bool_value=True),
            },
        )
        for cid in ("a", "b")
    ]
    scored = await stub.ScoreFeatures(pb.ScoreFeaturesRequest(rows=rows, top_reasons=2))
    assert scored.model_id == churn_id and [s.row_id for s in scored.scores] == ["a", "b"]
    assert scored.ignored_features == ["not_a_feature"] and "fee_total_3v3_pct" in scored.missing_features

    await _columns_score_like_rows(stub, profile_frame.loc[active].reset_index())

    batch = await env.wait(await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400)))
    assert batch.done == len(profile_frame[profile_frame["status"] == "ACTIVE"])
    assert len(env.profile.recorded) == batch.done  # first batch: every band is new
    assert {s.model_version for s in env.profile.recorded} == {"churn:1,value:1"}
    bands = [s.risk_band for s in env.profile.recorded]
    assert bands.count(common_pb2.RISK_BAND_HIGH) > 0 and bands.count(common_pb2.RISK_BAND_MEDIUM) > 0
    assert all(
        (s.risk_band == common_pb2.RISK_BAND_HIGH) == (s.churn_probability >= m.band_high_threshold)
        for s in env.profile.recorded
    )
    stored = await stub.GetStoredScore(pb.GetStoredScoreRequest(customer_id=active[0]))
    assert stored.churn_model_id == churn_id and stored.churn_reasons
    again = await env.wait(await stub.ScoreAll(pb.ScoreAllRequest(batch_size=400)))
    assert len(env.profile.recorded) == batch.done and again.result_ref != batch.result_ref

    report = await stub.GetReport(pb.GetReportRequest(model_id=churn_id, include_html=True))
    html = report.html.decode()
    assert pathlib.Path(report.path).is_file() and html.count("data:image/png;base64,") == 6
    assert "ROC curve" in html or "ROC" in html

    from services.scoring.api.report_cli import main as report_cli

    out = pathlib.Path(report.path).with_name("cli.html")
    assert report_cli([value_id, "--out", str(out), "--database-url", env.db_url]) == 0
    assert out.read_text().count("data:image/png;base64,") == 4


async def test_promotion_swaps_atomically_under_concurrent_scoring(env: Env) -> None:
    stub = env.stub
    a = await env.train_churn({**FAST, "num_leaves": "7"})
    b = await env.train_churn({**FAST, "num_leaves": "63", "learning_rate": "0.03"})
    ids = env.profile.frame(service_base().months).query("status == 'ACTIVE'")["customer_id"].tolist()[:100]
    request = pb.ScoreCustomersRequest(customer_ids=ids, churn_only=True, top_reasons=1)
    reference = {}
    for model_id in (a, b):
        await stub.PromoteModel(pb.PromoteModelRequest(model_id=model_id))
        reference[model_id] = [s.churn_probability for s in (await stub.ScoreCustomers(request)).scores]
    assert reference[a] != reference[b]

    stop = asyncio.Event()
    seen: dict[str, int] = {a: 0, b: 0}

    async def client() -> None:
        while not stop.is_set():
            reply = await stub.ScoreCustomers(request)
            used = {s.churn_model_id for s in reply.scores}
            assert len(used) == 1, f"one response mixed models {used}"
            model_id = used.pop()
            assert [s.churn_probability for s in reply.scores] == reference[model_id]
            seen[model_id] += 1

    async def promoter() -> None:
        for i in range(10):
            await stub.PromoteModel(pb.PromoteModelRequest(model_id=(a, b)[i % 2]))
            await asyncio.sleep(0.02)
        stop.set()

    await asyncio.gather(promoter(), *(client() for _ in range(8)))
    assert seen[a] and seen[b]
    statuses = {m.model_id: m.status for m in (await stub.ListModels(pb.ListModelsRequest())).models}
    assert sorted(statuses.values()) == [pb.MODEL_STATUS_CHAMPION, pb.MODEL_STATUS_RETIRED]


async def test_train_from_table_round_trip(env: Env) -> None:
    sets = make_sets(service_base(), "churn", 3, (12, 15, 18, 21), 24)
    frame = pd.concat([sets.train, sets.holdout], ignore_index=True)
    frame["period"] = frame.pop("as_of").dt.strftime("%Y-%m")
    frame = frame.rename(columns={"label": "churned"})
    buf = io.BytesIO()
    frame.to_csv(buf, index=False)
    job = await env.stub.TrainFromTable(
        pb.TrainFromTableRequest(
            content=buf.getvalue(),
            format=pb.TABLE_FORMAT_CSV,
            id_column="customer_id",
            label_column="churned",
            time_column="period",
            parameters=FAST,
            auto_promote=pb.AUTO_PROMOTE_NEVER,
        )
    )
    model_id = (await env.wait(job)).result_ref
    model = await env.stub.GetModel(pb.GetModelRequest(model_id=model_id))
    assert model.lineage.source == pb.DATA_SOURCE_TABLE and model.lineage.label_column == "churned"
    assert model.status == pb.MODEL_STATUS_READY and model.churn_metrics.roc_auc > 0.7
    row = frame.iloc[0].to_dict()
    features = {
        k: (
            common_pb2.AttributeValue(string_value=v)
            if isinstance(v, str)
            else common_pb2.AttributeValue(number_value=float(v))
        )
        for k, v in row.items()
        if k not in ("customer_id", "churned", "period") and v == v
    }
    scored = await env.stub.ScoreFeatures(
        pb.ScoreFeaturesRequest(model_id=model_id, rows=[pb.FeatureRow(row_id="x", features=features)])
    )
    assert 0 < scored.scores[0].score < 1 and not scored.ignored_features


async def test_bad_requests_name_the_field(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.TrainModel(
            pb.TrainModelRequest(
                kind=pb.MODEL_KIND_CHURN,
                as_of=[cut(24)],
                holdout_as_of=cut(25),
                horizon_months=3,
                parameters={"num_leaves": "-3"},
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in field_violations(err.value)}
    assert fields == {"as_of[0]", "parameters[num_leaves]"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=["A"]))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetModel(pb.GetModelRequest(model_id="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.GetJob(common_pb2.GetJobRequest(job_id="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    future = to_timestamp(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.TrainModel(pb.TrainModelRequest(kind=pb.MODEL_KIND_CHURN, as_of=[cut(12)], holdout_as_of=future))
    assert {v.field for v in field_violations(err.value)} == {"holdout_as_of"}


async def _columns_score_like_rows(stub: scoring_pb2_grpc.ScoringServiceStub, frame: pd.DataFrame) -> None:
    """The same accounts sent as rows and as columns (raw bytes, numbers, categories) score alike."""
    features = [c for c in frame.columns if c not in ("customer_id", "as_of", "status")]

    def cell(v: object) -> common_pb2.AttributeValue | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, str):
            return common_pb2.AttributeValue(string_value=v)
        return common_pb2.AttributeValue(number_value=float(v))

    rows = [
        pb.FeatureRow(row_id=r["customer_id"], features={k: c for k in features if (c := cell(r[k])) is not None})
        for r in frame.to_dict("records")
    ]
    columns = []
    for i, name in enumerate(features):
        col = frame[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            columns.append(pb.FeatureColumn(name=name, categories=["" if pd.isna(v) else str(v) for v in col]))
        elif i % 2:
            columns.append(
                pb.FeatureColumn(name=name, raw_numbers=col.to_numpy(dtype="<f8", na_value=np.nan).tobytes())
            )
        else:
            columns.append(pb.FeatureColumn(name=name, numbers=col.to_numpy(dtype=float, na_value=np.nan).tolist()))
    by_rows = await stub.ScoreFeatures(pb.ScoreFeaturesRequest(rows=rows, top_reasons=3))
    by_cols = await stub.ScoreFeatures(
        pb.ScoreFeaturesRequest(
            columns=pb.FeatureColumns(row_ids=frame["customer_id"].tolist(), columns=columns), top_reasons=3
        )
    )
    assert [s.row_id for s in by_cols.scores] == frame["customer_id"].tolist()
    assert [(s.score, s.risk_band, [r.phrase for r in s.reasons]) for s in by_cols.scores] == [
        (s.score, s.risk_band, [r.phrase for r in s.reasons]) for s in by_rows.scores
    ]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ScoreFeatures(
            pb.ScoreFeaturesRequest(
                columns=pb.FeatureColumns(
                    columns=[
                        pb.FeatureColumn(name="complaints_90d", numbers=[1, 2]),
                        pb.FeatureColumn(name="visits_90d", numbers=[1]),
                    ]
                )
            )
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["columns.columns[1]"]


async def test_server_files_cannot_be_read_through_train_from_table(env: Env) -> None:
    # No import directory configured (the default): server paths are refused outright,
    # before any job starts, and the answer quotes neither the path nor the file.
    for path in ("/proc/self/environ", "../../etc/passwd", "table.csv"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await env.stub.TrainFromTable(
                pb.TrainFromTableRequest(path=path, id_column="customer_id", label_column="churned")
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        [violation] = field_violations(err.value)
        assert (violation.field, violation.reason) == ("path", "NOT_ALLOWED")
        assert path not in (err.value.details() or "") and "environ" not in violation.description
