"""The built-in tag pack drawn from operator practice (shipped as editable definitions).

Value tiers follow the share of the base's 12-month revenue: accounts are ranked by
revenue and `revenue_cum_share_pct` is the share held by accounts ranked above; the top
accounts that together bring the first 5 % of revenue are diamond, and so on down to
crystal. The fee-drop early warning fires when any product line's monthly fee is down
20 % or more, or the total is down 10 % or more, against the account's own reference
(the average of the three months before the last closed month).

Profitability tiers (issue #19) read the margin of the last 3 costed months
(`margin_3m_fen`, `margin_rate_3m`: fee minus cost over the months with a cost record, see
domain/margin.py): loss-making when the margin is below zero; high at a margin rate of 35 %
or more and at least 30,000 yuan of margin over the 3 months (a small account with a high
rate is medium: its margin pays little of the account team); medium from 15 %; low below 15 %
(a break-even account, or one costed without fee, is low). An account without a costed
month in the window gets none of them: missing cost is not 100 % margin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinTag:
    """A shipped tag definition."""

    tag_id: str
    display_name: str
    category: str
    description: str
    expression: str


PROFIT_HIGH_RATE = 0.35
PROFIT_HIGH_MARGIN_FEN = 3_000_000  # 30,000 yuan over 3 months
PROFIT_MEDIUM_RATE = 0.15
_HIGH = f"margin_rate_3m >= {PROFIT_HIGH_RATE:g} and margin_3m_fen >= {PROFIT_HIGH_MARGIN_FEN}"


def _tier(tag_id: str, name: str, low: float, high: float | None, chinese: str) -> BuiltinTag:
    upper = f" and revenue_cum_share_pct < {high:g}" if high is not None else ""
    return BuiltinTag(
        tag_id,
        f"{name} ({chinese})",
        "value",
        f"Value tier by share of revenue: accounts from {low:g} % "
        f"to {high if high is not None else 100:g} % of cumulative 12-month revenue.",
        f"status = 'ACTIVE' and fee_total_sum_12m > 0 and revenue_cum_share_pct >= {low:g}{upper}",
    )


BUILTIN_TAGS: tuple[BuiltinTag, ...] = (
    _tier("value_diamond", "Diamond", 0, 5, "钻石"),
    _tier("value_emerald", "Emerald", 5, 15, "翡翠"),
    _tier("value_platinum", "Platinum", 15, 30, "白金"),
    _tier("value_sapphire", "Sapphire", 30, 50, "宝石"),
    _tier("value_gold", "Gold", 50, 75, "黄金"),
    _tier("value_crystal", "Crystal", 75, None, "水晶"),
    BuiltinTag(
        "vip",
        "VIP",
        "value",
        "Top accounts: the first 15 % of revenue, or a diamond/emerald service tier.",
        "status = 'ACTIVE' and ((fee_total_sum_12m > 0 and revenue_cum_share_pct < 15) "
        "or tier in ('DIAMOND', 'EMERALD'))",
    ),
    BuiltinTag(
        "loyal",
        "Loyal",
        "behaviour",
        "Three years or more with stable spend, no active competitor approach and no complaints in 90 days.",
        "status = 'ACTIVE' and tenure_months >= 36 and coalesce(fee_total_3v3_pct, 0) > -10 "
        "and not competitor_active_approach and coalesce(complaints_90d, 0) = 0",
    ),
    BuiltinTag(
        "fee_drop",
        "Fee-drop warning",
        "risk",
        "A product line's monthly fee fell 20 % or more, or the total fell 10 % or more, "
        "against the account's own 3-month reference.",
        "status = 'ACTIVE' and (fee_total_vs_ref3_pct <= -10 or fee_line_min_vs_ref3_pct <= -20)",
    ),
    BuiltinTag(
        "early_warning",
        "Early warning",
        "risk",
        "Signs before churn: falling fees, repeated complaints or faults, low satisfaction, "
        "a competitor approaching, long overdue bills or a high churn risk.",
        "status = 'ACTIVE' and (fee_total_vs_ref3_pct <= -10 or fee_line_min_vs_ref3_pct <= -20 "
        "or complaints_90d + fault_tickets_90d >= 3 or satisfaction_index < 3 "
        "or competitor_active_approach or days_overdue >= 60 or risk_band = 'HIGH')",
    ),
    BuiltinTag(
        "rfm_champion",
        "RFM: champion",
        "rfm",
        "Scoring's RFM segment 'champions' (top quintiles of recency, frequency and spend in the base); "
        "before scoring's first base analytics run: paid or met within 45 days, 6+ interactions a year "
        "and in the top 30 % of revenue.",
        "status = 'ACTIVE' and (rfm_segment = 'champions' or (is_null(rfm_segment) "
        "and min(days_since_last_payment, days_since_last_interaction) <= 45 "
        "and interactions_365d >= 6 and revenue_cum_share_pct < 30))",
    ),
    BuiltinTag(
        "rfm_at_risk",
        "RFM: valuable but drifting",
        "rfm",
        "Scoring's RFM segments 'at_risk' and 'cannot_lose' (spent and came often, not lately); "
        "before scoring's first base analytics run: top 50 % of revenue but no interaction for more than 120 days.",
        "status = 'ACTIVE' and (rfm_segment in ('at_risk', 'cannot_lose') or (is_null(rfm_segment) "
        "and revenue_cum_share_pct < 50 and coalesce(days_since_last_interaction, 100000) > 120))",
    ),
    BuiltinTag(
        "rfm_hibernating",
        "RFM: hibernating",
        "rfm",
        "Scoring's RFM segments 'hibernating' and 'lost'; before scoring's first base analytics run: "
        "low value, at most one interaction a year and none for more than 180 days.",
        "status = 'ACTIVE' and (rfm_segment in ('hibernating', 'lost') or (is_null(rfm_segment) "
        "and revenue_cum_share_pct >= 50 and interactions_365d <= 1 "
        "and coalesce(days_since_last_interaction, 100000) > 180))",
    ),
    BuiltinTag(
        "dormant",
        "Dormant",
        "lifecycle",
        "Not terminated but no fee for the last 3 months.",
        "status = 'ACTIVE' and fee_total_avg_3m = 0",
    ),
    BuiltinTag(
        "competitor_threat",
        "Competitor threat",
        "risk",
        "A competitor is actively approaching, or a competitor is present while our contract ends within 6 months.",
        "status = 'ACTIVE' and (competitor_active_approach "
        "or (competitor_present and months_to_contract_end between 0 and 6))",
    ),
    BuiltinTag(
        "contract_ending_soon",
        "Contract ending soon",
        "lifecycle",
        "The framework contract ends within 3 months.",
        "status = 'ACTIVE' and months_to_contract_end between 0 and 3",
    ),
    BuiltinTag(
        "low_satisfaction",
        "Low satisfaction",
        "risk",
        "Satisfaction index below 3 over the last year, or 3+ complaints in 90 days.",
        "status = 'ACTIVE' and (satisfaction_index < 3 or complaints_90d >= 3)",
    ),
    BuiltinTag(
        "rfm_loyal",
        "RFM: loyal",
        "rfm",
        "Scoring's RFM segments 'loyal' and 'potential_loyalist': come often and spend well, recently.",
        "status = 'ACTIVE' and rfm_segment in ('loyal', 'potential_loyalist')",
    ),
    BuiltinTag(
        "clv_top",
        "Top lifetime value",
        "value",
        "Lifetime value (expected discounted margin over scoring's horizon) in the top 30 % of the base.",
        "status = 'ACTIVE' and clv_tier in ('top', 'high')",
    ),
    BuiltinTag(
        "clv_negative",
        "Loss-making over its lifetime",
        "value",
        "Expected discounted margin over scoring's horizon is below zero: serving the account costs more "
        "than it brings.",
        "status = 'ACTIVE' and clv_fen < 0",
    ),
    BuiltinTag(
        "profitability_high",
        "Profitability: high",
        "profitability",
        f"Margin rate of the last 3 costed months {PROFIT_HIGH_RATE:.0%} or more, with at least "
        f"{PROFIT_HIGH_MARGIN_FEN // 100:,} yuan of margin over them.",
        f"status = 'ACTIVE' and margin_3m_fen >= 0 and {_HIGH}",
    ),
    BuiltinTag(
        "profitability_medium",
        "Profitability: medium",
        "profitability",
        f"Margin rate of the last 3 costed months {PROFIT_MEDIUM_RATE:.0%} or more, and not high.",
        f"status = 'ACTIVE' and margin_3m_fen >= 0 and margin_rate_3m >= {PROFIT_MEDIUM_RATE:g} and not ({_HIGH})",
    ),
    BuiltinTag(
        "profitability_low",
        "Profitability: low",
        "profitability",
        f"Margin of the last 3 costed months at or above zero but below {PROFIT_MEDIUM_RATE:.0%} of the fee "
        "(break-even included).",
        f"status = 'ACTIVE' and margin_3m_fen >= 0 and coalesce(margin_rate_3m, 0) < {PROFIT_MEDIUM_RATE:g}",
    ),
    BuiltinTag(
        "profitability_loss_making",
        "Profitability: loss-making",
        "profitability",
        "Serving the account cost more than it was billed over the last 3 costed months.",
        "status = 'ACTIVE' and margin_3m_fen < 0",
    ),
    BuiltinTag(
        "outlier_suspect",
        "Outlier: review for fraud",
        "risk",
        "Scoring's outlier detector or a fraud rule (usage surge, arrears with rising usage, many lines at once) "
        "flagged the account and no reviewer dismissed it; the reasons are in its score's analytics.",
        "outlier_flagged",
    ),
)
