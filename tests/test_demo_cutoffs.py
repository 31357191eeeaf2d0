"""The demo's training and holdout cut-offs: on the scoring day, with no label overlap."""

from __future__ import annotations

import pandas as pd
import pytest

from services.scoring.domain.labels import window_end, window_months
from telco360_cli.demo.steps_models import cutoffs, scoring_day


@pytest.mark.parametrize("day", [1, 2, 23, 28])
@pytest.mark.parametrize("horizon", [3, 6])
def test_cut_offs_fall_on_the_day_and_training_labels_end_before_the_holdout(day: int, horizon: int) -> None:
    training, holdout = cutoffs("2024-11", "2026-10", horizon, day=day)
    assert len(training) == 4 and all(c.day == day for c in [*training, holdout])
    ho = pd.Timestamp(holdout)
    assert all(window_end(pd.Timestamp(c), horizon) <= ho for c in training)
    # The holdout's label window is the same whatever the day: it ends with the last full months.
    assert window_months(ho, horizon) == window_months(pd.Timestamp(cutoffs("2024-11", "2026-10", horizon)[1]), horizon)


def test_scoring_day_is_capped_at_the_28th() -> None:
    assert scoring_day(pd.Timestamp("2026-11-23", tz="UTC").to_pydatetime()) == 23
    assert scoring_day(pd.Timestamp("2026-01-31", tz="UTC").to_pydatetime()) == 28
