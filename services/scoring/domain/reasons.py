"""Top reasons: per-account LightGBM contributions turned into account-manager phrases.

`Booster.predict(pred_contrib=True)` gives each feature's additive contribution to an
account's raw score (SHAP values for trees). The largest contributions are phrased through
a table of patterns keyed by profile's feature names: "fee_dedicated_line_3v3_pct =
-35" becomes "dedicated-line fee down 35 % over 3 months". Features that match no pattern
fall back to profile's own description of the feature with its value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .contributions import PATH, SHAP, PathTable, path_contributions, path_table, shap_contributions
from .schema import BOOLEAN, CATEGORICAL, FeatureSchema

LINE_NAMES = {
    "voice": "voice",
    "mobile_data": "mobile-data",
    "mobile": "mobile",
    "broadband": "broadband",
    "dedicated_line": "dedicated-line",
    "cloud": "cloud",
    "iot": "IoT",
    "ict_project": "ICT-project",
    "ict": "ICT",
    "total": "total",
}


@dataclass(frozen=True)
class Reason:
    """One reason: the feature, the phrase, its contribution and the account's value."""

    feature: str
    phrase: str
    contribution: float
    value: str


def _num(v: float) -> str:
    """A count or amount without needless decimals."""
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _plural(n: float, word: str) -> str:
    return f"{_num(n)} {word}" + ("" if abs(n - 1) < 1e-9 else "s")


def _line(key: str) -> str:
    return LINE_NAMES.get(key, key.replace("_", " "))


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def _change(m: re.Match[str], v: float) -> str:
    months = m.group("n")
    what = f"{_line(m.group('line'))} fee"
    if abs(v) < 0.5:
        return f"{what} flat over {months} months"
    return f"{what} {'down' if v < 0 else 'up'} {abs(v):.0f} % over {months} months"


def _events(word: str) -> Callable[[re.Match[str], float], str]:
    def fmt(m: re.Match[str], v: float) -> str:
        return f"{_plural(v, word)} in {m.group('n')} days"

    return fmt


def _months_until(what: str) -> Callable[[re.Match[str], float], str]:
    def fmt(m: re.Match[str], v: float) -> str:
        if v < 0:
            return f"{what} ended {_plural(-v, 'month')} ago"
        if v < 1:
            return f"{what} ends this month"
        return f"{what} ends in {_plural(v, 'month')}"

    return fmt


def _fee_level(m: re.Match[str], v: float) -> str:
    line = m.groupdict().get("line") or "total"
    span = m.groupdict().get("span")
    label = "last month" if not span else f"average over {span.rstrip('m')} months"
    return f"{_line(line)} fee {_yuan(v)} ({label})"


def _pct_phrase(what: str, span: str) -> Callable[[re.Match[str], float], str]:
    def fmt(m: re.Match[str], v: float) -> str:
        line = m.groupdict().get("line")
        subject = what.format(line=_line(line) if line else "")
        if abs(v) < 0.5:
            return f"{subject} flat {span}"
        return f"{subject} {'down' if v < 0 else 'up'} {abs(v):.0f} % {span}"

    return fmt


def _slope(m: re.Match[str], v: float) -> str:
    return f"{_line(m.group('line'))} fee {'falling' if v < 0 else 'rising'} {_yuan(abs(v))} a month over 6 months"


def _count(word: str, suffix: str = "") -> Callable[[re.Match[str], float], str]:
    def fmt(m: re.Match[str], v: float) -> str:
        return f"{_plural(v, word)}{suffix}"

    return fmt


# (pattern, formatter) keyed by profile's feature names (services/profile/domain/schema.py).
# First match wins; order from specific to general.
PHRASES: list[tuple[re.Pattern[str], Callable[[re.Match[str], float], str]]] = [
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_3v3_pct$"), _pct_phrase("{line} fee", "over 3 months")),
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_(?:pct_)?change_(?P<n>\d+)m(?:_pct)?$"), _change),
    (
        re.compile(r"^fee_line_min_vs_ref3_pct$"),
        _pct_phrase("a product line's fee", "against its own 3-month reference"),
    ),
    (
        re.compile(r"^fee_(?P<line>[a-z_]+?)_vs_ref3_pct$"),
        _pct_phrase("{line} fee", "against its own 3-month reference"),
    ),
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_mom_pct$"), _pct_phrase("{line} fee", "last month")),
    (re.compile(r"^usage_(?P<line>[a-z_]+?)_mom_pct$"), _pct_phrase("{line} usage", "last month")),
    # Profile keeps usage in each line's billing unit (GB, minutes, connections), not named in the feature.
    (
        re.compile(r"^usage_(?P<line>[a-z_]+?)_last_month$"),
        lambda m, v: f"{_line(m.group('line'))} usage {v:,.0f} billing units last month",
    ),
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_slope_6m$"), _slope),
    (re.compile(r"^complaints?(?:_count)?_(?P<n>\d+)d$"), _events("complaint")),
    (re.compile(r"^fault_tickets?(?:_count)?_(?P<n>\d+)d$"), _events("fault ticket")),
    (re.compile(r"^service_calls?(?:_count)?_(?P<n>\d+)d$"), _events("service call")),
    (re.compile(r"^visits?(?:_count)?_(?P<n>\d+)d$"), _events("account-manager visit")),
    (re.compile(r"^other_interactions_(?P<n>\d+)d$"), _events("call or meeting")),
    (re.compile(r"^interactions?(?:_count)?_(?P<n>\d+)d$"), _events("interaction")),
    (re.compile(r"^surveys_(?P<n>\d+)d$"), _events("satisfaction survey")),
    (re.compile(r"^(?:months_to_)?competitor_contract_end(?:_months)?$"), _months_until("competitor contract")),
    (re.compile(r"^months_to_contract_end$|^contract_months_left$"), _months_until("our framework contract")),
    (
        re.compile(r"^days_since_last_(?P<what>visit|interaction|payment)$"),
        lambda m, v: f"last {m.group('what')} {_plural(v, 'day')} ago",
    ),
    (
        re.compile(r"^competitor_active_approach$"),
        lambda m, v: "a competitor is approaching the account" if v >= 0.5 else "no competitor approach reported",
    ),
    (
        re.compile(r"^competitor_present$"),
        lambda m, v: "competitor seen at the account this year" if v >= 0.5 else "no competitor reported this year",
    ),
    (re.compile(r"^competitor_count$"), _count("competitor", " reported this year")),
    (re.compile(r"^satisfaction(?:_index|_mean\w*)?$"), lambda m, v: f"satisfaction index {v:.1f} of 5"),
    (
        re.compile(r"^days_overdue$"),
        lambda m, v: f"bills overdue up to {_plural(v, 'day')}" if v > 0 else "bills paid on time",
    ),
    (re.compile(r"^months_billed_12m$"), lambda m, v: f"billed in {_num(v)} of the last 12 months"),
    (
        re.compile(r"^fee_reference_months_ago$"),
        lambda m, v: (
            "latest complete bill is last month's" if v <= 1 else f"latest complete bill is {_plural(v, 'month')} old"
        ),
    ),
    (
        re.compile(r"^fee_last_month_missing$"),
        lambda m, v: (
            "no bill for the last closed billing month" if v >= 0.5 else "billed for the last closed billing month"
        ),
    ),
    (re.compile(r"^tenure_months$"), lambda m, v: f"customer for {_plural(v, 'month')}"),
    (re.compile(r"^product_lines$"), _count("product line", " billed last month")),
    (re.compile(r"^active_products$"), _count("subscription", " held")),
    (re.compile(r"^active_contacts$"), _count("active contact")),
    (re.compile(r"^decision_makers$"), _count("decision maker", " known")),
    (
        re.compile(r"^open_opportunities$"),
        lambda m, v: f"{_num(v)} open {'opportunity' if abs(v - 1) < 1e-9 else 'opportunities'}",
    ),
    (re.compile(r"^open_opportunity_budget_fen$"), lambda m, v: f"open opportunities worth {_yuan(v)}"),
    (re.compile(r"^subscribed_monthly_fee_fen$"), lambda m, v: f"subscriptions worth {_yuan(v)} a month"),
    (re.compile(r"^fee_total_ref3$"), lambda m, v: f"usual monthly fee {_yuan(v)}"),
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_(?:last_month|last)(?:_fen)?$"), _fee_level),
    (re.compile(r"^fee_(?P<line>[a-z_]+?)_avg_(?P<span>\d+m)(?:_fen)?$"), _fee_level),
    (
        re.compile(r"^fee_(?P<line>[a-z_]+?)_(?:sum|total)_(?P<span>\d+m)(?:_fen)?$"),
        lambda m, v: f"{_line(m.group('line'))} revenue {_yuan(v)} over {m.group('span').rstrip('m')} months",
    ),
    (re.compile(r"^revenue_cum_share_pct$"), lambda m, v: f"in the top {max(v, 0.1):.1f} % of the base by revenue"),
    (re.compile(r"^is_branch$"), lambda m, v: "a branch of a group customer" if v >= 0.5 else "a top-level account"),
]


#: Prefix of operator-defined attributes in profile's feature names (`attr.<name>`).
ATTRIBUTE_PREFIX = "attr."


def _words(name: str) -> str:
    """A feature name in words: `attr.contract_tier` -> "contract tier"."""
    bare = name[len(ATTRIBUTE_PREFIX) :] if name.startswith(ATTRIBUTE_PREFIX) else name
    return re.sub(r"[_.]+", " ", bare).strip() or name


def feature_label(name: str, description: str) -> str:
    """What a reason calls a feature that has no phrase pattern: always names the feature.

    Profile describes every operator attribute with the same words ("operator attribute"),
    so the description alone said "operator attribute: 555.3" without saying which one; the
    attribute's own name leads instead. Other features use their description (without
    parenthesised units), or the name in words when there is none.
    """
    words = _words(name)
    if name.startswith(ATTRIBUTE_PREFIX):
        return f"{words} (operator attribute)"
    label = re.sub(r"\s*\(.*?\)", "", description or "").rstrip(".").strip()
    if not label or label == name:
        return words
    return label


def _formatter(name: str, schema: FeatureSchema) -> Callable[[float], str]:
    """The phrase function of one feature, resolved once per model (no regex per score)."""
    spec = schema.spec(name)
    label = feature_label(name, spec.description)
    if spec.type == CATEGORICAL:
        cats = spec.categories
        return lambda v: f"{label}: {cats[int(v)] if 0 <= int(v) < len(cats) else 'other'}"
    for pattern, fmt in PHRASES:
        m = pattern.match(name)
        if m:

            def phrase(v: float, m: re.Match[str] = m, fmt: Callable[[re.Match[str], float], str] = fmt) -> str:
                return fmt(m, float(v))

            return phrase
    if spec.type == BOOLEAN:
        return lambda v: f"{label}: {'yes' if v >= 0.5 else 'no'}"
    return lambda v: f"{label}: {_num(float(v))}"


def phrase_for(name: str, value: float, schema: FeatureSchema) -> str:
    """The phrase for one feature value (decoded for categorical and boolean features)."""
    return _formatter(name, schema)(value)


def display_value(name: str, value: float, schema: FeatureSchema) -> str:
    """The account's value of a feature as text (categories decoded)."""
    spec = schema.spec(name)
    if spec.type == CATEGORICAL:
        code = int(value)
        return spec.categories[code] if 0 <= code < len(spec.categories) else "other"
    if spec.type == BOOLEAN:
        return "true" if value >= 0.5 else "false"
    return _num(float(value))


@dataclass(frozen=True)
class Phraser:
    """Per-feature phrase functions of one schema, in column order."""

    names: list[str]
    phrases: list[Callable[[float], str]]
    schema: FeatureSchema

    def reason(self, i: int, value: float, contribution: float) -> Reason:
        """The Reason for feature column i of one account."""
        name = self.names[i]
        return Reason(name, self.phrases[i](value), contribution, display_value(name, value, self.schema))


_PHRASERS: dict[int, Phraser] = {}


def phraser(schema: FeatureSchema) -> Phraser:
    """The schema's Phraser, built on first use (schemas live as long as their model)."""
    cached = _PHRASERS.get(id(schema))
    if cached is None or cached.schema is not schema:
        names = schema.names
        cached = Phraser(names, [_formatter(n, schema) for n in names], schema)
        _PHRASERS[id(schema)] = cached
    return cached


def select_reasons(contrib: np.ndarray, X: np.ndarray, k: int, risk: bool) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the k strongest reasons per row, strongest first, and which are real.

    contrib has one contribution per feature plus the bias last. For churn (`risk`) the
    reasons are the features that raise the risk most; when none raises it, the ones that
    lower it most. For value, the largest contributions by magnitude. Features the account
    has no value for are not reasons (there is nothing to say about them). Vectorised over
    rows: returns (order: rows x k column indices, valid: rows x k booleans).
    """
    c = contrib[:, :-1]
    present = ~np.isnan(X)
    by_size = np.where(present & (c != 0), np.abs(c), -np.inf)
    if risk:
        raising = present & (c > 0)
        key = np.where(raising.any(axis=1, keepdims=True), np.where(raising, c, -np.inf), by_size)
    else:
        key = by_size
    k = min(k, key.shape[1])
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(key, order, axis=1) > -np.inf
    return order, valid


def top_reasons(contrib_row: np.ndarray, x_row: np.ndarray, schema: FeatureSchema, k: int, risk: bool) -> list[Reason]:
    """The k strongest reasons of one row (see select_reasons)."""
    return phrase_rows(contrib_row[None, :], x_row[None, :], schema, k, risk)[0]


def phrase_rows(contrib: np.ndarray, X: np.ndarray, schema: FeatureSchema, k: int, risk: bool) -> list[list[Reason]]:
    """Top-k reasons of every row, phrased (only the chosen k per row are formatted)."""
    if k <= 0 or len(X) == 0:
        return [[] for _ in range(len(X))]
    order, valid = select_reasons(contrib, X, k, risk)
    ph = phraser(schema)
    out: list[list[Reason]] = []
    for r in range(len(X)):
        cols = order[r][valid[r]].tolist()
        out.append([ph.reason(i, float(X[r, i]), float(contrib[r, i])) for i in cols])
    return out


def explain(
    booster: object,
    X: np.ndarray,
    schema: FeatureSchema,
    k: int,
    risk: bool,
    num_iteration: int,
    method: str = SHAP,
    paths: PathTable | None = None,
) -> list[list[Reason]]:
    """Top-k reasons for every row of an encoded matrix (one contributions call per batch)."""
    if k <= 0 or len(X) == 0:
        return [[] for _ in range(len(X))]
    if method == PATH:
        contrib = path_contributions(booster, X, num_iteration, paths or path_table(booster, num_iteration))
    else:
        contrib = shap_contributions(booster, X, num_iteration)
    return phrase_rows(contrib, X, schema, k, risk)
