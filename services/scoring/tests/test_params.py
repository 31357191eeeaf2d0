"""Training parameters against LightGBM's own ranges, as properties over generated values.

Inside the documented bounds LightGBM itself accepts every combination (a real two-round
fit on a small frame, churn and value); outside them the request is refused before any
job, naming the parameter, with every bad parameter in one answer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scoring.domain.params import (
    CHURN,
    IMBALANCE_OPTIONS,
    LGBM_BOUNDS,
    LOOP_BOUNDS,
    OBJECTIVES,
    VALUE,
    Bound,
    parse_params,
)
from services.scoring.domain.training import _lgb_params
from telco360_runtime.errors import InvalidArgument

ALL_BOUNDS: dict[str, Bound] = {**LGBM_BOUNDS, **LOOP_BOUNDS}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def inside(bound: Bound) -> st.SearchStrategy[str]:
    """Text of a value inside a bound (edges included where the bound includes them)."""
    if bound.integer:
        lo = int(bound.lo) + (1 if bound.lo_open else 0)
        hi = int(bound.hi) - (1 if bound.hi_open else 0)
        return st.integers(lo, hi).map(str)
    values = st.floats(
        bound.lo, bound.hi, exclude_min=bound.lo_open, exclude_max=bound.hi_open, allow_nan=False, allow_infinity=False
    )
    return values.map(repr)


def outside(bound: Bound) -> st.SearchStrategy[str]:
    """Text a bound refuses: below, above, not finite, not ASCII, not a number."""
    lo, hi = bound.lo, bound.hi
    if bound.integer:
        numbers = st.one_of(
            st.integers(max_value=int(lo) - (0 if bound.lo_open else 1)),
            st.integers(min_value=int(hi) + (0 if bound.hi_open else 1)),
        ).map(str)
        odd = st.sampled_from(["1.5", "1e3", "３２", "1_000", "", "0x10", "inf"])
    else:
        numbers = st.one_of(
            st.floats(max_value=lo, exclude_max=not bound.lo_open, allow_nan=False, allow_infinity=False),
            st.floats(min_value=hi, exclude_min=not bound.hi_open, allow_nan=False, allow_infinity=False),
        ).map(repr)
        odd = st.sampled_from(["inf", "-inf", "nan", "Infinity", "０.５", "1,5", "", "abc", "1e999"])
    return st.one_of(numbers, odd)


@st.composite
def good_params(draw: st.DrawFn, kind: str) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(sorted(ALL_BOUNDS)), unique=True, max_size=8))
    params = {name: draw(inside(ALL_BOUNDS[name])) for name in names}
    # Two rounds keep each example quick; the round bound itself is tested through `inside`.
    params["num_boost_round"] = "2"
    params.pop("num_threads", None)
    if draw(st.booleans()):
        params["scale_pos_weight"] = draw(
            st.one_of(st.sampled_from(IMBALANCE_OPTIONS), inside(Bound(False, 0, 1e6, lo_open=True)))
        )
    if kind == VALUE and draw(st.booleans()):
        params["objective"] = draw(st.sampled_from(OBJECTIVES))
    return params


def _frame(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    X[::7, 1] = np.nan
    y = (X[:, 0] + rng.normal(size=120) > 0.8).astype(float) if kind == CHURN else np.abs(X[:, 0] * 1e5 + 5e5)
    return X, y


@pytest.mark.parametrize("kind", [CHURN, VALUE])
@SETTINGS
@given(data=st.data())
def test_every_accepted_parameter_set_trains_in_lightgbm(kind: str, data: st.DataObject) -> None:
    import lightgbm as lgb  # deferred so that collecting the tests does not load LightGBM

    params = parse_params(data.draw(good_params(kind)), kind)
    X, y = _frame(kind)
    train = lgb.Dataset(X, label=y, free_raw_data=False)
    booster = lgb.train(
        {**_lgb_params(kind, params), "num_threads": 1}, train, num_boost_round=int(params.loop["num_boost_round"])
    )
    assert np.all(np.isfinite(booster.predict(X)))


@SETTINGS
@given(data=st.data())
def test_every_value_outside_a_range_is_refused_naming_the_parameter(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(ALL_BOUNDS)))
    value = data.draw(outside(ALL_BOUNDS[name]))
    other = data.draw(st.sampled_from(sorted(set(ALL_BOUNDS) - {name})))
    with pytest.raises(InvalidArgument) as err:
        parse_params({name: value, other: data.draw(outside(ALL_BOUNDS[other]))})
    # Both bad parameters in one answer, nothing else.
    assert {v.field for v in err.value.violations} == {f"parameters[{name}]", f"parameters[{other}]"}
    for v in err.value.violations:
        assert v.reason in ("OUT_OF_RANGE", "NOT_FINITE", "BAD_FORMAT")
        assert "must be" in v.description


def test_the_cases_from_the_issue() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_params({"learning_rate": "inf", "num_leaves": "1", "nonsense": "1", "objective": "huber"}, CHURN)
    by_field = {v.field: v for v in err.value.violations}
    assert by_field["parameters[learning_rate]"].reason == "NOT_FINITE"
    assert by_field["parameters[num_leaves]"].reason == "OUT_OF_RANGE"
    assert "1 < value <= 131072" in by_field["parameters[num_leaves]"].description
    assert by_field["parameters[nonsense]"].reason == "UNKNOWN_PARAMETER"
    assert "binary" in by_field["parameters[objective]"].description
    # A 100 KB value is never echoed whole.
    with pytest.raises(InvalidArgument) as err:
        parse_params({"learning_rate": "9" * 100_000})
    assert len(err.value.violations[0].description) < 200


def test_bounds_match_lightgbm_at_their_edges() -> None:
    """The documented edges are LightGBM's: one step outside, LightGBM itself refuses."""
    import lightgbm as lgb

    X, y = _frame(CHURN)
    for name, bad in (("num_leaves", 1), ("feature_fraction", 0.0), ("bagging_fraction", 1.5), ("max_bin", 1)):
        with pytest.raises(lgb.basic.LightGBMError):
            lgb.train({"objective": "binary", "verbosity": -1, name: bad}, lgb.Dataset(X, label=y), num_boost_round=1)
        with pytest.raises(InvalidArgument):
            parse_params({name: str(bad)})
    assert math.isclose(LGBM_BOUNDS["num_leaves"].hi, 131072)
