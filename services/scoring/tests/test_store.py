"""Scoring store on SQLite and PostgreSQL: migrations, registry, champions, batch scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from services.scoring.domain.records import StoredScore
from services.scoring.domain.registry import CHAMPION, READY, RETIRED, Holdout, ModelRecord
from services.scoring.store import MIGRATIONS_DIR, ScoringStore
from services.scoring.usecases.context import Context
from services.scoring.usecases.models import ModelUseCases, models_scope
from telco360_runtime.db import Database, migrate
from telco360_runtime.errors import InvalidArgument, NotFound
from telco360_runtime.paging import encode_token
from telco360_runtime.reasons import BAD_FORMAT, OUT_OF_RANGE, STALE

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


@dataclass
class Ask:
    """A page request (what PageRequest offers)."""

    page_size: int = 0
    page_token: str = ""


def models(store: ScoringStore) -> ModelUseCases:
    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    return ModelUseCases(cast(Context, SimpleNamespace(store=store)), run)


def violation(exc: pytest.ExceptionInfo[InvalidArgument]) -> tuple[str, str]:
    (v,) = exc.value.violations
    return v.field, v.reason


async def test_listing_pages_newest_first(store: ScoringStore) -> None:
    for i in range(5):
        store.add_model(record(f"m{i}", minute=i))
    app = models(store)
    page, token, total = await app.list_models("churn", Ask(2))
    assert [r.model_id for r in page] == ["m4", "m3"] and total == 5 and page[0].model_text == ""
    page2, token2, _ = await app.list_models("churn", Ask(2, token))
    page3, token3, _ = await app.list_models("churn", Ask(2, token2))
    assert [r.model_id for r in page2 + page3] == ["m2", "m1", "m0"] and token3 == ""
    assert (await app.list_models("value", Ask()))[2] == 0
    # A page cut short by the reply size resumes after the last item sent.
    rest, _, _ = await app.list_models("churn", Ask(10, app.resume_token("churn", page[0])))
    assert [r.model_id for r in rest] == ["m3", "m2", "m1", "m0"]
    with pytest.raises(InvalidArgument) as bad:
        await app.list_models(None, Ask(2, "garbage!"))
    assert violation(bad) == ("page.page_token", BAD_FORMAT)
    with pytest.raises(InvalidArgument) as bad:
        await app.list_models(None, Ask(2, encode_token(models_scope(None), "not-a-key")))
    assert violation(bad) == ("page.page_token", BAD_FORMAT)


async def test_listing_token_of_another_listing_is_stale_and_sizes_are_not_clamped(store: ScoringStore) -> None:
    for i in range(3):
        store.add_model(record(f"m{i}", minute=i))
    app = models(store)
    _, churn_token, _ = await app.list_models("churn", Ask(1))
    with pytest.raises(InvalidArgument) as bad:
        await app.list_models("value", Ask(1, churn_token))
    assert violation(bad) == ("page.page_token", STALE)
    with pytest.raises(InvalidArgument) as bad:
        await app.list_models(None, Ask(1, churn_token))
    assert violation(bad) == ("page.page_token", STALE)
    for size in (-1, 1001):
        with pytest.raises(InvalidArgument) as bad:
            await app.list_models("churn", Ask(size))
        assert violation(bad) == ("page.page_size", OUT_OF_RANGE)
    assert len((await app.list_models("churn", Ask(1000)))[0]) == 3


async def test_listing_neither_skips_nor_repeats_while_models_are_added(store: ScoringStore) -> None:
    for i in range(6):
        store.add_model(record(f"old{i}", minute=i))
    app = models(store)
    seen: list[str] = []
    token, added = "", 0
    while True:
        page, token, _ = await app.list_models("churn", Ask(2, token))
        seen += [r.model_id for r in page]
        # Newer models (and one with the same time as the last one seen but a larger id) arrive meanwhile.
        store.add_model(record(f"new{added}", minute=100 + added))
        store.add_model(record(f"{page[-1].model_id}z", minute=int((page[-1].created_at - NOW).total_seconds() // 60)))
        added += 1
        if not token:
            break
    assert seen == [f"old{i}" for i in reversed(range(6))]


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


def test_erasure_tombstone_deletes_scores_and_refuses_later_ones(store: ScoringStore) -> None:
    store.start_batch("b1", NOW, "m1", "", NOW)
    store.save_scores("b1", [score("A", "LOW"), score("B", "HIGH")])
    first = store.apply_erasure("A", "er-1", NOW)
    assert (first.removed, first.repeated) == ({"scores": 1, "latest_scores": 1, "outlier_reviews": 0}, False)
    repeat = store.apply_erasure("A", "er-other", NOW + dt.timedelta(hours=1))
    assert (repeat.erasure_id, repeat.erased_at, repeat.removed, repeat.repeated) == ("er-1", NOW, first.removed, True)
    assert store.erased_among(["A", "B", "Z"]) == {"A"}
    # A chunk written after the erasure (a batch that was already running) skips the account.
    store.start_batch("b2", NOW, "m1", "", NOW)
    changes = store.save_scores("b2", [score("A", "HIGH"), score("B", "LOW")])
    assert [c.customer_id for c in changes] == ["B"]
    assert store.batch_counts("b2") == (1, 1)
    assert [cid for cid, _, _ in store.batch_scores("b2")] == ["B"]
    with pytest.raises(NotFound, match="is erased"):
        store.latest_score("A")
    assert store.lift_erasure("A") is True and store.lift_erasure("A") is False
    assert store.erased_among(["A"]) == set()
