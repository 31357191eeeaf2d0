"""Feature schema: which columns a model uses, their types, and how rows become a matrix.

A schema is fitted once on the training frame and saved with the model. Scoring turns
frames or plain dict rows into a float64 matrix in the model's column order, with
categorical values replaced by their integer codes (unknown categories become NaN, which
LightGBM treats as missing). Keeping the encoding here, as numpy, keeps the hot path lean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"

# Batches up to this many rows are encoded cell by cell (cheaper than per-column numpy).
SMALL_BATCH = 4

# Columns that describe a row rather than the account's behaviour; never features.
RESERVED_COLUMNS = frozenset({"customer_id", "as_of", "label", "target", "row_id"})


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: name, type, known categories (categorical only), missing share."""

    name: str
    type: str
    categories: tuple[str, ...] = ()
    missing_share: float = 0.0
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the registry."""
        return {
            "name": self.name,
            "type": self.type,
            "categories": list(self.categories),
            "missing_share": self.missing_share,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of to_dict."""
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            categories=tuple(data.get("categories", ())),
            missing_share=float(data.get("missing_share", 0.0)),
            description=str(data.get("description", "")),
        )


@dataclass
class FeatureSchema:
    """Ordered features of a model with cached lookups for fast encoding."""

    features: list[FeatureSpec]
    _index: dict[str, int] = field(init=False, repr=False)
    _codes: dict[int, dict[str, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {f.name: i for i, f in enumerate(self.features)}
        self._codes = {
            i: {c: float(k) for k, c in enumerate(f.categories)}
            for i, f in enumerate(self.features)
            if f.type == CATEGORICAL
        }

    @property
    def names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

    @property
    def categorical_indices(self) -> list[int]:
        """Column indices of categorical features (for LightGBM's categorical_feature)."""
        return sorted(self._codes)

    def index_of(self, name: str) -> int | None:
        """Column index of a feature, or None when the model does not use it."""
        return self._index.get(name)

    def spec(self, name: str) -> FeatureSpec:
        """The spec of a feature by name."""
        return self.features[self._index[name]]

    def to_list(self) -> list[dict[str, Any]]:
        """JSON-ready form for the registry."""
        return [f.to_dict() for f in self.features]

    @classmethod
    def from_list(cls, data: Iterable[Mapping[str, Any]]) -> FeatureSchema:
        """Inverse of to_list."""
        return cls([FeatureSpec.from_dict(d) for d in data])

    # -- encoding -----------------------------------------------------------------------

    def encode_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Matrix (rows x features) from a frame; absent columns are all-missing."""
        out = np.full((len(df), len(self.features)), np.nan, dtype=np.float64)
        for i, spec in enumerate(self.features):
            if spec.name not in df.columns:
                continue
            col = df[spec.name]
            if spec.type == CATEGORICAL:
                codes = self._codes[i]
                out[:, i] = col.map(lambda v, codes=codes: codes.get(_category_key(v), np.nan)).to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            else:
                out[:, i] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def encode_rows(self, rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, set[str]]:
        """Matrix from dict rows (ScoreFeatures, GetFeatures); also the names the model ignores.

        Column by column: a numeric column of floats and booleans converts in one numpy
        call; only columns holding something else (strings, None) fall back to per cell.
        """
        out = np.full((len(rows), len(self.features)), np.nan, dtype=np.float64)
        ignored = set().union(*rows).difference(self._index) if rows else set()
        if len(rows) <= SMALL_BATCH:
            # A row or two: walking the cells beats setting up a numpy call per column.
            for r, row in enumerate(rows):
                for name, value in row.items():
                    i = self._index.get(name)
                    if i is not None:
                        out[r, i] = _encode_value(value, self._codes.get(i))
            return out, ignored
        nan = math.nan
        for i, spec in enumerate(self.features):
            name = spec.name
            column = [row.get(name, nan) for row in rows]
            codes = self._codes.get(i)
            if codes is not None:
                out[:, i] = [nan if v is None or v != v else codes.get(str(v), nan) for v in column]
                continue
            try:
                out[:, i] = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError):
                out[:, i] = [_encode_value(v, None) for v in column]
        return out, ignored

    def encode_columns(self, batch: ColumnBatch) -> tuple[np.ndarray, set[str]]:
        """Matrix from caller-supplied columns; also the names the model ignores.

        Numeric columns arrive as float64 arrays and are copied in whole; only categorical
        columns are looked up value by value.
        """
        out = np.full((batch.rows, len(self.features)), np.nan, dtype=np.float64)
        ignored: set[str] = set()
        for name, column in batch.columns:
            i = self._index.get(name)
            if i is None:
                ignored.add(name)
                continue
            codes = self._codes.get(i)
            if isinstance(column, np.ndarray) and codes is None:
                out[:, i] = column
            elif codes is not None:
                out[:, i] = [codes.get(k, math.nan) if (k := _category_key(v)) else math.nan for v in _as_list(column)]
            else:
                out[:, i] = [_encode_value(v or None, None) for v in column]
        return out, ignored


@dataclass(frozen=True)
class ColumnBatch:
    """Caller-supplied features as columns (ScoreFeatures' fast path): per column its name
    and either a float64 array (numbers, NaN = missing) or a list of strings ("" = missing)."""

    rows: int
    columns: list[tuple[str, np.ndarray | Sequence[str]]]

    @property
    def names(self) -> set[str]:
        """The column names sent."""
        return {name for name, _ in self.columns}


def _as_list(column: np.ndarray | Sequence[Any]) -> list[Any]:
    """Category values of a column; numbers sent for a categorical feature keep their text."""
    if isinstance(column, np.ndarray):
        return [None if math.isnan(v) else (str(int(v)) if float(v).is_integer() else str(v)) for v in column.tolist()]
    return list(column)


def _category_key(value: Any) -> str | None:
    """String key of a categorical value; None for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA:
        return None
    return str(value)


def _encode_value(value: Any, codes: dict[str, float] | None) -> float:
    """One cell: category code, 0/1 for booleans, float for numbers, NaN for missing."""
    if value is None:
        return math.nan
    if codes is not None:
        return codes.get(str(value), math.nan)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def infer_type(series: pd.Series, max_categories: int = 200) -> str:
    """Feature type of a column: booleans, numbers, or categories (anything else)."""
    if pd.api.types.is_bool_dtype(series):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(series):
        return NUMERIC
    non_null = series.dropna()
    if len(non_null) and non_null.map(lambda v: isinstance(v, bool)).all():
        return BOOLEAN
    numeric = pd.to_numeric(non_null, errors="coerce")
    if len(non_null) and numeric.notna().all():
        return NUMERIC
    return CATEGORICAL


def fit_schema(
    df: pd.DataFrame,
    exclude: Iterable[str] = (),
    max_categories: int = 200,
    descriptions: Mapping[str, str] | None = None,
) -> FeatureSchema:
    """Schema from a training frame: every column except reserved/excluded ones.

    Categories are ordered by frequency (most frequent first) and capped at
    `max_categories`; rarer values are scored as missing. All-missing columns are dropped
    because they can carry no signal.
    """
    skip = set(RESERVED_COLUMNS) | set(exclude)
    specs: list[FeatureSpec] = []
    for name in df.columns:
        if name in skip:
            continue
        col = df[name]
        missing = float(col.isna().mean()) if len(col) else 1.0
        if missing >= 1.0:
            continue
        kind = infer_type(col)
        cats: tuple[str, ...] = ()
        if kind == CATEGORICAL:
            counts = col.dropna().astype(str).value_counts()
            cats = tuple(counts.index[:max_categories])
        text = (descriptions or {}).get(str(name), "")
        specs.append(FeatureSpec(str(name), kind, cats, round(missing, 6), text))
    return FeatureSchema(specs)
