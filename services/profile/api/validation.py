"""Bounds of every ProfileService request, checked in one place before any work.

Each `check_<Rpc>` collects every violation of a request (telco360_runtime.bounds: the
suite's limits and reason codes) and raises one INVALID_ARGUMENT with all of them; bad
values are echoed only as a short preview. Expressions are bounded here by length; their
depth and size are bounded by the expression language itself (telco360_expr), whose errors
the handlers report as violations of the same request.

RecordScores is a batch of independent rows: `score_row_violations` judges one row, and
the handler stores the good rows and reports each bad one (RecordScoresResponse.rejected)
instead of failing the whole batch; only request-level faults (too many rows) fail it.

Limits defined here besides the shared ones:
- EXPORT_IDS_MAX: accounts named in one ExportFeatures / ExportOutcomes request (an export
  names a training population; more than the request size limit would carry anyway).
- FEATURE_NAME_MAX: a feature name ("attr." plus an attribute name of up to ID_MAX).
- SCORE_REASONS_MAX, HORIZON_MONTHS_MAX: reasons per score, value horizons (10 years).
- PAGE_TOKEN_MAX: an opaque page token (telco360_runtime.paging.TOKEN_MAX; the handlers decode it).
"""

from __future__ import annotations

from collections.abc import Sequence

from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import bounds as b
from telco360_runtime import paging
from telco360_runtime.errors import FieldViolation, ViolationCollector

EXPORT_IDS_MAX = 100_000
FEATURE_NAME_MAX = b.ID_MAX + len("attr.")
SCORE_REASONS_MAX = 50
HORIZON_MONTHS_MAX = 120
PAGE_TOKEN_MAX = paging.TOKEN_MAX
BATCH_MAX = 5000
SAMPLE_MAX = 1000
EVENT_TYPES = pb.AccountEventType.DESCRIPTOR


def _ids(out: ViolationCollector, field: str, ids, *, max_items: int, required_items: bool = True) -> None:
    if b.check_count(out, field, ids, max_items=max_items):
        for i, cid in enumerate(ids):
            b.check_text(out, f"{field}[{i}]", cid, max_len=b.ID_MAX, required=required_items)


def _names(out: ViolationCollector, field: str, names) -> None:
    if b.check_count(out, field, names):
        for i, name in enumerate(names):
            b.check_text(out, f"{field}[{i}]", name, max_len=FEATURE_NAME_MAX, required=True)


def _page(out: ViolationCollector, page: common_pb2.PageRequest, field: str = "page") -> None:
    b.check_int(out, f"{field}.page_size", page.page_size, lo=0, hi=1000)
    b.check_text(out, f"{field}.page_token", page.page_token, max_len=PAGE_TOKEN_MAX)


def _definition(out: ViolationCollector, d: pb.TagDefinition, field: str = "definition") -> None:
    b.check_text(out, f"{field}.tag_id", d.tag_id, max_len=b.ID_MAX)
    b.check_text(out, f"{field}.display_name", d.display_name, max_len=b.NAME_MAX)
    b.check_text(out, f"{field}.category", d.category, max_len=b.ID_MAX)
    b.check_text(out, f"{field}.description", d.description, max_len=b.TEXT_MAX)
    b.check_text(out, f"{field}.expression", d.expression, max_len=b.EXPRESSION_MAX)


def _month(out: ViolationCollector, field: str, value: str) -> None:
    from telco360_runtime.timeconv import parse_month

    if not value:
        out.add(field, "is required", b.REQUIRED)
    elif len(value) != 7 or parse_month(value) is None:
        out.add(field, f"must be a month YYYY-MM (got {b.preview(value)})", b.BAD_FORMAT)


def check_GetCustomer360(r: pb.GetCustomer360Request) -> None:
    out = ViolationCollector()
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX, required=True)
    b.check_enum(out, "level", r.level, pb.ViewLevel.DESCRIPTOR)
    b.check_int(out, "trend_months", r.trend_months, lo=0, hi=60)
    b.check_int(out, "recent_limit", r.recent_limit, lo=0, hi=200)
    out.raise_if_any()


def check_GetFeatures(r: pb.GetFeaturesRequest) -> None:
    out = ViolationCollector()
    if not r.customer_ids:
        out.add("customer_ids", "must name 1-1000 accounts", b.REQUIRED)
    _ids(out, "customer_ids", r.customer_ids, max_items=1000)
    b.check_timestamp(out, "as_of", r.as_of)
    _names(out, "feature_names", r.feature_names)
    out.raise_if_any()


def check_ExportFeatures(r: pb.ExportFeaturesRequest) -> None:
    out = ViolationCollector()
    b.check_timestamp(out, "as_of", r.as_of, required=True)
    _ids(out, "customer_ids", r.customer_ids, max_items=EXPORT_IDS_MAX)
    b.check_text(out, "filter_expression", r.filter_expression, max_len=b.EXPRESSION_MAX)
    b.check_int(out, "batch_size", r.batch_size, lo=0, hi=BATCH_MAX)
    _names(out, "feature_names", r.feature_names)
    out.raise_if_any()


def check_ExportOutcomes(r: pb.ExportOutcomesRequest) -> None:
    out = ViolationCollector()
    _month(out, "from_month", r.from_month)
    _month(out, "to_month", r.to_month)
    if not out.violations and r.from_month > r.to_month:
        out.add("to_month", "must not be before from_month", b.OUT_OF_RANGE)
    _ids(out, "customer_ids", r.customer_ids, max_items=EXPORT_IDS_MAX)
    b.check_int(out, "batch_size", r.batch_size, lo=0, hi=BATCH_MAX)
    out.raise_if_any()


def check_CreateTagDefinition(r: pb.CreateTagDefinitionRequest) -> None:
    out = ViolationCollector()
    _definition(out, r.definition)
    out.raise_if_any()


def check_UpdateTagDefinition(r: pb.UpdateTagDefinitionRequest) -> None:
    out = ViolationCollector()
    _definition(out, r.definition)
    b.check_int(out, "expected_version", r.expected_version, lo=0, hi=b.MAX_COUNT)
    out.raise_if_any()


def check_GetTagDefinition(r: pb.GetTagDefinitionRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "tag_id", r.tag_id, max_len=b.ID_MAX, required=True)
    b.check_int(out, "version", r.version, lo=0, hi=b.MAX_COUNT)
    out.raise_if_any()


def check_ListTagDefinitions(r: pb.ListTagDefinitionsRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "category", r.category, max_len=b.ID_MAX)
    _page(out, r.page)
    out.raise_if_any()


def check_DeleteTagDefinition(r: pb.DeleteTagDefinitionRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "tag_id", r.tag_id, max_len=b.ID_MAX, required=True)
    out.raise_if_any()


def check_DryRunTagDefinition(r: pb.DryRunTagDefinitionRequest) -> None:
    out = ViolationCollector()
    _definition(out, r.definition)
    b.check_int(out, "sample_size", r.sample_size, lo=0, hi=SAMPLE_MAX)
    out.raise_if_any()


def check_ValidateExpression(r: pb.ValidateExpressionRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "expression", r.expression, max_len=b.EXPRESSION_MAX)
    out.raise_if_any()


def check_ListTagHistory(r: pb.ListTagHistoryRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX)
    b.check_text(out, "tag_id", r.tag_id, max_len=b.ID_MAX)
    b.check_timestamp(out, "changed_after", r.changed_after)
    b.check_timestamp(out, "changed_before", r.changed_before)
    _page(out, r.page)
    out.raise_if_any()


def check_QuerySegment(r: pb.QuerySegmentRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "expression", r.expression, max_len=b.EXPRESSION_MAX)
    _page(out, r.page)
    _names(out, "feature_names", r.feature_names)
    out.raise_if_any()


def check_RecordScores(r: pb.RecordScoresRequest) -> None:
    """Request-level bounds (rows are judged one by one: score_row_violations)."""
    out = ViolationCollector()
    b.check_count(out, "scores", r.scores, max_items=b.LIST_MAX)
    out.raise_if_any()


def score_row_violations(i: int, s: pb.AccountScore) -> list[FieldViolation]:
    """Every bound one score row breaks (field paths name the row: scores[i].field)."""
    out = ViolationCollector(prefix=f"scores[{i}].")
    b.check_text(out, "customer_id", s.customer_id, max_len=b.ID_MAX, required=True)
    b.check_float(out, "churn_probability", s.churn_probability, lo=0.0, hi=1.0)
    b.check_enum(out, "risk_band", s.risk_band, common_pb2.RiskBand.DESCRIPTOR)
    b.check_int(out, "predicted_value_fen", s.predicted_value_fen, lo=0, hi=b.MAX_MONEY_FEN)
    b.check_int(out, "value_horizon_months", s.value_horizon_months, lo=0, hi=HORIZON_MONTHS_MAX)
    b.check_text(out, "model_version", s.model_version, max_len=b.NAME_MAX)
    b.check_timestamp(out, "scored_at", s.scored_at)
    if b.check_count(out, "reasons", s.reasons, max_items=SCORE_REASONS_MAX):
        for k, reason in enumerate(s.reasons):
            b.check_text(out, f"reasons[{k}].feature", reason.feature, max_len=FEATURE_NAME_MAX)
            b.check_text(out, f"reasons[{k}].description", reason.description, max_len=b.SHORT_TEXT_MAX)
            b.check_float(out, f"reasons[{k}].contribution", reason.contribution, lo=-b.MAX_QUANTITY, hi=b.MAX_QUANTITY)
    if s.HasField("analytics"):
        _analytics_violations(out, s.analytics)
    return out.violations


ANALYTICS_REASONS_MAX = 10
ANALYTICS_HORIZON_MONTHS_MAX = 240


def _analytics_violations(out: ViolationCollector, a: common_pb2.ValueAnalytics) -> None:
    """Bounds of a score row's value analytics (field paths under analytics.)."""
    b.check_text(out, "analytics.run_id", a.run_id, max_len=b.ID_MAX)
    lv = a.lifetime_value
    money = {"lo": -b.MAX_MONEY_FEN, "hi": b.MAX_MONEY_FEN}
    b.check_int(out, "analytics.lifetime_value.clv_fen", lv.clv_fen, **money)
    b.check_int(out, "analytics.lifetime_value.horizon_months", lv.horizon_months, hi=ANALYTICS_HORIZON_MONTHS_MAX)
    b.check_int(out, "analytics.lifetime_value.monthly_margin_fen", lv.monthly_margin_fen, **money)
    b.check_float(
        out, "analytics.lifetime_value.expected_months", lv.expected_months, lo=0.0, hi=ANALYTICS_HORIZON_MONTHS_MAX
    )
    b.check_float(out, "analytics.lifetime_value.discount_rate_annual", lv.discount_rate_annual, lo=0.0, hi=1.0)
    b.check_text(out, "analytics.lifetime_value.tier", lv.tier, max_len=b.NAME_MAX)
    _reason_texts(out, "analytics.lifetime_value.reasons", lv.reasons)
    rfm = a.rfm
    for name in ("recency", "frequency", "monetary"):
        b.check_int(out, f"analytics.rfm.{name}", getattr(rfm, name), lo=0, hi=5)
    b.check_text(out, "analytics.rfm.segment", rfm.segment, max_len=b.NAME_MAX)
    b.check_float(out, "analytics.rfm.recency_days", rfm.recency_days, lo=0.0, hi=b.MAX_QUANTITY)
    b.check_float(out, "analytics.rfm.frequency_value", rfm.frequency_value, lo=0.0, hi=b.MAX_QUANTITY)
    b.check_float(out, "analytics.rfm.monetary_fen", rfm.monetary_fen, lo=-b.MAX_QUANTITY, hi=b.MAX_QUANTITY)
    b.check_text(out, "analytics.cluster.label", a.cluster.label, max_len=b.NAME_MAX)
    b.check_text(out, "analytics.cluster.name", a.cluster.name, max_len=b.SHORT_TEXT_MAX)
    b.check_float(out, "analytics.cluster.distance", a.cluster.distance, lo=0.0, hi=b.MAX_QUANTITY)
    b.check_float(out, "analytics.outlier.score", a.outlier.score, lo=0.0, hi=1.0)
    _reason_texts(out, "analytics.outlier.reasons", a.outlier.reasons)


def _reason_texts(out: ViolationCollector, field: str, reasons: Sequence[str]) -> None:
    if b.check_count(out, field, reasons, max_items=ANALYTICS_REASONS_MAX):
        for k, text in enumerate(reasons):
            b.check_text(out, f"{field}[{k}]", text, max_len=b.SHORT_TEXT_MAX)


def check_WatchAccountEvents(r: pb.WatchAccountEventsRequest) -> None:
    out = ViolationCollector()
    b.check_int(out, "after_sequence", r.after_sequence, lo=0, hi=2**63 - 1)
    if b.check_count(out, "types", r.types, max_items=len(EVENT_TYPES.values)):
        for i, kind in enumerate(r.types):
            b.check_enum(out, f"types[{i}]", kind, EVENT_TYPES)
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX)
    b.check_int(out, "limit", r.limit, lo=0, hi=2**63 - 1)
    out.raise_if_any()


def check_EraseCustomer(r: pb.EraseCustomerRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX, required=True)
    b.check_text(out, "reason", r.reason.strip(), max_len=b.SHORT_TEXT_MAX, required=True)
    out.raise_if_any()


def check_GetErasureStatus(r: pb.GetErasureStatusRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX, required=True)
    out.raise_if_any()


def check_ListErasures(r: pb.ListErasuresRequest) -> None:
    out = ViolationCollector()
    _page(out, r.page)
    out.raise_if_any()


def check_ReactivateCustomer(r: pb.ReactivateCustomerRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "customer_id", r.customer_id, max_len=b.ID_MAX, required=True)
    b.check_text(out, "reason", r.reason.strip(), max_len=b.SHORT_TEXT_MAX, required=True)
    out.raise_if_any()


def check_GetJob(r: common_pb2.GetJobRequest) -> None:
    out = ViolationCollector()
    b.check_text(out, "job_id", r.job_id, max_len=b.ID_MAX, required=True)
    out.raise_if_any()


class PageBytes:
    """Keeps a list answer below the page byte limit (bounds.PAGE_MAX_BYTES), item by item.

    Counts each item's encoded size as it is added (one ByteSize per item, not per answer),
    with room for its field tag and length prefix; the first item is always taken.
    """

    def __init__(self, answer) -> None:
        self.used = answer.ByteSize() + 64  # paging fields set after the items
        self.items = 0

    def take(self, item) -> bool:
        """Whether `item` still fits; counts it when it does."""
        grows = item.ByteSize() + 8
        if self.items and self.used + grows > b.PAGE_MAX_BYTES:
            return False
        self.used += grows
        self.items += 1
        return True
