"""Training parameters: defaults, parsing of the request's string map, validation.

The request carries parameters as strings (protobuf map<string, string>); this module turns
them into typed values, rejects unknown names and bad values with field violations, and
splits them into LightGBM's own parameters and the training loop's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from telco360_runtime.errors import FieldViolation, InvalidArgument

CHURN = "churn"
VALUE = "value"


def _positive_float(v: str) -> float:
    x = float(v)
    if not x > 0:
        raise ValueError("must be > 0")
    return x


def _fraction(v: str) -> float:
    x = float(v)
    if not 0.0 < x < 1.0:
        raise ValueError("must be between 0 and 1 (exclusive)")
    return x


def _unit_fraction(v: str) -> float:
    x = float(v)
    if not 0.0 < x <= 1.0:
        raise ValueError("must be in (0, 1]")
    return x


def _non_negative_float(v: str) -> float:
    x = float(v)
    if x < 0:
        raise ValueError("must be >= 0")
    return x


def _positive_int(v: str) -> int:
    x = int(v)
    if x <= 0:
        raise ValueError("must be a positive integer")
    return x


def _non_negative_int(v: str) -> int:
    x = int(v)
    if x < 0:
        raise ValueError("must be >= 0")
    return x


def _any_int(v: str) -> int:
    return int(v)


def _imbalance(v: str) -> str | float:
    if v in ("auto", "none", "sqrt"):
        return v
    return _positive_float(v)


def _objective(v: str) -> str:
    allowed = {"regression", "regression_l1", "huber", "tweedie", "poisson"}
    if v not in allowed:
        raise ValueError(f"must be one of {sorted(allowed)}")
    return v


# Name -> parser. LightGBM parameters pass through to lgb.train; the rest steer the loop.
LGBM_PARAMS: dict[str, Callable[[str], Any]] = {
    "learning_rate": _positive_float,
    "num_leaves": _positive_int,
    "max_depth": _any_int,
    "min_data_in_leaf": _positive_int,
    "min_sum_hessian_in_leaf": _non_negative_float,
    "feature_fraction": _unit_fraction,
    "bagging_fraction": _unit_fraction,
    "bagging_freq": _non_negative_int,
    "lambda_l1": _non_negative_float,
    "lambda_l2": _non_negative_float,
    "min_gain_to_split": _non_negative_float,
    "max_bin": _positive_int,
    "max_cat_to_onehot": _positive_int,
    "cat_smooth": _non_negative_float,
    "cat_l2": _non_negative_float,
    "num_threads": _non_negative_int,
    "seed": _any_int,
    "objective": _objective,
}
LOOP_PARAMS: dict[str, Callable[[str], Any]] = {
    "num_boost_round": _positive_int,
    "early_stopping_rounds": _positive_int,
    "validation_fraction": _fraction,
    "scale_pos_weight": _imbalance,
}

DEFAULT_LGBM: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 8,
    "seed": 17,
    "num_threads": 0,
}
DEFAULT_LOOP: dict[str, Any] = {
    "num_boost_round": 600,
    "early_stopping_rounds": 40,
    "validation_fraction": 0.2,
    # Positive-class weight: "sqrt" = sqrt(negatives / positives), "auto" = the full ratio,
    # "none" = 1, or a number. The probability is corrected back to the true prior after
    # training (see training.prior_offset), so reweighting never distorts calibration.
    "scale_pos_weight": "sqrt",
}


@dataclass(frozen=True)
class TrainParams:
    """Typed training parameters: LightGBM's own and the loop's."""

    lgbm: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LGBM))
    loop: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LOOP))

    def as_strings(self) -> dict[str, str]:
        """All effective parameters as strings (for lineage)."""
        merged = {**self.lgbm, **self.loop}
        return {k: str(v) for k, v in sorted(merged.items())}


def parse_params(raw: Mapping[str, str], field_prefix: str = "parameters") -> TrainParams:
    """Defaults merged with the request's parameters; all bad entries raise together."""
    lgbm = dict(DEFAULT_LGBM)
    loop = dict(DEFAULT_LOOP)
    violations: list[FieldViolation] = []
    for name, value in raw.items():
        parser = LGBM_PARAMS.get(name) or LOOP_PARAMS.get(name)
        path = f"{field_prefix}[{name}]"
        if parser is None:
            known = ", ".join(sorted({*LGBM_PARAMS, *LOOP_PARAMS}))
            violations.append(FieldViolation(path, f"unknown parameter; known: {known}", "UNKNOWN_PARAMETER"))
            continue
        try:
            parsed = parser(str(value).strip())
        except ValueError as exc:
            violations.append(FieldViolation(path, f"bad value {value!r}: {exc}", "INVALID_VALUE"))
            continue
        (lgbm if name in LGBM_PARAMS else loop)[name] = parsed
    if violations:
        raise InvalidArgument(violations)
    return TrainParams(lgbm=lgbm, loop=loop)
