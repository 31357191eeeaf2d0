"""Bring your own table: read a labelled CSV/Parquet table and split it for training.

The operator names the id column and the label column; every other column (of any type)
is a feature unless excluded. With a time column the rows at the latest time form the
holdout (time-based, like profile training); without one a seeded share of accounts is
held out. The id becomes `customer_id` and the label `label`, so the same training,
evaluation, registry and report code runs on it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument

from .params import CHURN
from .schema import RESERVED_COLUMNS
from .training import validation_mask

CSV = "csv"
PARQUET = "parquet"
_TRUE = {"1", "true", "yes", "y", "t", "churn", "churned"}
_FALSE = {"0", "false", "no", "n", "f", "stay", "stayed", ""}


@dataclass
class TableSplit:
    """A brought table ready for training: train and holdout frames and lineage facts."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    fingerprint: str
    rows: int
    holdout_rule: str


def detect_format(path: str, declared: str) -> str:
    """The table format from the request, or from the path's extension."""
    if declared:
        return declared
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return CSV
    if suffix in (".parquet", ".pq"):
        return PARQUET
    raise InvalidArgument(FieldViolation("format", f"cannot tell the format of {path!r}; set format", "REQUIRED"))


def read_table(content: bytes, fmt: str) -> pd.DataFrame:
    """Parse CSV or Parquet bytes into a frame (InvalidArgument when unreadable)."""
    try:
        if fmt == CSV:
            return pd.read_csv(io.BytesIO(content))
        if fmt == PARQUET:
            return pd.read_parquet(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - any parser error is the caller's bad table
        raise InvalidArgument(FieldViolation("table", f"cannot read the table as {fmt}: {exc}", "INVALID_FORMAT")) from exc
    raise InvalidArgument(FieldViolation("format", f"unsupported format {fmt!r}", "INVALID_VALUE"))


def _binary_label(col: pd.Series) -> pd.Series:
    """0/1 from numbers, booleans or yes/no-like text; InvalidArgument otherwise."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype(np.int64)
    if pd.api.types.is_numeric_dtype(col):
        values = set(col.dropna().unique().tolist())
        if values <= {0, 1, 0.0, 1.0}:
            return col.fillna(0).astype(np.int64)
    text = col.astype(str).str.strip().str.lower()
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        raise InvalidArgument(FieldViolation("label_column", f"churn labels must be 0/1 or yes/no; found {bad[:5]}", "INVALID_VALUE"))
    return text.isin(_TRUE).astype(np.int64)


def prepare_table(
    table: pd.DataFrame,
    content: bytes,
    *,
    id_column: str,
    label_column: str,
    kind: str = CHURN,
    time_column: str = "",
    holdout_fraction: float = 0.2,
    exclude: tuple[str, ...] = (),
    seed: int = 17,
) -> TableSplit:
    """Validate the columns, normalise id/label and split train/holdout."""
    missing = [(f, c) for f, c in (("id_column", id_column), ("label_column", label_column), ("time_column", time_column)) if c and c not in table.columns]
    if missing:
        raise InvalidArgument([FieldViolation(f, f"column {c!r} is not in the table (columns: {list(table.columns)[:20]})", "UNKNOWN_COLUMN") for f, c in missing])
    if not id_column:
        raise InvalidArgument(FieldViolation("id_column", "required", "REQUIRED"))
    if not label_column:
        raise InvalidArgument(FieldViolation("label_column", "required", "REQUIRED"))
    unknown_excl = [c for c in exclude if c not in table.columns]
    if unknown_excl:
        raise InvalidArgument(FieldViolation("exclude_columns", f"not in the table: {unknown_excl}", "UNKNOWN_COLUMN"))
    clashes = [c for c in table.columns if c in RESERVED_COLUMNS and c not in (id_column, label_column, time_column)]
    df = table.drop(columns=list(exclude) + clashes).copy()
    df = df[df[label_column].notna()]
    df = df.rename(columns={id_column: "customer_id", label_column: "label"})
    df["customer_id"] = df["customer_id"].astype(str)
    df["label"] = _binary_label(df["label"]) if kind == CHURN else pd.to_numeric(df["label"], errors="coerce")
    if kind != CHURN and df["label"].isna().any():
        raise InvalidArgument(FieldViolation("label_column", "value labels must be numbers", "INVALID_VALUE"))
    if time_column:
        times = df[time_column].astype(str)
        latest = times.max()
        hold = (times == latest).to_numpy()
        rule = f"time-based: rows with {time_column} = {latest}"
        df = df.drop(columns=[time_column])
        if hold.all():
            raise FailedPrecondition(f"every row has {time_column} = {latest}; a time-based holdout needs earlier rows too")
    else:
        frac = holdout_fraction if 0 < holdout_fraction < 1 else 0.2
        hold = validation_mask(df["customer_id"], frac, seed + 1)
        rule = f"random {frac:.0%} of accounts (seeded)"
    train, holdout = df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)
    if len(holdout) == 0:
        raise FailedPrecondition("the holdout is empty; the table is too small")
    return TableSplit(train, holdout, hashlib.sha256(content).hexdigest(), len(df), rule)
