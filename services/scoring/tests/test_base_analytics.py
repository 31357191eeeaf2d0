"""Base analytics domain (issue #19): RFM quintiles and segments, k-means clusters in words with
stable labels, and outlier reviews applied by a run, without gRPC or a store."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain import analytics as domain_analytics
from services.scoring.domain.analytics import (
    CONFIRM,
    DISMISS,
    AccountAnalytics,
    Review,
    ScoreInputs,
    assign,
    dismissed_codes,
    fit_run,
)
from services.scoring.domain.clusters import FEATURES, ClusterModel, fit_clusters
from services.scoring.domain.lifetime import LifetimeSettings
from services.scoring.domain.rfm import GRID, SEGMENTS, Quintiles, fit_quintiles, raw_values, segment

NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


# -- RFM --------------------------------------------------------------------------------


def test_quintiles_of_ten_distinct_values_by_hand() -> None:
    # Mid-rank of value i among 1..10 is (i - 0.5) / 10: 0.05, 0.15 -> 1; 0.25, 0.35 -> 2; ...
    q = fit_quintiles(np.arange(1.0, 11.0))
    assert q.thresholds == (3.0, 5.0, 7.0, 9.0)
    assert q.scores(np.arange(1.0, 11.0)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Later accounts against the run's thresholds: between base values the lower score.
    assert [q.score(v) for v in (0.0, 2.9, 3.0, 8.5, 100.0)] == [1, 1, 2, 4, 5]


def test_recency_fewer_days_scores_higher() -> None:
    q = fit_quintiles(np.arange(1.0, 11.0), higher_is_better=False)
    assert q.thresholds == (8.0, 6.0, 4.0, 2.0)
    assert q.scores(np.arange(1.0, 11.0)).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert q.score(math.nan) == 1


def test_ties_share_the_score_of_their_mid_rank() -> None:
    # 6 of 10 accounts without revenue: mid-rank 0.3 -> score 2; 100 (0.65) -> 4; 200 (0.75) -> 4;
    # 300 (0.85) and 400 (0.95) -> 5. No value reaches 3 alone, so its threshold is the next one.
    values = np.array([0, 0, 0, 0, 0, 0, 100, 200, 300, 400], dtype=float)
    q = fit_quintiles(values)
    assert q.scores(values).tolist() == [2] * 6 + [4, 4, 5, 5]
    assert q.thresholds == (0.0, 100.0, 100.0, 300.0)
    # Almost everyone billed all 12 months: the block sits in the middle, the rest below.
    months = np.array([12.0] * 9 + [6.0])
    assert fit_quintiles(months).scores(months).tolist() == [3] * 9 + [1]


def test_thresholds_survive_json() -> None:
    q = fit_quintiles(np.array([1.0, 1.0, 1.0]))
    again = Quintiles.from_json(json.loads(json.dumps(q.to_json())))
    assert again == q and again.score(1.0) == q.score(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=200),
    st.booleans(),
)
def test_scores_are_1_to_5_and_monotone(values: list[float], higher: bool) -> None:
    arr = np.array(values)
    q = fit_quintiles(arr, higher_is_better=higher)
    order = np.argsort(arr if higher else -arr, kind="stable")
    scores = q.scores(arr[order])
    assert set(scores.tolist()) <= {1, 2, 3, 4, 5}
    assert all(a <= b for a, b in zip(scores, scores[1:], strict=False))  # better value, no lower score
    # Equal values score alike, and the fit's scores are what the kept thresholds answer.
    for v in set(values):
        assert len({q.score(x) for x in values if x == v}) == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=5, max_size=100, unique=True))
def test_distinct_values_fill_every_quintile_roughly_equally(values: list[float]) -> None:
    scores = fit_quintiles(np.array(values)).scores(np.array(values))
    counts = np.bincount(scores, minlength=6)[1:]
    assert counts.max() - counts.min() <= 1 + len(values) // 50


def test_segment_grid_by_hand() -> None:
    assert segment(5, 5, 5) == "champions"
    assert segment(5, 1, 1) == "new"
    assert segment(4, 1, 1) == "promising"
    assert segment(4, 4, 4) == "loyal"
    assert segment(3, 3, 3) == "need_attention"
    assert segment(3, 1, 2) == "about_to_sleep"  # FM = round-half-up(1.5) = 2
    assert segment(1, 5, 5) == "cannot_lose"
    assert segment(2, 4, 3) == "at_risk"  # FM = 3.5 -> 4
    assert segment(2, 1, 1) == "hibernating"
    assert segment(1, 1, 2) == "lost"
    # Every cell of the grid names a known segment and every segment appears.
    cells = {c for row in GRID for c in row}
    assert cells == set(SEGMENTS)


def test_raw_values_take_the_latest_activity_and_zero_for_no_fee() -> None:
    cols = {
        "days_since_last_payment": np.array([10.0, np.nan, np.nan]),
        "days_since_last_interaction": np.array([3.0, 40.0, np.nan]),
        "fee_total_sum_12m": np.array([5.0, np.nan, 1.0]),
    }
    v = raw_values(cols, 3)
    assert v.recency_days[:2].tolist() == [3.0, 40.0] and math.isnan(v.recency_days[2])
    assert v.frequency.tolist() == [0.0, 0.0, 0.0]
    assert v.monetary_fen.tolist() == [5.0, 0.0, 1.0]


# -- clusters ---------------------------------------------------------------------------


def planted(n: int, groups: int, seed: int) -> dict[str, np.ndarray]:
    """Columns with `groups` well separated groups of accounts: group g spends more, holds more
    product lines and complains less the larger g; every other feature is the same for all."""
    rng = np.random.default_rng(seed)
    g = np.arange(n) % groups
    cols = {f: np.ones(n) for f in FEATURES}
    cols["fee_total_avg_3m"] = np.exp(10.0 + g * 2.0 + rng.normal(0, 0.2, n))  # money: log1p'd by the fit
    cols["product_lines"] = rng.normal(g * 4.0, 1.0)
    cols["complaints_90d"] = rng.normal(-g * 4.0, 1.0)
    return cols


def test_clustering_is_reproducible_for_a_fixed_seed_and_finds_the_groups() -> None:
    cols = planted(900, 3, seed=1)
    a = fit_clusters(cols, 900, seed=7)
    b = fit_clusters(cols, 900, seed=7)
    assert a.to_json() == b.to_json()
    assert a.k == 3 and a.silhouette == max(a.silhouettes.values())
    assert sorted(c.size for c in a.clusters) == [300, 300, 300]
    assert [c.label for c in a.clusters] == ["c1", "c2", "c3"]
    # Assignments agree with the fit's sizes.
    assigned = a.assign(cols, 900)
    sizes: dict[str, int] = {}
    for cluster, distance in assigned:
        sizes[cluster.label] = sizes.get(cluster.label, 0) + 1
        assert distance >= 0
    assert sizes == {c.label: c.size for c in a.clusters}


def test_each_cluster_is_profiled_in_words() -> None:
    model = fit_clusters(planted(900, 3, seed=2), 900, seed=0)
    names = {c.name for c in model.clusters}
    top = max(model.clusters, key=lambda c: dict(c.standouts).get("fee_total_avg_3m", -99))
    assert set(top.name.split(", ")) == {"high spend", "many product lines", "few complaints"}
    low = min(model.clusters, key=lambda c: dict(c.standouts).get("fee_total_avg_3m", 99))
    assert set(low.name.split(", ")) == {"low spend", "few product lines", "many complaints"}
    # The middle group stands out in nothing: it is the typical account.
    assert len(names) == 3 and "typical accounts" in names
    for c in model.clusters:
        assert len(c.standouts) <= 3
        assert all(abs(z) >= 0.5 for _, z in c.standouts)
        assert c.standouts == tuple(sorted(c.standouts, key=lambda fz: -abs(fz[1])))  # strongest first


def test_labels_stay_when_run_again_on_the_same_or_perturbed_data() -> None:
    cols = planted(900, 3, seed=3)
    first = fit_clusters(cols, 900, seed=0)
    again = fit_clusters(cols, 900, seed=1, previous=first)
    rng = np.random.default_rng(9)
    # A month of ordinary drift: fees move by a few percent, counts by a twentieth of their spread.
    moved = {k: v + rng.normal(0, 0.05 * v.std() + 1e-300, len(v)) for k, v in cols.items()}
    moved["fee_total_avg_3m"] = cols["fee_total_avg_3m"] * (1 + rng.normal(0, 0.03, 900))
    perturbed = fit_clusters(moved, 900, seed=0, previous=again)
    for later in (again, perturbed):
        by_label = {c.label: c for c in later.clusters}
        assert set(by_label) == {"c1", "c2", "c3"}
        for c in first.clusters:
            assert set(by_label[c.label].name.split(", ")) == set(c.name.split(", "))  # order may swap near ties
    # Each account keeps its label.
    before = [c.label for c, _ in first.assign(cols, 900)]
    after = [c.label for c, _ in perturbed.assign(moved, 900)]
    assert np.mean(np.array(before) == np.array(after)) > 0.99


def test_a_new_cluster_gets_a_fresh_label_and_a_vanished_one_is_not_reused() -> None:
    three = fit_clusters(planted(900, 3, seed=4), 900, seed=0)
    four = fit_clusters(planted(1200, 4, seed=4), 1200, seed=0, previous=three)
    labels = sorted(c.label for c in four.clusters)
    assert four.k == 4 and labels == ["c1", "c2", "c3", "c4"]
    # Back to the first three groups: c4 vanished, and a later new group gets c5, not c4.
    back = fit_clusters(planted(900, 3, seed=4), 900, seed=0, previous=four)
    assert sorted(c.label for c in back.clusters) == ["c1", "c2", "c3"]
    shifted = planted(1200, 4, seed=4)
    shifted["days_overdue"] = np.where(np.arange(1200) % 4 == 3, 60.0, 0.0)  # group 4 now also pays late
    fresh = fit_clusters(shifted, 1200, seed=0, previous=back)
    assert "c5" in {c.label for c in fresh.clusters} and "c4" not in {c.label for c in fresh.clusters}


def test_cluster_model_survives_json() -> None:
    model = fit_clusters(planted(300, 2, seed=5), 300, seed=0)
    again = ClusterModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.to_json() == model.to_json()


# -- runs, outliers and reviews ---------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    customer_id: str
    score: float
    flagged: bool
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]


class RuleDetector:
    """A stand-in with the OutlierDetector interface: arrears and usage-surge rules."""

    FEATURES = ("days_overdue", "fee_total_3v3_pct")

    @classmethod
    def fit(cls, customer_ids: Sequence[str], columns: Mapping[str, np.ndarray], *, seed: int = 0) -> RuleDetector:
        return cls()

    def assess(self, customer_ids: Sequence[str], columns: Mapping[str, np.ndarray]) -> list[Finding]:
        out = []
        for i, cid in enumerate(customer_ids):
            codes, words = [], []
            if columns["days_overdue"][i] > 30:
                codes.append("arrears")
                words.append(f"bills {columns['days_overdue'][i]:.0f} days overdue")
            if columns["fee_total_3v3_pct"][i] > 200:
                codes.append("usage_surge")
                words.append(f"fees up {columns['fee_total_3v3_pct'][i]:.0f}%")
            out.append(Finding(cid, 0.9 if codes else 0.1, bool(codes), tuple(words), tuple(codes)))
        return out

    def to_bytes(self) -> bytes:
        return b"rules"

    @classmethod
    def from_bytes(cls, b: bytes) -> RuleDetector:
        assert b == b"rules"
        return cls()


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain_analytics, "detector_class", lambda: RuleDetector)


def base_columns(n: int = 60) -> dict[str, np.ndarray]:
    cols = planted(n, 2, seed=6)
    cols["days_overdue"] = np.zeros(n)
    cols["days_overdue"][0] = 60
    cols["fee_total_3v3_pct"] = np.zeros(n)
    cols["fee_total_sum_12m"] = np.arange(n, dtype=float) * 1000
    cols["months_billed_12m"] = np.full(n, 12.0)
    cols["days_since_last_interaction"] = np.arange(n, dtype=float)
    return cols


def ids(n: int = 60) -> list[str]:
    return [f"KA{i:04d}" for i in range(n)]


def scores(n: int = 60) -> dict[str, ScoreInputs]:
    return {cid: ScoreInputs(0.1, 3, 1_200_000.0 + i, 12) for i, cid in enumerate(ids(n))}


def test_a_run_assigns_every_part_and_round_trips(rules: None) -> None:
    run, accounts = fit_run("run-1", NOW, ids(), base_columns(), scores(), lifetime=LifetimeSettings())
    assert run.accounts == 60 and run.flagged == 1 and run.outlier_model == b"rules"
    assert sum(run.segment_counts.values()) == 60
    first = accounts[0]
    assert first.outlier is not None and first.outlier.flagged and first.outlier.reason_codes == ("arrears",)
    assert first.rfm is not None and first.rfm.recency == 5 and first.rfm.monetary == 1
    # The one account 60 days overdue is unlike any other: a cluster of its own, named for it.
    assert first.cluster is not None and first.cluster.name.startswith("late payers")
    assert first.lifetime is not None and first.lifetime.tier in {"top", "high", "medium", "low"}
    assert {a.lifetime.tier for a in accounts if a.lifetime} == {"top", "high", "medium", "low"}
    again = AccountAnalytics.from_json(first.customer_id, json.loads(json.dumps(first.to_json())))
    assert again == first
    # One account scored later against the run gives what the run gave it.
    later = assign(run, ids()[:1], {k: v[:1] for k, v in base_columns().items()}, scores(), LifetimeSettings(), {})
    assert later[0].rfm == first.rfm and later[0].cluster == first.cluster and later[0].outlier == first.outlier


def review(decision: str, codes: tuple[str, ...], minutes: int) -> Review:
    return Review("KA0000", decision, codes, "ana (analyst)", NOW + dt.timedelta(minutes=minutes))


def test_a_dismissal_is_remembered_until_a_new_reason_appears(rules: None) -> None:
    cols = base_columns()
    dismissed = {"KA0000": [review(DISMISS, ("arrears",), 1)]}
    run, accounts = fit_run("run-2", NOW, ids(), cols, scores(), reviews=dismissed)
    o = accounts[0].outlier
    assert o is not None and not o.flagged and o.dismissed and o.detected
    assert run.flagged == 0
    # A new reason (usage surge) flags the account again.
    cols["fee_total_3v3_pct"][0] = 640
    _, accounts = fit_run("run-3", NOW, ids(), cols, scores(), reviews=dismissed)
    o = accounts[0].outlier
    assert o is not None and o.flagged and not o.dismissed and o.reason_codes == ("arrears", "usage_surge")


def test_dismissed_codes_follow_the_latest_confirm() -> None:
    assert dismissed_codes([]) is None
    assert dismissed_codes([review(DISMISS, ("a",), 1), review(DISMISS, ("b",), 2)]) == {"a", "b"}
    assert dismissed_codes([review(DISMISS, ("a",), 1), review(CONFIRM, ("a",), 2)]) is None
    assert dismissed_codes([review(CONFIRM, ("a",), 1), review(DISMISS, ("b",), 2)]) == {"b"}


def test_without_a_detector_the_outlier_part_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain_analytics, "detector_class", lambda: None)
    run, accounts = fit_run("run-4", NOW, ids(), base_columns(), {})
    assert run.outlier_model == b"" and run.clv is None
    assert all(a.outlier is None and a.lifetime is None and a.rfm is not None for a in accounts)


def test_the_real_detector_in_a_run_and_a_dismissal_across_runs() -> None:
    # The service's own detector (domain/outliers.py) over a synthetic base, through two runs.
    from services.scoring.domain import synthetic

    frame = synthetic.features_as_of(synthetic.generate(600, months=30, seed=3), 30)
    frame = frame[frame["status"] == "ACTIVE"]
    cids = frame["customer_id"].tolist()
    cols = {c: frame[c].to_numpy(dtype=float) for c in frame.columns if frame[c].dtype.kind in "fiub"}
    run, accounts = fit_run("run-a", NOW, cids, cols, {}, seed=0)
    flagged = [a for a in accounts if a.outlier and a.outlier.flagged]
    assert run.outlier_model and 0 < run.flagged == len(flagged) < len(cids) // 5
    first = flagged[0]
    assert first.outlier is not None and first.outlier.reasons and first.outlier.reason_codes
    gone = {first.customer_id: [Review(first.customer_id, DISMISS, first.outlier.reason_codes, "ana", NOW)]}
    again, later = fit_run("run-b", NOW, cids, cols, {}, seed=0, previous=run, reviews=gone)
    by_id = {a.customer_id: a for a in later}
    assert by_id[first.customer_id].outlier == replace(first.outlier, flagged=False, dismissed=True)
    assert again.flagged == run.flagged - 1
    assert [c.label for c in again.clusters.clusters] == [c.label for c in run.clusters.clusters]
