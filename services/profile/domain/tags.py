"""The tag engine: compiled tag rules, evaluation over a batch of accounts, decisions.

A rule is evaluated column-wise over the features of many accounts at once; comparing the
result with what each account holds gives the assignments and removals to record, each
with the rule version and the values of the names the rule reads. For time-dependent
rules the engine also says when an account's tags must next be re-evaluated although no
record arrives (a window expiry, a day counter crossing a threshold, a month turn).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.profile.domain.features import DAY, FeatureResult
from services.profile.domain.schema import time_kind
from telco360_expr import ast
from telco360_expr.checker import CheckedExpression, check
from telco360_expr.errors import ExpressionError
from telco360_expr.vector import evaluate, frame_resolver

TAG_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class TagDefinitionView:
    """One stored version of a definition."""

    tag_id: str
    version: int
    display_name: str
    category: str
    description: str
    expression: str
    enabled: bool
    builtin: bool
    deleted: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class TagRule:
    """One version of a tag definition, compiled."""

    tag_id: str
    version: int
    display_name: str
    category: str
    description: str
    expression: str
    enabled: bool
    builtin: bool
    checked: CheckedExpression

    @property
    def names(self) -> tuple[str, ...]:
        """Names the rule reads."""
        return self.checked.names

    @property
    def time_names(self) -> tuple[str, ...]:
        """Time-dependent names the rule reads."""
        return tuple(n for n in self.checked.names if time_kind(n))

    @property
    def time_dependent(self) -> bool:
        """Whether the rule can change with elapsed time alone."""
        return bool(self.time_names)

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Numeric constants of the rule (candidate day-counter crossings)."""
        return _thresholds(self.checked.tree)


@functools.lru_cache(maxsize=1024)
def _thresholds(tree: ast.Node) -> tuple[float, ...]:
    return tuple(
        sorted({abs(n.value) for n in ast.walk(tree) if isinstance(n, ast.Literal) and isinstance(n.value, float)})
    )


def compile_rule(
    tag_id: str,
    version: int,
    expression: str,
    types: Mapping[str, str],
    *,
    display_name: str = "",
    category: str = "",
    description: str = "",
    enabled: bool = True,
    builtin: bool = False,
) -> TagRule:
    """Validate and compile a rule; raises ExpressionError with the position of the fault."""
    checked = check(expression, types)
    return TagRule(
        tag_id, version, display_name or tag_id, category, description, expression, enabled, builtin, checked
    )


def validate_tag_id(tag_id: str) -> bool:
    """Whether a tag id is lower_snake_case, 1-64 characters."""
    return bool(TAG_ID.match(tag_id or ""))


@dataclass(frozen=True)
class TagDecision:
    """A tag assigned to or removed from an account."""

    customer_id: str
    tag_id: str
    assigned: bool
    rule_version: int
    trigger_values: dict[str, Any]


@dataclass
class Evaluation:
    """Which accounts hold which tags under a set of rules."""

    customer_ids: list[str]
    held: dict[str, list[bool]] = field(default_factory=dict)


def evaluate_rules(rules: Sequence[TagRule], results: Sequence[FeatureResult], types: Mapping[str, str]) -> Evaluation:
    """Evaluate every enabled rule over every account's features."""
    rows: list[Mapping[str, object]] = [r.features for r in results]
    resolver = frame_resolver(rows, types)
    cache: dict[str, Any] = {}

    def cached(name: str) -> Any:
        if name not in cache:
            cache[name] = resolver(name)
        return cache[name]

    out = Evaluation([r.customer_id for r in results])
    for rule in rules:
        if rule.enabled:
            out.held[rule.tag_id] = evaluate(rule.checked.tree, len(rows), cached).tolist()
        else:
            out.held[rule.tag_id] = [False] * len(rows)
    return out


def decide(
    rules: Sequence[TagRule],
    results: Sequence[FeatureResult],
    evaluation: Evaluation,
    holdings: Mapping[str, Mapping[str, int]],
) -> list[TagDecision]:
    """Assignments and removals: compare the evaluation with what each account holds now.

    `holdings` maps customer_id -> {tag_id: rule_version} of tags held now. A tag held under
    an older rule version and still true is kept (no new history entry).
    """
    decisions: list[TagDecision] = []
    by_id = {rule.tag_id: rule for rule in rules}
    for i, result in enumerate(results):
        held_now = holdings.get(result.customer_id, {})
        for tag_id, mask in evaluation.held.items():
            rule = by_id[tag_id]
            holds = mask[i]
            if holds != (tag_id in held_now):
                values = {name: result.features.get(name) for name in rule.names}
                decisions.append(TagDecision(result.customer_id, tag_id, holds, rule.version, values))
    return decisions


def next_expiry(rules: Sequence[TagRule], result: FeatureResult, as_of: dt.datetime) -> dt.datetime | None:
    """When this account's time-dependent rules can next change without a new record."""
    now = as_of.timestamp()
    candidates: list[float] = []
    for rule in rules:
        if not rule.enabled:
            continue
        for name in rule.time_names:
            if time_kind(name) == "days_since":
                anchor = result.anchors.get(name)
                if anchor is None:
                    continue
                for c in rule.thresholds:
                    for k in (math.floor(c), math.floor(c) + 1):
                        t = anchor + k * DAY
                        if t > now:
                            candidates.append(t)
            elif name in result.next_change:
                candidates.append(result.next_change[name])
    future = [c for c in candidates if c > now]
    if not future:
        return None
    return dt.datetime.fromtimestamp(min(future), dt.UTC)


__all__ = [
    "TagRule",
    "TagDecision",
    "Evaluation",
    "compile_rule",
    "evaluate_rules",
    "decide",
    "next_expiry",
    "validate_tag_id",
    "ExpressionError",
]
