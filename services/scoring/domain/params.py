"""Training parameters: defaults, documented bounds, parsing of the request's string map.

The request carries parameters as strings (protobuf map<string, string>). Every parameter
scoring exposes has a bound here, taken from LightGBM's own constraints (docs/Parameters.rst,
"constraints:" of each parameter, LightGBM 4.x) and narrowed where LightGBM's range would let
one job run without end or exhaust memory (rounds, bins, thread counts). A request is checked
against them before a job starts, so LightGBM never sees a value it would refuse (`num_leaves
1` used to fail inside the job with a raw LightGBMError) or one it would accept but cannot
use (`learning_rate inf`). Numbers are ASCII decimals only: "inf", "nan", "1_000" and
full-width digits (which Python's int() and float() accept) are refused. All bad entries are
reported together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from telco360_runtime.bounds import BAD_FORMAT, NOT_FINITE, OUT_OF_RANGE, TOO_LONG, TOO_MANY, preview
from telco360_runtime.errors import FieldViolation, InvalidArgument

CHURN = "churn"
VALUE = "value"
#: What a value model predicts (parameter `value_target`): the revenue over the horizon
#: (default) or the margin, fee minus cost from profile's cost facts (labels.margin_targets).
REVENUE = "revenue"
MARGIN = "margin"
VALUE_TARGETS = (REVENUE, MARGIN)

#: Reason of a parameter name scoring does not expose.
UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
#: Longest parameter value accepted (any valid number or option is far shorter).
VALUE_MAX = 64
#: Most parameters in one request (there are fewer known names than this).
MAX_PARAMETERS = 32

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT32 = 2**31 - 1
# Continuous regularisation strengths: LightGBM only says ">= 0"; far above any useful value
# and finite, so no gain or hessian sum overflows.
_STRENGTH_MAX = 1e12


@dataclass(frozen=True)
class Bound:
    """The accepted values of one numeric parameter and where the range comes from."""

    integer: bool
    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    source: str = ""

    def text(self) -> str:
        """The range in words, e.g. "1 < value <= 131072"."""

        def num(x: float) -> str:
            return str(int(x)) if self.integer else f"{x:g}"

        lo = f"{num(self.lo)} {'<' if self.lo_open else '<='} "
        hi = f" {'<' if self.hi_open else '<='} {num(self.hi)}"
        return f"{'an integer' if self.integer else 'a number'} with {lo}value{hi}"

    def parse(self, raw: str) -> tuple[Any, str, str]:
        """(value, problem, reason): the parsed number, or a problem in words and its code."""
        pattern = _INT if self.integer else _FLOAT
        if not pattern.fullmatch(raw):
            low = raw.lower().lstrip("+-")
            if not self.integer and low in ("inf", "infinity", "nan"):
                return None, f"must be a finite number; {self.text()}", NOT_FINITE
            return None, f"must be {self.text()} written in ASCII digits", BAD_FORMAT
        value: float = int(raw) if self.integer else float(raw)
        if not math.isfinite(value):
            return None, f"must be a finite number; {self.text()}", NOT_FINITE
        below = value <= self.lo if self.lo_open else value < self.lo
        above = value >= self.hi if self.hi_open else value > self.hi
        if below or above:
            return None, f"must be {self.text()}", OUT_OF_RANGE
        return value, "", ""


def _int(lo: int, hi: int, source: str, *, lo_open: bool = False) -> Bound:
    return Bound(True, lo, hi, lo_open=lo_open, source=source)


def _float(lo: float, hi: float, source: str, *, lo_open: bool = False, hi_open: bool = False) -> Bound:
    return Bound(False, lo, hi, lo_open=lo_open, hi_open=hi_open, source=source)


# LightGBM's own parameters (passed to lgb.train), with their bounds.
LGBM_BOUNDS: dict[str, Bound] = {
    "learning_rate": _float(0.0, 10.0, "LightGBM: > 0; above 10 no boosting converges", lo_open=True),
    "num_leaves": _int(1, 131072, "LightGBM: 1 < num_leaves <= 131072", lo_open=True),
    "max_depth": _int(-1, 128, "LightGBM: <= 0 means no limit; deeper than 128 is never reached"),
    "min_data_in_leaf": _int(0, 10**9, "LightGBM: >= 0"),
    "min_sum_hessian_in_leaf": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "feature_fraction": _float(0.0, 1.0, "LightGBM: 0 < feature_fraction <= 1", lo_open=True),
    # LightGBM allows any share above 0, but fails outright ("num_data > 0") when the share
    # of a small training set rounds to no rows; a tenth keeps at least one of 20 rows.
    "bagging_fraction": _float(0.1, 1.0, "LightGBM: 0 < bagging_fraction <= 1; at least 0.1 so a bag is never empty"),
    "bagging_freq": _int(0, 10_000, "LightGBM: 0 disables bagging; at most num_boost_round's limit"),
    "lambda_l1": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "lambda_l2": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "min_gain_to_split": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "max_bin": _int(1, 65535, "LightGBM: > 1; above 65535 bins need 32-bit storage per value", lo_open=True),
    "max_cat_to_onehot": _int(0, 1000, "LightGBM: > 0; categories are capped at 200 per feature", lo_open=True),
    "cat_smooth": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "cat_l2": _float(0.0, _STRENGTH_MAX, "LightGBM: >= 0"),
    "num_threads": _int(0, 256, "LightGBM threads; 0 = the training_threads setting"),
    "seed": _int(-_INT32 - 1, _INT32, "LightGBM: a C int"),
}
# Options of the value model's objective (churn is always binary).
OBJECTIVES = ("regression", "regression_l1", "huber", "tweedie", "poisson")
# The training loop's own settings.
LOOP_BOUNDS: dict[str, Bound] = {
    "num_boost_round": _int(1, 10_000, "LightGBM: >= 0; at least one round, at most 10,000 so a job ends"),
    "early_stopping_rounds": _int(1, 10_000, "rounds without improvement on the validation split"),
    "validation_fraction": _float(
        0.05,
        0.5,
        "share of accounts for early stopping: at least 5 % so the split "
        "is not empty, at most half so the rest stays for fitting",
    ),
    "tuning_trials": _int(0, 64, "parameter sets tried by cross-validation (0: none, one early-stopping split)"),
    "cv_folds": _int(2, 10, "folds of the cross-validation inside the training rows"),
    "tuning_rows": _int(100, 100_000_000, "most rows tuning cross-validates on (a sample of accounts beyond)"),
}
CALIBRATION_OPTIONS = ("platt", "none")
IMBALANCE_OPTIONS = ("auto", "none", "sqrt")
SCALE_POS_WEIGHT = _float(0.0, 1e6, "positive-class weight", lo_open=True)
LGBM_NAMES = frozenset({*LGBM_BOUNDS, "objective"})
LOOP_NAMES = frozenset({*LOOP_BOUNDS, "scale_pos_weight", "calibration", "value_target"})
KNOWN = tuple(sorted(LGBM_NAMES | LOOP_NAMES))

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
    # Early stopping ends far sooner; boosted stumps (a tuning candidate) need the room.
    "num_boost_round": 2000,
    "early_stopping_rounds": 40,
    "validation_fraction": 0.2,
    # Positive-class weight: "sqrt" = sqrt(negatives / positives), "auto" = the full ratio,
    # "none" = 1, or a number. The probability is corrected back to the true prior after
    # training (the offset log w, or the calibration that replaces it). "none" by default:
    # on the protocol bench's tables unweighted fits calibrate to a lower log loss at the
    # same ranking (bench/scoring/README.md).
    "scale_pos_weight": "none",
    # Parameter sets tried (the defaults first, then seeded random draws over the names the
    # request does not fix), each scored by cross-validation inside the training rows with
    # early stopping; see tuning.py. 0 = the fixed defaults and one early-stopping split.
    "tuning_trials": 12,
    "cv_folds": 4,
    # Frames above this many rows are tuned on a seeded sample of whole accounts; the rounds
    # for the chosen set then come from an early-stopping split of all rows, and a churn
    # model is Platt-scaled on that split's rows.
    "tuning_rows": 100_000,
    # Churn: Platt scaling fitted on the cross-validation's out-of-fold scores ("none": the
    # prior correction only).
    "calibration": "platt",
}


@dataclass(frozen=True)
class TrainParams:
    """Typed training parameters: LightGBM's own and the loop's."""

    lgbm: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LGBM))
    loop: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LOOP))
    # LightGBM parameters the request set: tuning never changes them.
    fixed: frozenset[str] = frozenset()

    @property
    def value_target(self) -> str:
        """What a value model predicts: revenue (default) or margin over the horizon."""
        return str(self.loop.get("value_target", REVENUE))

    def as_strings(self) -> dict[str, str]:
        """All effective parameters as strings (for lineage)."""
        merged = {**self.lgbm, **self.loop}
        return {k: str(v) for k, v in sorted(merged.items())}


def _option(raw: str, options: tuple[str, ...], bound: Bound | None) -> tuple[Any, str, str]:
    """One of `options`, or (with `bound`) a number inside it."""
    if raw in options:
        return raw, "", ""
    if bound is None:
        return None, f"must be one of {', '.join(options)}", OUT_OF_RANGE
    value, problem, reason = bound.parse(raw)
    if problem:
        return None, f"must be one of {', '.join(options)} or {problem.removeprefix('must be ')}", reason
    return value, "", ""


def check_param(name: str, raw: str, kind: str = "") -> tuple[Any, FieldViolation | None]:
    """One parameter's typed value, or the violation (field `parameters[<name>]`)."""
    path = f"parameters[{preview(name)}]" if len(name) > 40 else f"parameters[{name}]"
    if name not in LGBM_NAMES and name not in LOOP_NAMES:
        return None, FieldViolation(path, f"unknown parameter; known: {', '.join(KNOWN)}", UNKNOWN_PARAMETER)
    text = str(raw).strip()
    if len(text) > VALUE_MAX:
        return None, FieldViolation(path, f"must be at most {VALUE_MAX} characters (got {len(text)})", TOO_LONG)
    if name == "objective":
        if kind == CHURN:
            return None, FieldViolation(path, "churn models always use the binary objective", OUT_OF_RANGE)
        value, problem, reason = _option(text, OBJECTIVES, None)
    elif name == "calibration":
        value, problem, reason = _option(text, CALIBRATION_OPTIONS, None)
    elif name == "value_target":
        if kind == CHURN:
            return None, FieldViolation(path, "only value models choose a target (revenue or margin)", OUT_OF_RANGE)
        value, problem, reason = _option(text, VALUE_TARGETS, None)
    elif name == "scale_pos_weight":
        value, problem, reason = _option(text, IMBALANCE_OPTIONS, SCALE_POS_WEIGHT)
    else:
        value, problem, reason = (LGBM_BOUNDS.get(name) or LOOP_BOUNDS[name]).parse(text)
    if problem:
        return None, FieldViolation(path, f"{problem} (got {preview(text)})", reason)
    return value, None


def param_violations(raw: Mapping[str, str], kind: str = "") -> list[FieldViolation]:
    """Every problem of a request's parameters (empty when all are acceptable)."""
    if len(raw) > MAX_PARAMETERS:
        return [FieldViolation("parameters", f"must have at most {MAX_PARAMETERS} entries (got {len(raw)})", TOO_MANY)]
    return [bad for name, value in raw.items() if (bad := check_param(name, value, kind)[1]) is not None]


def parse_params(raw: Mapping[str, str], kind: str = "") -> TrainParams:
    """Defaults merged with the request's parameters; all bad entries raise together.

    `kind` (churn or value), when known, refuses parameters that do not apply to it.
    """
    bad = param_violations(raw, kind)
    if bad:
        raise InvalidArgument(bad)
    lgbm = dict(DEFAULT_LGBM)
    loop = dict(DEFAULT_LOOP)
    for name, value in raw.items():
        parsed, _ = check_param(name, value, kind)
        (lgbm if name in LGBM_NAMES else loop)[name] = parsed
    return TrainParams(lgbm=lgbm, loop=loop, fixed=frozenset(n for n in raw if n in LGBM_NAMES))
