"""Bad input, failing peers and oversized answers against a real scoring server.

The scoring server and its profile peer run on their own event loop in a background thread
(real gRPC on port 0, real SQLite), so Hypothesis can drive them with a plain blocking
stub: generated training parameters outside LightGBM's ranges answer INVALID_ARGUMENT
naming the parameter before any job exists; inside them the job starts and succeeds.
"""

from __future__ import annotations

import asyncio
import functools
import io
import pathlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scoring.api import servicer
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
from .test_params import ALL_BOUNDS, inside, outside


@functools.cache
def service_base() -> synthetic.SyntheticBase:
    """The synthetic base behind the profile peer, built on first use (never at collection)."""
    return synthetic.generate(600, months=33, seed=21)


QUICK = {"num_boost_round": "20", "learning_rate": "0.2"}
RAW_ERROR_MARKERS = ("AioRpcError", "StatusCode.", "debug_error_string", "Traceback", "KeyError", "LightGBMError", "<")


def cut(m: int) -> Any:
    return to_timestamp(service_base().cutoff(m).to_pydatetime())


class Server:
    """Profile peer + scoring server on a private loop thread, with a blocking stub."""

    def __init__(self, tmp: pathlib.Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="scoring-test-loop", daemon=True)
        self.thread.start()
        self._call(self._start(tmp))
        self.channel = grpc.insecure_channel(self.service.address)
        self.stub = scoring_pb2_grpc.ScoringServiceStub(self.channel)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    async def _start(self, tmp: pathlib.Path) -> None:
        self.profile = SyntheticProfile(service_base())
        self.peer = GrpcService(
            ServiceSettings(service_name="profile", port=0, grace_seconds=0.5),
            [
                Registration(
                    profile_pb2_grpc.add_ProfileServiceServicer_to_server,
                    self.profile,
                    profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
                )
            ],
        )
        await self.peer.start()
        url = f"sqlite:///{tmp / 'scoring.db'}"
        migrate(url, MIGRATIONS_DIR)
        self.db = Database(url, workers=4)
        settings_ = ScoringSettings(
            port=0,
            database_url=url,
            profile_addr=self.peer.address,
            report_dir=str(tmp / "reports"),
            champion_refresh_seconds=0,
            grace_seconds=1,
        )
        self.service = build_service(settings_, self.db)
        await self.service.start()

    async def _stop(self) -> None:
        await self.service.stop(1)
        self.db.dispose()
        await self.peer.stop(0.5)

    def close(self) -> None:
        self.channel.close()
        self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def finished(self, job: common_pb2.Job, timeout: float = 180) -> common_pb2.Job:
        deadline = time.monotonic() + timeout
        while True:
            job = self.stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id))
            if job.state in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
                return job
            assert time.monotonic() < deadline, f"job still {job.state}: {job.message}"
            time.sleep(0.1)

    def succeeded(self, job: common_pb2.Job) -> str:
        done = self.finished(job)
        assert done.state == common_pb2.JOB_STATE_SUCCEEDED, done.error_message
        return done.result_ref


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("scoring-bounds"))
    try:
        yield running
    finally:
        running.close()


def refused(call: Any, request: Any) -> tuple[grpc.StatusCode, list[tuple[str, str]], str]:
    with pytest.raises(grpc.RpcError) as err:
        call(request)
    return err.value.code(), [(v.field, v.reason) for v in field_violations(err.value)], err.value.details()


def churn_request(**params: str) -> pb.TrainModelRequest:
    return pb.TrainModelRequest(
        kind=pb.MODEL_KIND_CHURN,
        as_of=[cut(m) for m in (12, 15, 18)],
        holdout_as_of=cut(21),
        horizon_months=3,
        parameters=params,
    )


def value_request(rule: int, **params: str) -> pb.TrainModelRequest:
    return pb.TrainModelRequest(
        kind=pb.MODEL_KIND_VALUE,
        as_of=[cut(6), cut(12)],
        holdout_as_of=cut(18),
        horizon_months=6,
        parameters={**QUICK, **params},
        auto_promote=rule,
    )


def table_csv(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    sets = make_sets(service_base(), "churn", 3, (12, 15, 18), 21)
    frame = pd.concat([sets.train, sets.holdout], ignore_index=True)
    frame["period"] = frame.pop("as_of").dt.strftime("%Y-%m")
    return frame.rename(columns={"label": "churned"})


@pytest.mark.parametrize(
    "rpc, request_, field",
    [
        ("ListModels", pb.ListModelsRequest(kind=999), "kind"),
        ("ScoreFeatures", pb.ScoreFeaturesRequest(kind=999, rows=[pb.FeatureRow(row_id="a")]), "kind"),
        (
            "TrainFromTable",
            pb.TrainFromTableRequest(
                kind=999, content=b"a,b\n1,0\n", format=pb.TABLE_FORMAT_CSV, id_column="a", label_column="b"
            ),
            "kind",
        ),
        (
            "TrainFromTable",
            pb.TrainFromTableRequest(format=999, content=b"a,b\n1,0\n", id_column="a", label_column="b"),
            "format",
        ),
        (
            "TrainModel",
            pb.TrainModelRequest(kind=pb.MODEL_KIND_CHURN, auto_promote=999, as_of=[cut(12)], holdout_as_of=cut(21)),
            "auto_promote",
        ),
        ("ListModels", pb.ListModelsRequest(page=common_pb2.PageRequest(page_size=-1)), "page.page_size"),
        ("ScoreAll", pb.ScoreAllRequest(batch_size=-5), "batch_size"),
        ("ScoreCustomers", pb.ScoreCustomersRequest(customer_ids=["x" * 100_000]), "customer_ids[0]"),
        (
            "ScoreFeatures",
            pb.ScoreFeaturesRequest(
                rows=[pb.FeatureRow(features={"industry": common_pb2.AttributeValue(string_value="x" * 100_000)})]
            ),
            "rows[0].features[industry].string_value",
        ),
    ],
)
def test_bad_fields_answer_invalid_argument_naming_them(server: Server, rpc: str, request_: Any, field: str) -> None:
    code, fields, details = refused(getattr(server.stub, rpc), request_)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [f for f, _ in fields]
    assert len(details) < 1000


def test_training_request_reports_enum_and_parameters_together(server: Server) -> None:
    request = churn_request(num_leaves="1", learning_rate="inf")
    request.auto_promote = 999
    code, fields, _ = refused(server.stub.TrainModel, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {
        ("auto_promote", "UNKNOWN_ENUM"),
        ("parameters[num_leaves]", "OUT_OF_RANGE"),
        ("parameters[learning_rate]", "NOT_FINITE"),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_parameters_outside_lightgbm_ranges_never_start_a_job(server: Server, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(ALL_BOUNDS)))
    value = data.draw(outside(ALL_BOUNDS[name]))
    code, fields, _ = refused(server.stub.TrainModel, churn_request(**{name: value}))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in fields] == [f"parameters[{name}]"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_parameters_inside_lightgbm_ranges_train(server: Server, data: st.DataObject) -> None:
    # Cheap parameters only (rounds and tree sizes drawn small), so each job ends in seconds.
    cheap = {
        "learning_rate",
        "max_depth",
        "min_data_in_leaf",
        "feature_fraction",
        "bagging_fraction",
        "bagging_freq",
        "lambda_l1",
        "lambda_l2",
        "min_gain_to_split",
        "cat_smooth",
        "cat_l2",
        "seed",
        "validation_fraction",
    }
    names = data.draw(st.lists(st.sampled_from(sorted(cheap)), unique=True, max_size=5))
    params = {n: data.draw(inside(ALL_BOUNDS[n])) for n in names}
    params.update(num_boost_round=str(data.draw(st.integers(1, 10))), num_leaves=str(data.draw(st.integers(2, 64))))
    job = server.stub.TrainModel(churn_request(**params))
    assert job.kind == "train_model"
    model = server.stub.GetModel(pb.GetModelRequest(model_id=server.succeeded(job)))
    assert model.lineage.parameters["num_leaves"] == params["num_leaves"]


def test_table_columns_with_two_roles_are_refused_before_a_job(server: Server) -> None:
    code, fields, _ = refused(
        server.stub.TrainFromTable,
        pb.TrainFromTableRequest(
            content=b"customer_id,x\nA,1\n",
            format=pb.TABLE_FORMAT_CSV,
            id_column="customer_id",
            label_column="customer_id",
            exclude_columns=["customer_id"],
        ),
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert ("label_column", "SAME_COLUMN") in fields and ("exclude_columns[0]", "SAME_COLUMN") in fields


def test_table_job_errors_name_the_problem_not_the_data(server: Server, table: pd.DataFrame) -> None:
    secret = table.rename(columns={"complaints_90d": "SECRET_HEADER_complaints"})
    bad_labels = table.assign(churned=["SECRET_LABEL" if i % 50 == 0 else v for i, v in enumerate(table["churned"])])
    cases = [
        ("label_column", table_csv(secret), "no_such_label"),
        ("label_column", table_csv(bad_labels), "churned"),
        (
            "table",
            table_csv(table.head(30))
            + b"1,2,3,SECRET_ROW_VALUE,4,5,6,7,8,9,10,11,12\n" * 3
            + b",".join([b"x"] * 200)
            + b"\n",
            "churned",
        ),
    ]
    for field, content, label in cases:
        job = server.stub.TrainFromTable(
            pb.TrainFromTableRequest(
                content=content,
                format=pb.TABLE_FORMAT_CSV,
                id_column="customer_id",
                label_column=label,
                parameters=QUICK,
            )
        )
        done = server.finished(job)
        assert done.state == common_pb2.JOB_STATE_FAILED
        assert field in done.error_message, done.error_message
        assert "SECRET" not in done.error_message and "complaints" not in done.error_message, done.error_message
        assert not any(m in done.error_message for m in RAW_ERROR_MARKERS), done.error_message


@pytest.mark.parametrize(
    "code, expected",
    [
        (grpc.StatusCode.INTERNAL, "profile refused the request (INTERNAL)"),
        (grpc.StatusCode.UNAVAILABLE, "profile unavailable"),
    ],
)
def test_profile_failures_become_clean_job_errors(server: Server, code: grpc.StatusCode, expected: str) -> None:
    server.profile.refuse["ExportOutcomes"] = (code, "outcome export failed")
    try:
        done = server.finished(server.stub.TrainModel(churn_request(**QUICK)))
    finally:
        server.profile.refuse.clear()
    assert done.state == common_pb2.JOB_STATE_FAILED
    assert expected in done.error_message, done.error_message
    assert not any(m in done.error_message for m in RAW_ERROR_MARKERS), done.error_message


def test_auto_promotion_never_promotes_a_model_that_loses_to_its_baseline(server: Server) -> None:
    # No split is possible with a leaf minimum above the row count: the model predicts one
    # value for everyone and loses to the trailing-revenue baseline.
    for rule in (pb.AUTO_PROMOTE_IF_BETTER, pb.AUTO_PROMOTE_ALWAYS):
        flat_id = server.succeeded(server.stub.TrainModel(value_request(rule, min_data_in_leaf="1000000000")))
        flat = server.stub.GetModel(pb.GetModelRequest(model_id=flat_id))
        assert flat.value_metrics.spearman < flat.value_metrics.baseline_spearman
        assert flat.status == pb.MODEL_STATUS_READY, flat.promotion_note
        assert "does not beat the baseline" in flat.promotion_note
    listing = server.stub.ListModels(pb.ListModelsRequest(kind=pb.MODEL_KIND_VALUE))
    assert pb.MODEL_STATUS_CHAMPION not in [m.status for m in listing.models]
    # A model that beats the baseline is promoted while there is no champion.
    good = server.stub.GetModel(
        pb.GetModelRequest(model_id=server.succeeded(server.stub.TrainModel(value_request(pb.AUTO_PROMOTE_IF_BETTER))))
    )
    assert good.value_metrics.spearman > good.value_metrics.baseline_spearman
    assert good.status == pb.MODEL_STATUS_CHAMPION and "no champion" in good.promotion_note


def test_answers_stay_below_the_page_limit(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    if len(server.stub.ListModels(pb.ListModelsRequest(kind=pb.MODEL_KIND_VALUE)).models) < 3:
        for _ in range(3):
            server.succeeded(server.stub.TrainModel(value_request(pb.AUTO_PROMOTE_NEVER)))
    everything = server.stub.ListModels(pb.ListModelsRequest(page=common_pb2.PageRequest(page_size=1000)))
    one_model = max(m.ByteSize() for m in everything.models)
    # A limit that holds two models: pages end early and the token resumes after them.
    monkeypatch.setattr(servicer, "PAGE_MAX_BYTES", 2 * one_model + 200)
    seen, token, pages = [], "", 0
    while True:
        page = server.stub.ListModels(
            pb.ListModelsRequest(page=common_pb2.PageRequest(page_size=1000, page_token=token))
        )
        assert page.ByteSize() <= servicer.PAGE_MAX_BYTES + 100 and 1 <= len(page.models) <= 2
        assert page.page.total_count == len(everything.models)
        seen += [m.model_id for m in page.models]
        pages += 1
        token = page.page.next_page_token
        if not token:
            break
    assert seen == [m.model_id for m in everything.models] and pages >= 2

    # Per-row answers cannot be paged: one that would not fit names how many rows do.
    frame = server.profile.frame(service_base().months)
    rows = [
        pb.FeatureRow(row_id=cid, features={"complaints_90d": common_pb2.AttributeValue(number_value=float(n))})
        for cid, n in zip(frame["customer_id"][:200], frame["complaints_90d"][:200], strict=False)
    ]
    model_id = everything.models[0].model_id
    monkeypatch.setattr(servicer, "PAGE_MAX_BYTES", 4000)
    code, fields, details = refused(
        server.stub.ScoreFeatures, pb.ScoreFeaturesRequest(rows=rows, model_id=model_id, top_reasons=3)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fields == [("rows", "TOO_MANY")]
    fits = int(details.split("send at most ")[1].split()[0])
    assert 0 < fits < 200
    reply = server.stub.ScoreFeatures(pb.ScoreFeaturesRequest(rows=rows[:fits], model_id=model_id, top_reasons=3))
    assert len(reply.scores) == fits and reply.ByteSize() <= 4000

    report = server.stub.GetReport(pb.GetReportRequest(model_id=model_id, include_html=True))
    assert report.html_omitted and not report.html and pathlib.Path(report.path).is_file()
