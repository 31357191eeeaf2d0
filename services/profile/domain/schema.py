"""The feature schema: every built-in feature's name, type, meaning and time behaviour.

Time behaviour tells the tag engine when a feature can change with no new record:
"window" features (counts over the last N days) change when an event leaves the window,
"days_since" features grow by one each day after their anchor, "month_clock" features
change at month boundaries. Operator attributes appear as `attr.<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.profile.domain.margin import margin_feature_specs
from services.profile.domain.model import LINE_NAMES

NUMBER, STRING, BOOL = "number", "string", "bool"

#: Operator attributes (`attr.<name>`) that hold personal data by default: the organisation's
#: names in other scripts and the people and places behind it. Masked like account and contact
#: names for roles that may not see personal data (ProfileSettings.personal_attributes).
PERSONAL_ATTRIBUTES = (
    "name_en",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "contact_email",
    "phone",
    "email",
    "address",
    "id_number",
)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: name, value type, description and time behaviour (None, window, days_since, month_clock)."""

    name: str
    type: str
    description: str
    time: str | None = None


def _specs() -> list[FeatureSpec]:
    s: list[FeatureSpec] = [
        FeatureSpec("status", STRING, "ACTIVE or TERMINATED at as_of"),
        FeatureSpec(
            "tenure_months", NUMBER, "months since the account was first seen or its first contract", "month_clock"
        ),
        FeatureSpec("industry", STRING, "industry code"),
        FeatureSpec("region", STRING, "region"),
        FeatureSpec("tier", STRING, "service tier from master data (DIAMOND ... CRYSTAL)"),
        FeatureSpec("employee_count", NUMBER, "employees (null when unknown)"),
        FeatureSpec("is_branch", BOOL, "the account has a parent in a group hierarchy"),
        FeatureSpec(
            "months_to_contract_end", NUMBER, "months from as_of to the end of the framework contract", "month_clock"
        ),
        FeatureSpec(
            "fee_total_last_month",
            NUMBER,
            "total fee of the reference month (the account's own latest complete month), fen",
        ),
        FeatureSpec("fee_total_avg_3m", NUMBER, "average monthly total fee over the last 3 months, fen"),
        FeatureSpec("fee_total_avg_6m", NUMBER, "average monthly total fee over the last 6 months, fen"),
        FeatureSpec("fee_total_mom_pct", NUMBER, "total fee change last month vs the month before, percent"),
        FeatureSpec("fee_total_3v3_pct", NUMBER, "total fee of the last 3 months vs the 3 before, percent"),
        FeatureSpec("fee_total_slope_6m", NUMBER, "least-squares trend of the total fee over 6 months, fen per month"),
        FeatureSpec(
            "fee_total_ref3", NUMBER, "own reference: average total fee of the 3 months before last month, fen"
        ),
        FeatureSpec("fee_total_vs_ref3_pct", NUMBER, "last month's total fee vs the own 3-month reference, percent"),
        FeatureSpec(
            "fee_line_min_vs_ref3_pct",
            NUMBER,
            "the largest fall of any product line's fee vs its own 3-month reference, percent",
        ),
        FeatureSpec(
            "fee_reference_months_ago",
            NUMBER,
            "months from the account's reference month (its own latest complete billing month, which every fee "
            "and usage feature describes) to as_of's month; 1 = the month before",
            "month_clock",
        ),
        FeatureSpec(
            "fee_last_month_missing",
            BOOL,
            "no bill arrived for the reference month although the base's billing period for it is closed "
            "(its fees count as 0)",
        ),
        FeatureSpec("fee_total_sum_12m", NUMBER, "revenue over the last 12 months, fen"),
        FeatureSpec(
            "revenue_cum_share_pct",
            NUMBER,
            "share of the base's 12-month revenue held by accounts with more revenue, percent (0 = top account)",
        ),
        FeatureSpec("months_billed_12m", NUMBER, "months with a fee in the last 12"),
        FeatureSpec("product_lines", NUMBER, "product lines with a fee last month"),
        FeatureSpec("days_overdue", NUMBER, "largest days overdue of the last 3 months' bills"),
        FeatureSpec("days_since_last_payment", NUMBER, "days since the latest paid bill", "days_since"),
        FeatureSpec("complaints_30d", NUMBER, "complaints in the last 30 days", "window"),
        FeatureSpec("complaints_90d", NUMBER, "complaints in the last 90 days", "window"),
        FeatureSpec("fault_tickets_30d", NUMBER, "fault tickets in the last 30 days", "window"),
        FeatureSpec("fault_tickets_90d", NUMBER, "fault tickets in the last 90 days", "window"),
        FeatureSpec("service_calls_30d", NUMBER, "service calls in the last 30 days", "window"),
        FeatureSpec("service_calls_90d", NUMBER, "service calls in the last 90 days", "window"),
        FeatureSpec(
            "satisfaction_index",
            NUMBER,
            "satisfaction index sum(i * P_i) over 1-5 survey answers of the last 365 days",
            "window",
        ),
        FeatureSpec("surveys_365d", NUMBER, "satisfaction surveys in the last 365 days", "window"),
        FeatureSpec("visits_90d", NUMBER, "account-manager visits in the last 90 days", "window"),
        FeatureSpec("other_interactions_90d", NUMBER, "interactions other than visits in the last 90 days", "window"),
        FeatureSpec("interactions_365d", NUMBER, "interactions of any channel in the last 365 days", "window"),
        FeatureSpec(
            "days_since_last_interaction",
            NUMBER,
            "days since the latest interaction (null beyond 400 days)",
            "days_since",
        ),
        FeatureSpec(
            "days_since_last_visit", NUMBER, "days since the latest visit (null beyond 400 days)", "days_since"
        ),
        FeatureSpec("competitor_present", BOOL, "competitor intelligence in the last 365 days", "window"),
        FeatureSpec("competitor_count", NUMBER, "distinct competitors reported in the last 365 days", "window"),
        FeatureSpec(
            "competitor_active_approach",
            BOOL,
            "a competitor is actively approaching the account (reported in the last 180 days)",
            "window",
        ),
        FeatureSpec(
            "competitor_contract_end_months",
            NUMBER,
            "months to the earliest future end of a competitor contract",
            "month_clock",
        ),
        FeatureSpec("open_opportunities", NUMBER, "opportunities neither won nor lost"),
        FeatureSpec("open_opportunity_budget_fen", NUMBER, "budget of open opportunities, fen"),
        FeatureSpec("active_products", NUMBER, "subscriptions held"),
        FeatureSpec("subscribed_monthly_fee_fen", NUMBER, "recurring monthly fee of held subscriptions, fen"),
        FeatureSpec("active_contacts", NUMBER, "active contact persons"),
        FeatureSpec("decision_makers", NUMBER, "active decision makers"),
        FeatureSpec("churn_probability", NUMBER, "latest churn probability from scoring, 0-1"),
        FeatureSpec("risk_band", STRING, "latest churn risk band from scoring (LOW, MEDIUM, HIGH)"),
        FeatureSpec("predicted_value_fen", NUMBER, "latest predicted revenue from scoring, fen"),
        # Base analytics published with the scores (scoring's latest run; absent before one).
        FeatureSpec("clv_fen", NUMBER, "customer lifetime value from scoring: expected discounted margin, fen"),
        FeatureSpec("clv_tier", STRING, "lifetime value tier from scoring (top, high, medium, low, negative)"),
        FeatureSpec("rfm_recency_score", NUMBER, "RFM recency score 1-5 against the base's quintiles"),
        FeatureSpec("rfm_frequency_score", NUMBER, "RFM frequency score 1-5 against the base's quintiles"),
        FeatureSpec("rfm_monetary_score", NUMBER, "RFM monetary score 1-5 against the base's quintiles"),
        FeatureSpec("rfm_segment", STRING, "RFM segment from scoring (champions, loyal, at_risk, hibernating, ...)"),
        FeatureSpec("cluster", STRING, "k-means cluster label from scoring (stable across runs), e.g. c3"),
        FeatureSpec("cluster_name", STRING, "what distinguishes the account's cluster, in words"),
        FeatureSpec("outlier_flagged", BOOL, "flagged as an outlier (possible fraud) by scoring, not dismissed"),
        FeatureSpec("outlier_score", NUMBER, "outlier score from scoring, 0-1 (higher = more unusual)"),
    ]
    # Margin (issue #19, domain/margin.py): same months as the fee features, costed months only.
    s += [FeatureSpec(name, NUMBER, description) for name, description in margin_feature_specs()]
    s.append(
        FeatureSpec(
            "cost_last_month_missing",
            BOOL,
            "the reference month has a bill but no cost record (its margin is unknown, not 100 %)",
        )
    )
    for line in LINE_NAMES.values():
        s += [
            FeatureSpec(f"fee_{line}_last_month", NUMBER, f"{line} fee of the last closed month, fen"),
            FeatureSpec(f"fee_{line}_avg_3m", NUMBER, f"{line} average monthly fee over 3 months, fen"),
            FeatureSpec(f"fee_{line}_avg_6m", NUMBER, f"{line} average monthly fee over 6 months, fen"),
            FeatureSpec(f"fee_{line}_mom_pct", NUMBER, f"{line} fee change last month vs the month before, percent"),
            FeatureSpec(f"fee_{line}_3v3_pct", NUMBER, f"{line} fee of the last 3 months vs the 3 before, percent"),
            FeatureSpec(f"fee_{line}_slope_6m", NUMBER, f"{line} fee trend over 6 months, fen per month"),
            FeatureSpec(
                f"fee_{line}_vs_ref3_pct", NUMBER, f"{line} fee last month vs its own 3-month reference, percent"
            ),
            FeatureSpec(f"usage_{line}_last_month", NUMBER, f"{line} usage quantity last month"),
            FeatureSpec(
                f"usage_{line}_mom_pct", NUMBER, f"{line} usage change last month vs the month before, percent"
            ),
        ]
    return s


BUILTIN_FEATURES: tuple[FeatureSpec, ...] = tuple(_specs())
BUILTIN_BY_NAME: dict[str, FeatureSpec] = {f.name: f for f in BUILTIN_FEATURES}


def attribute_type(value: object) -> str:
    """The expression type of an operator attribute value."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    return STRING


def type_map(attribute_types: dict[str, str]) -> dict[str, str]:
    """name -> type for expressions: built-in features plus `attr.<name>` attributes."""
    types = {f.name: f.type for f in BUILTIN_FEATURES}
    types.update({f"attr.{name}": kind for name, kind in attribute_types.items()})
    return types


def time_kind(name: str) -> str | None:
    """Time behaviour of a feature name (None for attributes and static features)."""
    spec = BUILTIN_BY_NAME.get(name)
    return spec.time if spec else None
