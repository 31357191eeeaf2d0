"""`telco360 train --table` / `score --table` / `report` against scoring's real server (issue #17).

A small generated churn table (numbers, a text column, blank cells) is trained on through the
CLI, which no longer promotes unless asked and prints no baseline a table model lacks; the
same table is then scored through `score --table` (the server reads it the way
TrainFromTable does, in parts of MAX_ROWS rows) and every row's score and band must equal
ScoreFeatures' answer for that row, in the table's order, with its id.
"""

from __future__ import annotations

import asyncio
import csv
import pathlib
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from services.scoring.api import converters
from services.scoring.app import build_service
from services.scoring.settings import ScoringSettings
from services.scoring.store import MIGRATIONS_DIR
from services.scoring.usecases import score as score_usecases
from telco360.common.v1 import common_pb2
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_cli.app import app
from telco360_runtime.db import Database, migrate
from telco360_runtime.status import field_violations
from telco360_runtime.testing import free_port

FAST = ("--param", "num_boost_round=60", "--param", "learning_rate=0.1")


@pytest.fixture(autouse=True)
def _wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich folds cells to the terminal's width


def churn_table(rows: int = 700, seed: int = 3) -> pd.DataFrame:
    """Customers with numbers, a text plan (some blank) and a churn label that depends on both."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    fee = rng.normal(300, 80, rows).round(1)
    plan = rng.choice(["basic", "plus", "pro"], rows).astype(object)
    logit = -0.05 * tenure + 0.004 * (fee - 300) + np.where(plan == "basic", 1.0, -0.5)
    churned = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    fee[rng.random(rows) < 0.1] = np.nan  # blank cells: missing values
    plan[rng.random(rows) < 0.1] = None
    return pd.DataFrame(
        {"cust": [f"C{i:05d}" for i in range(rows)], "tenure": tenure, "fee": fee, "plan": plan, "churned": churned}
    )


class Server:
    def __init__(self, address: str, stub: scoring_pb2_grpc.ScoringServiceStub) -> None:
        self.address, self.stub = address, stub

    async def cli(self, *args: str):
        argv = ["--scoring-addr", self.address, "--timeout", "120", *args]
        return await asyncio.to_thread(CliRunner().invoke, app, argv)


@pytest.fixture
async def server(tmp_path: pathlib.Path) -> AsyncIterator[Server]:
    db_url = f"sqlite:///{tmp_path / 'scoring.db'}"
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=4)
    settings = ScoringSettings(
        port=0,
        database_url=db_url,
        profile_addr=f"127.0.0.1:{free_port()}",  # table models need no profile
        report_dir=str(tmp_path / "reports"),
        champion_refresh_seconds=0,
        grace_seconds=1,
    )
    service = build_service(settings, db)
    await service.start()
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            yield Server(service.address, scoring_pb2_grpc.ScoringServiceStub(channel))
    finally:
        await service.stop(1)
        db.dispose()


async def direct_scores(stub: scoring_pb2_grpc.ScoringServiceStub, model_id: str, frame: pd.DataFrame):
    """ScoreFeatures' answer for every row, sent as feature rows (blank cells left out)."""
    rows = []
    for record in frame.to_dict("records"):
        features = {
            k: common_pb2.AttributeValue(string_value=v)
            if isinstance(v, str)
            else common_pb2.AttributeValue(number_value=float(v))
            for k, v in record.items()
            if k not in ("cust", "churned") and not pd.isna(v)
        }
        rows.append(pb.FeatureRow(row_id=record["cust"], features=features))
    reply = await stub.ScoreFeatures(pb.ScoreFeaturesRequest(model_id=model_id, rows=rows))
    return list(reply.scores)


async def test_train_score_table_and_report_round_trip(server: Server, tmp_path: pathlib.Path, monkeypatch) -> None:
    frame = churn_table()
    table = tmp_path / "customers.csv"
    frame.to_csv(table, index=False)

    trained = await server.cli(
        "train", "--table", str(table), "--id-column", "cust", "--label-column", "churned", *FAST
    )
    assert trained.exit_code == 0, trained.output
    assert "ROC-AUC" in trained.output and "baseline" not in trained.output  # a table has no baseline
    model_id = trained.output.split("model ", 1)[1].split()[0]
    model = await server.stub.GetModel(pb.GetModelRequest(model_id=model_id))
    # The CLI's default is the API's: no promotion unless asked.
    assert model.status == pb.MODEL_STATUS_READY, trained.output
    assert not model.churn_metrics.HasField("baseline_roc_auc")
    listed = await server.cli("models", "list")
    assert listed.exit_code == 0 and model_id in listed.output and "baseline" not in listed.output

    # Parts of 128 rows: the table is scored in several ScoreFeatures-sized parts, in order.
    out = tmp_path / "pred" / "scores.csv"
    with monkeypatch.context() as patched:
        patched.setattr(score_usecases, "MAX_ROWS", 128)
        scored = await server.cli(
            "score", "--table", str(table), "--model", model_id, "--id-column", "cust", "--out", str(out)
        )
    assert scored.exit_code == 0, scored.output
    assert f"scored {len(frame):,} rows of customers.csv with {model_id}" in scored.output
    with out.open(encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["cust", "score", "risk_band"]
    expected = await direct_scores(server.stub, model_id, frame)
    assert [r[0] for r in written[1:]] == frame["cust"].tolist()
    assert [float(r[1]) for r in written[1:]] == pytest.approx([s.score for s in expected], rel=1e-9, abs=1e-12)
    bands = {common_pb2.RISK_BAND_LOW: "low", common_pb2.RISK_BAND_MEDIUM: "medium", common_pb2.RISK_BAND_HIGH: "high"}
    assert [r[2] for r in written[1:]] == [bands[s.risk_band] for s in expected]

    # Without an id column the rows keep their order and the output has no id column.
    no_id = tmp_path / "no_id.csv"
    frame.drop(columns=["cust"]).to_csv(no_id, index=False)
    out2 = tmp_path / "no_id_scores.csv"
    plain = await server.cli("score", "--table", str(no_id), "--model", model_id, "--id-column", "", "--out", str(out2))
    assert plain.exit_code == 0, plain.output
    with out2.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["score", "risk_band"] and [r[0] for r in rows[1:]] == [r[1] for r in written[1:]]

    # The champion is used when no model is named; there is none until the table model is promoted.
    none_yet = await server.cli("score", "--table", str(table), "--id-column", "cust", "--out", str(out2))
    assert none_yet.exit_code == 1 and "FAILED_PRECONDITION" in none_yet.output, none_yet.output
    promoted = await server.cli("models", "promote", model_id)
    assert promoted.exit_code == 0, promoted.output
    champion = await server.cli("score", "--table", str(table), "--id-column", "cust", "--out", str(out2))
    assert champion.exit_code == 0 and model_id in champion.output, champion.output

    # GetReport works for a table model.
    report = await server.cli("report", model_id, "--out", str(tmp_path / "reports-out"))
    assert report.exit_code == 0, report.output
    assert (tmp_path / "reports-out" / f"report-{model_id}.html").stat().st_size > 10_000

    # Account ids still score accounts (here profile is down: said in words, not a traceback).
    accounts = await server.cli("score", "KA1")
    assert "Traceback" not in accounts.output and accounts.exit_code == 1, accounts.output


async def test_promote_is_explicit_and_table_errors_name_the_field(server: Server, tmp_path: pathlib.Path) -> None:
    frame = churn_table(rows=400, seed=8)
    table = tmp_path / "t.csv"
    frame.to_csv(table, index=False)
    args = ("train", "--table", str(table), "--id-column", "cust", "--label-column", "churned", *FAST)
    promoted = await server.cli(*args, "--promote", "always")
    assert promoted.exit_code == 0 and "champion" in promoted.output, promoted.output

    missing_id = await server.cli("score", "--table", str(table), "--out", str(tmp_path / "o.csv"))
    assert missing_id.exit_code == 1 and "id_column" in missing_id.output, missing_id.output
    assert (await server.cli("score", "--table", str(table))).exit_code == 2  # --out is required
    assert (await server.cli("score", "KA1", "--table", str(table), "--out", "o.csv")).exit_code == 2

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ScoreTable(pb.ScoreTableRequest(content=b"a,b\n1,2\n", id_column="cust"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(err.value)] == ["format"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.stub.ScoreTable(
            pb.ScoreTableRequest(content=b"a,b\n", format=pb.TABLE_FORMAT_CSV, exclude_columns=["zz"])
        )
    assert [v.field for v in field_violations(err.value)] == ["exclude_columns[0]"]


def test_metrics_carry_a_baseline_only_when_one_was_computed() -> None:
    churn = {"roc_auc": 0.8, "baseline_roc_auc": 0.0, "baseline_lift_top10": 0.0, "baseline_computed": False}
    assert not converters._churn_metrics(churn).HasField("baseline_roc_auc")
    computed = converters._churn_metrics({**churn, "baseline_roc_auc": 0.6, "baseline_computed": True})
    assert computed.baseline_roc_auc == 0.6 and computed.HasField("baseline_lift_top10")
    assert not converters._churn_metrics({"roc_auc": 0.8, "baseline_roc_auc": 0.0}).HasField("baseline_roc_auc")
    value = {"spearman": 0.5, "baseline_spearman": 0.0, "baseline_computed": False}
    assert not converters._value_metrics(value).HasField("baseline_spearman")
    assert converters._value_metrics({**value, "baseline_computed": True}).HasField("baseline_spearman")
