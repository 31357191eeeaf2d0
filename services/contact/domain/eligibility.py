"""Offer eligibility and campaign targets, evaluated locally over one account's facts.

The expressions are profile's expression language (libs/telco360_expr, the same parser,
checker and column evaluator profile uses for segments), evaluated here over the
account's current features and tags as profile's Customer360 reports them, with the
live score from scoring laid over profile's recorded score features. No peer call is made
per expression: an expression is parsed and checked once per catalogue generation and
feature schema (`ExpressionCache`), then evaluated in microseconds per account.

Semantics kept identical to profile's QuerySegment:
- three-valued logic; an account matches only when the whole expression is true;
- only ACTIVE accounts match (a `status` other than ACTIVE, or none, never matches):
  both services call telco360_expr.segments, the one membership rule;
- a name the account has no value for is null (absent from profile's feature map).
Value kinds come from the feature schema when known and otherwise from the value itself
(a number, a string or a flag); a missing value is a null of no particular kind, which
every operator treats exactly like a typed null.

An expression that no longer checks against the schema (e.g. an attribute was removed
after the offer was created) is "unknown" for every account, never silently true.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from telco360_expr import CheckedExpression, ExpressionError, ast, check, parse
from telco360_expr.segments import account_matches

Value = float | str | bool
"""A feature value as profile reports it (AttributeValue)."""


@dataclasses.dataclass(frozen=True)
class AccountFacts:
    """What an expression may read about one account."""

    features: Mapping[str, Value]
    """Feature and attribute name -> current value (absent = null)."""
    tags: frozenset[str] = frozenset()
    """Tag ids the account holds now."""


@dataclasses.dataclass(frozen=True)
class Compiled:
    """One expression, parsed (and checked when the schema was known), or why it cannot be."""

    text: str
    tree: ast.Node | None
    error: str = ""


@dataclasses.dataclass(frozen=True)
class ExpressionCheck:
    """Profile's verdict on an expression (its ValidateExpression answer)."""

    valid: bool
    error_position: int = -1
    """0-based position of the first error; -1 when valid."""
    error_message: str = ""
    error_reason: str = ""
    """One of the suite's expression reason codes; empty when valid or not given."""


def compile_expression(text: str, schema: Mapping[str, str] | None) -> Compiled:
    """Parse `text`, and check it against `schema` when one is given (tags allowed)."""
    try:
        if schema is None:
            return Compiled(text, parse(text))
        checked: CheckedExpression = check(text, schema, allow_tags=True)
        return Compiled(text, checked.tree)
    except ExpressionError as error:
        return Compiled(text, None, str(error))


class ExpressionCache:
    """Compiled expressions of one catalogue generation and one schema version.

    Not locked: it is used from the event loop only, and a lost race merely compiles an
    expression twice.
    """

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._compiled: dict[str, Compiled] = {}

    def compiled(
        self, generation: int, schema_version: int, texts: Iterable[str], schema: Mapping[str, str] | None
    ) -> dict[str, Compiled]:
        """The compiled form of each non-empty text; recompiled when generation or schema move."""
        key = (generation, schema_version)
        if key != self._key:
            self._key, self._compiled = key, {}
        for text in texts:
            if text and text not in self._compiled:
                self._compiled[text] = compile_expression(text, schema)
        return self._compiled


def matches(compiled: Compiled, facts: AccountFacts, schema: Mapping[str, str] | None = None) -> bool | None:
    """Whether the account matches (None when the expression cannot be evaluated).

    The membership rule is profile's (telco360_expr.segments): an account whose status is
    not known is not ACTIVE, so it never matches.
    """
    if compiled.tree is None:
        return None
    status = facts.features.get("status")
    return account_matches(compiled.tree, facts.features, facts.tags, None if status is None else str(status), schema)


def evaluate_all(
    compiled: Mapping[str, Compiled],
    texts: Iterable[str],
    facts: AccountFacts | None,
    schema: Mapping[str, str] | None = None,
) -> dict[str, bool | None]:
    """Answers for each non-empty text (None for all when the facts are unknown)."""
    answers: dict[str, bool | None] = {}
    for text in texts:
        if text and text not in answers:
            answers[text] = None if facts is None else matches(compiled[text], facts, schema)
    return answers


def with_live_score(
    facts: AccountFacts, churn_probability: float | None, risk_band_name: str, predicted_value_fen: int | None
) -> AccountFacts:
    """The facts with scoring's live score laid over profile's recorded score features.

    Profile's features carry the score scoring last published to it; the live answer from
    scoring is at least as new, and it is the one the ranking uses, so eligibility reads it
    too. Unknown parts (scoring down) leave profile's values in place.
    """
    overlay: dict[str, Value] = {}
    if churn_probability is not None:
        overlay["churn_probability"] = float(churn_probability)
    if risk_band_name:
        overlay["risk_band"] = risk_band_name
    if predicted_value_fen is not None:
        overlay["predicted_value_fen"] = float(predicted_value_fen)
    if not overlay:
        return facts
    return AccountFacts({**facts.features, **overlay}, facts.tags)
