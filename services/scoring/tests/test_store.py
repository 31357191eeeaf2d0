"""Scoring store on SQLite and PostgreSQL: migrations, registry, champions, batch scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from services.scoring.domain.records import StoredScore
from services.scoring.domain.registry import CHAMPION, READY, RETIRED, Holdout, ModelRecord
from services.scoring.store import MIGRATIONS_DIR, ScoringStore
from telco360_runtime.db import Database, migrate
from telco360_runtime.errors import InvalidArgument, NotFound

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def store(db_url: str):
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=2)
    yield ScoringStore(db)
    db.dispose()


def record(model_id: str, kind: str = "churn", minute: int = 0) -> ModelRecord:
    return ModelRecord(
        model_id=model_id,
        kind=kind,
        version=0,
        status=READY,
        description="d",
        created_at=NOW + dt.timedelta(minutes=minute),
        features=[{"name": "complaints_90d", "type": "numeric", "categories": [], "missing_share": 0.0}],
        importance={"gain": {"complaints_90d": 1.0}, "split": {"complaints_90d": 3}},
        metrics={"roc_auc": 0.8},
        lineage={"source": "profile", "horizon_months": 3},
        best_iteration=7,
        logit_offset=0.5,
        value_boundaries=[],
        model_text="tree\n" * 100,
        holdout=Holdout(np.array([0.0, 1.0]), np.array([0.1, 0.9]), np.array([])).to_bytes(),
    )


def score(cid: str, band: str, at: dt.datetime = NOW) -> StoredScore:
    return StoredScore(
        cid,
        0.5,
        band,
        12345678901,
        "GOLD",
        "m1",
        "",
        at,
        at,
        [{"feature": "complaints_90d", "phrase": "4 complaints in 90 days", "contribution": 0.7, "value": "4"}],
    )


def test_registry_versions_and_promotion(store: ScoringStore) -> None:
    a = store.add_model(record("m1", minute=0))
    b = store.add_model(record("m2", minute=1))
    v = store.add_model(record("v1", kind="value", minute=2))
    assert (a.version, b.version, v.version) == (1, 2, 1)
    got = store.get_model("m1")
    assert got.model_text == "tree\n" * 100 and Holdout.from_bytes(got.holdout).pred.tolist() == [0.1, 0.9]
    assert got.created_at.tzinfo is not None

    assert store.promote("m1", NOW).status == CHAMPION
    assert store.champion_ids() == {"churn": "m1"}
    store.promote("m2", NOW + dt.timedelta(hours=1))
    assert store.champion_ids() == {"churn": "m2"}
    assert store.get_model("m1").status == RETIRED
    assert set(store.champions()) == {"churn"}
    with pytest.raises(NotFound):
        store.promote("nope", NOW)


def test_listing_pages_newest_first(store: ScoringStore) -> None:
    for i in range(5):
        store.add_model(record(f"m{i}", minute=i))
    page, token, total = store.list_models("churn", 2, "")
    assert [r.model_id for r in page] == ["m4", "m3"] and total == 5 and page[0].model_text == ""
    page2, token2, _ = store.list_models("churn", 2, token)
    page3, token3, _ = store.list_models("churn", 2, token2)
    assert [r.model_id for r in page2 + page3] == ["m2", "m1", "m0"] and token3 == ""
    assert store.list_models("value", 0, "")[2] == 0
    with pytest.raises(InvalidArgument):
        store.list_models(None, 2, "garbage!")


def test_batch_scores_report_band_changes(store: ScoringStore) -> None:
    store.start_batch("b1", NOW, "m1", "", NOW)
    first = store.save_scores("b1", [score("A", "LOW"), score("B", "HIGH")])
    assert {(c.customer_id, c.previous_band, c.band) for c in first} == {("A", "", "LOW"), ("B", "", "HIGH")}
    store.finish_batch("b1", NOW)
    later = NOW + dt.timedelta(days=1)
    store.start_batch("b2", later, "m1", "", later)
    second = store.save_scores("b2", [score("A", "LOW", later), score("B", "MEDIUM", later)])
    assert [(c.customer_id, c.previous_band, c.band) for c in second] == [("B", "HIGH", "MEDIUM")]
    assert store.batch_counts("b2") == (2, 1)
    latest = store.latest_score("B")
    assert latest.risk_band == "MEDIUM" and latest.predicted_value_fen == 12345678901
    assert latest.scored_at == later and latest.reasons[0]["feature"] == "complaints_90d"
    with pytest.raises(NotFound):
        store.latest_score("C")
