"""Fixtures of scoring's tests: a seeded synthetic base and its point-in-time training sets."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from services.scoring.domain import synthetic
from services.scoring.domain.labels import Outcomes, build_training_set, stack_training_sets

TRAIN_MONTHS = (12, 15, 18, 21, 24)
HOLDOUT_MONTH = 27
HORIZON = 3


@dataclass
class Sets:
    """Training and holdout frames of one kind."""

    base: synthetic.SyntheticBase
    outcomes: Outcomes
    train: pd.DataFrame
    holdout: pd.DataFrame


def make_sets(
    base: synthetic.SyntheticBase, kind: str, horizon: int, train_months: tuple[int, ...], holdout: int
) -> Sets:
    """Stacked training cut-offs and a later holdout cut-off, built like the service does."""
    oc = synthetic.outcomes(base)
    train = stack_training_sets(
        [build_training_set(synthetic.features_as_of(base, m), oc, base.cutoff(m), horizon, kind) for m in train_months]
    )
    hold = build_training_set(synthetic.features_as_of(base, holdout), oc, base.cutoff(holdout), horizon, kind)
    return Sets(base, oc, train, hold)


@pytest.fixture(scope="session")
def base() -> synthetic.SyntheticBase:
    return synthetic.generate(4000, months=33, seed=11)


@pytest.fixture(scope="session")
def churn_sets(base: synthetic.SyntheticBase) -> Sets:
    return make_sets(base, "churn", HORIZON, TRAIN_MONTHS, HOLDOUT_MONTH)


@pytest.fixture(scope="session")
def value_sets(base: synthetic.SyntheticBase) -> Sets:
    return make_sets(base, "value", 6, (12, 15, 18), 24)
