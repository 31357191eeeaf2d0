"""The documented bounds of every ScoringService request, checked before any work (api layer).

One table per kind of field names the limit of every text, bytes, repeated, map and
integer field a scoring request can carry (nested messages included); a walker over the
request's descriptor (telco360_runtime.request_bounds) applies them, checks every enum field against its defined values
(proto3 keeps unknown numbers, so MODEL_KIND 999 would otherwise pass as "no kind") and
every Timestamp against the suite's time range. Nothing is listed by hand per rpc, so no
enum or timestamp can be forgotten, and a text, list or number field added to the contract
without a limit is caught by the test that walks every request descriptor
(tests/test_request_bounds.py: test_every_request_field_has_a_bound).

Floats: feature values (AttributeValue.number_value, FeatureColumn.numbers / raw_numbers)
take any float64; NaN means missing, and LightGBM orders +-inf after every finite value.
Every other double has a range in FLOATS. Violations are all reported together, and a bad
value is echoed only through `bounds.preview`.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from telco360_runtime import bounds as b
from telco360_runtime import paging
from telco360_runtime.errors import ViolationCollector
from telco360_runtime.request_bounds import FieldBounds, RequestBounds

from ..domain.params import MAX_PARAMETERS, VALUE_MAX, param_violations
from ..usecases.score import MAX_IDS, MAX_ROWS  # ids per ScoreCustomers call, rows per ScoreFeatures call
from ..usecases.train import MAX_CUTOFFS

#: Features in one row or columns in one FeatureColumns batch (models have far fewer).
MAX_FEATURES = 2000
#: Reasons per account or row.
MAX_REASONS = 10
#: Longest server path of a brought table (Linux PATH_MAX).
PATH_MAX = 4096
#: Longest page token (the shared keyset token: the last model's time and id, scoped).
TOKEN_MAX = paging.TOKEN_MAX

# "Message.field" -> most characters (strings) or bytes (bytes fields); map keys and values
# as "Message.field.key" / "Message.field.value". 0 = only the server's message size limit.
TEXT: dict[str, int] = {
    "TrainModelRequest.description": b.TEXT_MAX,
    "TrainModelRequest.parameters.key": b.ID_MAX,
    "TrainModelRequest.parameters.value": VALUE_MAX,
    "TrainFromTableRequest.path": PATH_MAX,
    # The table itself: bounded by the server's max_message_mb (the contract says so).
    "TrainFromTableRequest.content": 0,
    "TrainFromTableRequest.id_column": b.NAME_MAX,
    "TrainFromTableRequest.label_column": b.NAME_MAX,
    "TrainFromTableRequest.time_column": b.NAME_MAX,
    "TrainFromTableRequest.exclude_columns": b.NAME_MAX,
    "TrainFromTableRequest.parameters.key": b.ID_MAX,
    "TrainFromTableRequest.parameters.value": VALUE_MAX,
    "TrainFromTableRequest.description": b.TEXT_MAX,
    "GetJobRequest.job_id": b.ID_MAX,
    "PageRequest.page_token": TOKEN_MAX,
    "GetModelRequest.model_id": b.ID_MAX,
    "PromoteModelRequest.model_id": b.ID_MAX,
    "ScoreCustomersRequest.customer_ids": b.ID_MAX,
    "ScoreFeaturesRequest.model_id": b.ID_MAX,
    # The table itself: bounded by ScoreTable's request bound (api/access.py TABLE_KB).
    "ScoreTableRequest.content": 0,
    "ScoreTableRequest.model_id": b.ID_MAX,
    "ScoreTableRequest.id_column": b.NAME_MAX,
    "ScoreTableRequest.exclude_columns": b.NAME_MAX,
    "FeatureRow.row_id": b.ID_MAX,
    "FeatureRow.features.key": b.NAME_MAX,
    "AttributeValue.string_value": b.SHORT_TEXT_MAX,
    "FeatureColumns.row_ids": b.ID_MAX,
    "FeatureColumn.name": b.NAME_MAX,
    "FeatureColumn.categories": b.SHORT_TEXT_MAX,
    "FeatureColumn.raw_numbers": 8 * MAX_ROWS,
    "GetStoredScoreRequest.customer_id": b.ID_MAX,
    "GetReportRequest.model_id": b.ID_MAX,
    "ApplyErasureRequest.erasure_id": b.ID_MAX,
    "ApplyErasureRequest.customer_id": b.ID_MAX,
    "LiftErasureRequest.customer_id": b.ID_MAX,
    "LiftErasureRequest.reason": b.TEXT_MAX,
    "ReviewOutlierRequest.customer_id": b.ID_MAX,
    "ReviewOutlierRequest.note": b.TEXT_MAX,
}
# "Message.field" -> most items of a repeated or map field.
COUNT: dict[str, int] = {
    "TrainModelRequest.as_of": MAX_CUTOFFS,
    "TrainModelRequest.parameters": MAX_PARAMETERS,
    "TrainFromTableRequest.exclude_columns": b.LIST_MAX,
    "TrainFromTableRequest.parameters": MAX_PARAMETERS,
    "ScoreCustomersRequest.customer_ids": MAX_IDS,
    "ScoreFeaturesRequest.rows": MAX_ROWS,
    "ScoreTableRequest.exclude_columns": b.LIST_MAX,
    "FeatureRow.features": MAX_FEATURES,
    "FeatureColumns.row_ids": MAX_ROWS,
    "FeatureColumns.columns": MAX_FEATURES,
    "FeatureColumn.numbers": MAX_ROWS,
    "FeatureColumn.categories": MAX_ROWS,
}
# "Message.field" -> inclusive integer range.
INTS: dict[str, tuple[int, int]] = {
    "TrainModelRequest.horizon_months": (0, 24),
    "PageRequest.page_size": (0, 1000),
    "ScoreCustomersRequest.top_reasons": (0, MAX_REASONS),
    "ScoreFeaturesRequest.top_reasons": (0, MAX_REASONS),
    "ScoreTableRequest.top_reasons": (0, MAX_REASONS),
    "ScoreAllRequest.batch_size": (0, 5000),
    "RunBaseAnalyticsRequest.batch_size": (0, 5000),
}
# "Message.field" -> inclusive float range (finite); None = any float64 (feature values).
FLOATS: dict[str, tuple[float, float] | None] = {
    # Gains on ROC-AUC or Spearman: both lie in [-1, 1], so a gain above 1 can never be met.
    "TrainModelRequest.auto_promote_min_gain": (0.0, 1.0),
    "TrainFromTableRequest.auto_promote_min_gain": (0.0, 1.0),
    "TrainFromTableRequest.holdout_fraction": (0.0, 0.9),
    "AttributeValue.number_value": None,
    "FeatureColumn.numbers": None,
}

# Fields checked on their converted form instead (same bounds, same paths): a FeatureRow's
# map is walked once by the converter, and walking its protobuf values a second time here
# cost as much as the conversion itself (100 rows x 50 features: ~10 ms).
AFTER_CONVERSION = frozenset({"FeatureRow.features"})

BOUNDS = RequestBounds(FieldBounds(text=TEXT, count=COUNT, ints=INTS, floats=FLOATS, skip=AFTER_CONVERSION))
"""Every field named: a field the contract adds without a bound fails when its plan is built."""


def violations(request: Message) -> ViolationCollector:
    """Every bound a request breaks (empty collector when it is within all of them)."""
    return BOUNDS.violations(request)


def check_feature_rows(out: ViolationCollector, rows: list[dict[str, Any]]) -> None:
    """FeatureRow.features bounds on the converted rows: entries per row, name lengths and
    text value lengths (numbers and booleans take any value)."""
    limit, name_max = COUNT["FeatureRow.features"], TEXT["FeatureRow.features.key"]
    text_max = TEXT["AttributeValue.string_value"]
    for i, row in enumerate(rows):
        path = f"rows[{i}].features"
        if not b.check_count(out, path, row, max_items=limit) or not row:
            continue
        # C-level passes first; the per-entry loop only runs for a row that breaks a bound.
        texts = [v for v in row.values() if type(v) is str]
        if max(map(len, row)) <= name_max and (not texts or max(map(len, texts)) <= text_max):
            continue
        for name, value in row.items():
            long_name = len(name) > name_max
            long_text = isinstance(value, str) and len(value) > text_max
            if not (long_name or long_text):
                continue
            item = f"{path}[{b.preview(name) if len(name) > b.PREVIEW_CHARS else name}]"
            if long_name:
                b.check_text(out, f"{item}.key", name, max_len=name_max)
            if long_text:
                b.check_text(out, f"{item}.string_value", value, max_len=text_max)


def check(request: Message) -> None:
    """Raise InvalidArgument with every violation when a request breaks any bound.

    When it does, a training request's parameters are checked against LightGBM's ranges
    too, so one answer lists a bad enum and a bad parameter together; otherwise the domain
    checks them with the request's other rules (cut-offs, horizon) in its own single answer.
    """
    out = violations(request)
    if not out.violations:
        return
    params = getattr(request, "parameters", None)
    if params is not None and len(params) <= MAX_PARAMETERS and request.DESCRIPTOR.name.startswith("Train"):
        kind = {1: "churn", 2: "value"}.get(getattr(request, "kind", 0), "")
        out.violations.extend(
            v
            for v in param_violations(dict(params), kind)
            if not any(o.field.startswith(v.field) for o in out.violations)
        )
    out.raise_if_any()
