"""K-means clusters of the base, profiled in words, with labels stable across runs (domain layer, issue #19).

Feature set (profile's exported features; FEATURES below): spend and its trend, breadth of
products, tenure and billing regularity, service trouble, relationship and payment
behaviour, pipeline and competition. Scores scoring itself publishes (churn, value, CLV)
are left out so the clusters do not feed on their own outputs.

Preparation: money is log1p'd (negative fees count as 0), percentages clipped to
[-100, 300]; missing values take the base's median (a feature missing for the whole base is
left out); then standard scaling (z-scores), clipped to [-5, 5] so a handful of extreme
accounts cannot pull a centre away on their own.

k is the one with the best silhouette over k = 2..8 (at most accounts - 1), measured on a
seeded sample of at most 5,000 accounts; ties go to the smaller k. Every fit uses the
seed, so a fixed seed on the same data gives the same clusters.

Each cluster is profiled by its centroid's z-scores: the (at most three) features that
stand out most (|z| >= 0.5), in words ("high spend, many product lines, few complaints");
a cluster with none is "typical accounts".

Stable labels: the new centroids are matched to the previous run's in the new run's scaled
space (the previous centroids are unscaled with their own scaler and rescaled with the new
one) by minimum total distance (Hungarian method); a pair closer than MATCH_MAX_DISTANCE is
the same cluster and keeps its label, others get fresh numbers never used before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MONEY = ("fee_total_avg_3m", "subscribed_monthly_fee_fen", "open_opportunity_budget_fen")
PERCENT = ("fee_total_3v3_pct",)
PLAIN = (
    "product_lines",
    "active_products",
    "tenure_months",
    "months_billed_12m",
    "complaints_90d",
    "fault_tickets_90d",
    "interactions_365d",
    "satisfaction_index",
    "days_overdue",
    "competitor_count",
)
FEATURES = (*MONEY, *PERCENT, *PLAIN)

#: Words for a feature whose centroid stands out high / low.
WORDS: dict[str, tuple[str, str]] = {
    "fee_total_avg_3m": ("high spend", "low spend"),
    "subscribed_monthly_fee_fen": ("large subscriptions", "small subscriptions"),
    "open_opportunity_budget_fen": ("large open opportunities", "no open opportunities"),
    "fee_total_3v3_pct": ("growing fees", "falling fees"),
    "product_lines": ("many product lines", "few product lines"),
    "active_products": ("many subscriptions", "few subscriptions"),
    "tenure_months": ("long tenure", "new accounts"),
    "months_billed_12m": ("billed every month", "irregular billing"),
    "complaints_90d": ("many complaints", "few complaints"),
    "fault_tickets_90d": ("many fault tickets", "few fault tickets"),
    "interactions_365d": ("close relationship", "little contact"),
    "satisfaction_index": ("satisfied", "dissatisfied"),
    "days_overdue": ("late payers", "pay on time"),
    "competitor_count": ("competitors present", "no competitors"),
}
K_RANGE = range(2, 9)
SAMPLE = 5000
STANDOUT_Z = 0.5
CLIP_Z = 5.0
#: Centres closer than this (Euclidean, z units) across two runs are the same cluster.
MATCH_MAX_DISTANCE = 1.5


@dataclass(frozen=True)
class Scaler:
    """Preparation fitted on the base: features kept, medians, means and scales."""

    features: tuple[str, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def transformed(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """The unscaled prepared matrix (log1p, clipping, median imputation)."""
        out = np.empty((n, len(self.features)))
        for j, name in enumerate(self.features):
            x = _prepared(name, columns.get(name), n)
            out[:, j] = np.where(np.isnan(x), self.medians[j], x)
        return out

    def scale(self, prepared: np.ndarray) -> np.ndarray:
        """Prepared values -> clipped z-scores."""
        return np.clip((prepared - np.array(self.means)) / np.array(self.scales), -CLIP_Z, CLIP_Z)

    def unscale(self, z: np.ndarray) -> np.ndarray:
        """z-scores -> prepared values (for matching centres across runs)."""
        return z * np.array(self.scales) + np.array(self.means)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "medians": list(self.medians),
            "means": list(self.means),
            "scales": list(self.scales),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Scaler:
        return cls(tuple(d["features"]), tuple(d["medians"]), tuple(d["means"]), tuple(d["scales"]))


def _prepared(name: str, column: np.ndarray | None, n: int) -> np.ndarray:
    if column is None:
        return np.full(n, np.nan)
    x = np.asarray(column, dtype=np.float64)
    if name in MONEY:
        return np.log1p(np.clip(x, 0.0, None))
    if name in PERCENT:
        return np.clip(x, -100.0, 300.0)
    return x


def fit_scaler(columns: Mapping[str, np.ndarray], n: int) -> Scaler:
    """Medians, means and scales of the base; features missing for every account are left out."""
    kept, medians, means, scales = [], [], [], []
    for name in FEATURES:
        x = _prepared(name, columns.get(name), n)
        if np.all(np.isnan(x)):
            continue
        med = float(np.nanmedian(x))
        filled = np.where(np.isnan(x), med, x)
        std = float(filled.std())
        kept.append(name)
        medians.append(med)
        means.append(float(filled.mean()))
        scales.append(std if std > 1e-12 else 1.0)  # a constant feature stays at z = 0
    return Scaler(tuple(kept), tuple(medians), tuple(means), tuple(scales))


@dataclass(frozen=True)
class Cluster:
    """One cluster: stable label, words, size and centre (z-scores of the scaler's features)."""

    label: str
    name: str
    size: int
    centroid: tuple[float, ...]
    standouts: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "size": self.size,
            "centroid": list(self.centroid),
            "standouts": [[f, z] for f, z in self.standouts],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Cluster:
        return cls(
            str(d["label"]),
            str(d["name"]),
            int(d["size"]),
            tuple(float(x) for x in d["centroid"]),
            tuple((str(f), float(z)) for f, z in d.get("standouts", [])),
        )


@dataclass(frozen=True)
class ClusterModel:
    """A fitted clustering: scaler, clusters (in label order), k criterion, next fresh label number."""

    scaler: Scaler
    clusters: tuple[Cluster, ...]
    silhouette: float
    silhouettes: dict[int, float] = field(default_factory=dict)
    next_label: int = 1

    @property
    def k(self) -> int:
        return len(self.clusters)

    def assign(self, columns: Mapping[str, np.ndarray], n: int) -> list[tuple[Cluster, float]]:
        """Each account's nearest cluster and its distance to the centre (z units)."""
        if n == 0 or not self.clusters:
            return []
        z = self.scaler.scale(self.scaler.transformed(columns, n))
        centres = np.array([c.centroid for c in self.clusters])
        d = np.sqrt(((z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
        nearest = d.argmin(axis=1)
        return [(self.clusters[int(i)], float(d[row, int(i)])) for row, i in enumerate(nearest)]

    def to_json(self) -> dict[str, Any]:
        return {
            "scaler": self.scaler.to_json(),
            "clusters": [c.to_json() for c in self.clusters],
            "silhouette": self.silhouette,
            "silhouettes": {str(k): v for k, v in self.silhouettes.items()},
            "next_label": self.next_label,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ClusterModel:
        return cls(
            Scaler.from_json(d["scaler"]),
            tuple(Cluster.from_json(c) for c in d["clusters"]),
            float(d["silhouette"]),
            {int(k): float(v) for k, v in d.get("silhouettes", {}).items()},
            int(d.get("next_label", 1)),
        )


def describe(features: Sequence[str], centroid: np.ndarray) -> tuple[str, tuple[tuple[str, float], ...]]:
    """A centre in words: the features that stand out most, strongest first."""
    order = np.argsort(-np.abs(centroid), kind="stable")
    standouts = [(features[j], float(centroid[j])) for j in order[:3] if abs(centroid[j]) >= STANDOUT_Z]
    if not standouts:
        return "typical accounts", ()
    words = [WORDS.get(f, (f"high {f}", f"low {f}"))[0 if z > 0 else 1] for f, z in standouts]
    return ", ".join(words), tuple(standouts)


def _choose_k(z: np.ndarray, seed: int) -> tuple[int, dict[int, float]]:
    from sklearn.cluster import KMeans  # deferred: scikit-learn loads slowly
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    sample = z if len(z) <= SAMPLE else z[rng.choice(len(z), SAMPLE, replace=False)]
    distinct = len(np.unique(sample, axis=0))
    scores: dict[int, float] = {}
    for k in K_RANGE:
        if k >= distinct:
            break
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(sample)
        if len(set(labels.tolist())) < 2:
            continue
        scores[k] = float(silhouette_score(sample, labels))
    if not scores:
        return 1, scores
    best = max(scores.values())
    return min(k for k, s in scores.items() if s >= best - 1e-12), scores


def fit_clusters(
    columns: Mapping[str, np.ndarray], n: int, *, seed: int = 0, previous: ClusterModel | None = None
) -> ClusterModel:
    """Scale, choose k, fit k-means on the whole base, profile each cluster, keep labels of
    clusters that persist from `previous`."""
    from sklearn.cluster import KMeans

    scaler = fit_scaler(columns, n)
    if n == 0 or not scaler.features:
        return ClusterModel(scaler, (), 0.0, {}, previous.next_label if previous else 1)
    z = scaler.scale(scaler.transformed(columns, n))
    k, silhouettes = _choose_k(z, seed)
    if k == 1:
        labels_idx = np.zeros(n, dtype=np.int64)
        centres = z.mean(axis=0, keepdims=True)
    else:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(z)
        labels_idx, centres = km.labels_, km.cluster_centers_
    # A canonical order (largest first, then by centre) so equal fits name clusters alike.
    sizes = np.bincount(labels_idx, minlength=len(centres))
    order = sorted(range(len(centres)), key=lambda i: (-int(sizes[i]), tuple(np.round(centres[i], 9))))
    centres = centres[order]
    sizes = sizes[order]
    names, next_label = _stable_labels(scaler, centres, previous)
    clusters = []
    for i, centre in enumerate(centres):
        words, standouts = describe(scaler.features, centre)
        clusters.append(Cluster(names[i], words, int(sizes[i]), tuple(float(x) for x in centre), standouts))
    clusters.sort(key=lambda c: int(c.label[1:]))
    return ClusterModel(scaler, tuple(clusters), silhouettes.get(k, 0.0), silhouettes, next_label)


def _stable_labels(scaler: Scaler, centres: np.ndarray, previous: ClusterModel | None) -> tuple[list[str], int]:
    """Labels for the new centres: matched previous ones keep theirs, others fresh numbers."""
    next_label = previous.next_label if previous else 1
    names: list[str | None] = [None] * len(centres)
    if previous is not None and previous.clusters:
        from scipy.optimize import linear_sum_assignment

        old = _in_new_space(previous, scaler)
        cost = np.sqrt(((centres[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if cost[r, c] <= MATCH_MAX_DISTANCE:
                names[int(r)] = previous.clusters[int(c)].label
        used = max((int(c.label[1:]) for c in previous.clusters), default=0)
        next_label = max(next_label, used + 1)
    out = []
    for name in names:
        if name is None:
            name = f"c{next_label}"
            next_label += 1
        out.append(name)
    return out, next_label


def _in_new_space(previous: ClusterModel, scaler: Scaler) -> np.ndarray:
    """The previous centres in the new scaler's z-space (features the previous run lacked sit at the new mean)."""
    old = previous.scaler
    prepared = old.unscale(np.array([c.centroid for c in previous.clusters]))
    by_name = {f: j for j, f in enumerate(old.features)}
    cols = []
    for j, f in enumerate(scaler.features):
        cols.append(prepared[:, by_name[f]] if f in by_name else np.full(len(prepared), scaler.means[j]))
    return scaler.scale(np.column_stack(cols))
