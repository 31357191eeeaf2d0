"""Ground truth of a generated base, for tests, demos and model evaluation.

Everything here is known before any record is emitted, except ``bad_records``, which is
filled as the records are iterated (a bad record is decided from a hash of its identity,
so every iteration flags the same ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.months import month_str, parse_month


@dataclass(frozen=True, slots=True)
class AccountTruth:
    """What the generator decided about one account."""

    customer_id: str
    name: str
    name_en: str
    industry: str
    region: str
    #: AccountTier value (1 diamond ... 6 crystal) and its name.
    tier: int
    tier_name: str
    parent_customer_id: str
    #: customer_id of the group's headquarters (the account itself when not in a group).
    group_root: str
    manager_id: str
    credit_code: str
    #: First month the account is a customer (later than the first month when acquired).
    first_month: str
    #: Latent churn propensity (log-odds scale; higher churns more).
    propensity: float
    has_competitor: bool
    #: Month of the termination record, None when the account never terminates.
    churn_month: str | None
    #: TerminationReason value (0 when the account does not terminate).
    churn_reason: int
    #: Whether warning signals preceded the termination.
    warned: bool
    warning_start_month: str | None
    #: Signals present before the termination (names from model.SIGNALS).
    warning_signals: tuple[str, ...]
    reactivated_month: str | None
    #: Month from which fees fall for good while the account stays (latent churn).
    latent_churn_month: str | None
    #: Start of a window of warning signals that was not followed by churn.
    false_alarm_month: str | None


@dataclass(frozen=True, slots=True)
class PlantedAnomaly:
    """An anomaly planted in an account (anomalies.py), for measuring outlier detection."""

    customer_id: str
    #: usage_surge, arrears_rising_usage, lines_burst or fraud_like.
    kind: str
    #: The month whose bills show it ("YYYY-MM", the last generated month).
    month: str
    #: The signals it shows, as a detector's reason codes (fraud_like shows several).
    signals: tuple[str, ...]
    #: What was planted, in words (factors, subscriptions added).
    detail: str


@dataclass(frozen=True, slots=True)
class AccountCosts:
    """The cost of serving one account (costs.py), for hand-checking margins."""

    customer_id: str
    #: (ProductLine value, CostType value) -> amount in fen per month (aligned with ``months``).
    amounts: dict[tuple[int, int], list[int]]
    #: What shaped the costs: discounted, subsidised, partner_channel, loss_making.
    traits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A deliberately bad record in the stream, with what is wrong and the good version."""

    source: str
    source_record_id: str
    customer_id: str
    #: NEGATIVE_FEE, BAD_MONTH, NEGATIVE_COST, SURVEY_OUT_OF_RANGE, MALFORMED_PHONE or MISSING_REQUIRED.
    kind: str
    #: Path of the bad field, e.g. "billing.fee_fen".
    field: str
    #: The record as it should have been (a correction for ReplayQuarantine).
    corrected: ingest_pb2.Record


@dataclass(slots=True)
class GroundTruth:
    """Ground truth of a generated base."""

    months: tuple[str, ...]
    accounts: dict[str, AccountTruth]
    #: customer_id -> ProductLine value -> fee in fen per month (aligned with ``months``).
    line_fees: dict[str, dict[int, list[int]]]
    #: (source, source_record_id) -> bad record, in stream order; filled (afresh) while
    #: records are iterated. At most one version of a record id is made bad.
    bad_records: dict[tuple[str, str], BadRecord] = field(default_factory=dict)
    #: customer_id -> planted anomaly (empty unless generate() was given an anomaly_share).
    anomalies: dict[str, PlantedAnomaly] = field(default_factory=dict)
    #: customer_id -> cost of serving it (empty unless generate() was given costs=True).
    costs: dict[str, AccountCosts] = field(default_factory=dict)

    def monthly_cost(self, customer_id: str, month: str, cost_type: int | None = None) -> int:
        """Total booked cost (fen) of the account in the month (of one CostType when given); 0 when none."""
        t = parse_month(month) - parse_month(self.months[0])
        account = self.costs.get(customer_id)
        if account is None or not 0 <= t < len(self.months):
            return 0
        return sum(v[t] for (_, kind), v in account.amounts.items() if cost_type is None or kind == cost_type)

    def monthly_margin(self, customer_id: str, month: str) -> int:
        """Billed fee minus booked cost (fen) of the account in the month."""
        return self.monthly_total(customer_id, month) - self.monthly_cost(customer_id, month)

    def margin_rate(self, customer_id: str, months: list[str]) -> float | None:
        """Margin / fee over the months (None when they have no fee)."""
        fee = sum(self.monthly_total(customer_id, m) for m in months)
        if fee <= 0:
            return None
        return sum(self.monthly_margin(customer_id, m) for m in months) / fee

    def monthly_total(self, customer_id: str, month: str) -> int:
        """Total billed fee (fen) of the account in the month, 0 when nothing billed."""
        t = parse_month(month) - parse_month(self.months[0])
        if not 0 <= t < len(self.months):
            return 0
        return sum(fees[t] for fees in self.line_fees[customer_id].values())

    @property
    def monthly_totals(self) -> dict[str, dict[str, int]]:
        """customer_id -> month -> total billed fee in fen (months with a bill only)."""
        out: dict[str, dict[str, int]] = {}
        for cid, lines in self.line_fees.items():
            totals = [sum(col) for col in zip(*lines.values(), strict=True)] if lines else []
            out[cid] = {self.months[t]: v for t, v in enumerate(totals) if v}
        return out

    def churned(self) -> dict[str, str]:
        """customer_id -> termination month, for every account that terminates."""
        return {cid: a.churn_month for cid, a in self.accounts.items() if a.churn_month}

    def churns_within(self, customer_id: str, as_of_month: str, horizon_months: int) -> bool:
        """Whether the account terminates in the ``horizon_months`` months after ``as_of_month``."""
        churn = self.accounts[customer_id].churn_month
        if churn is None:
            return False
        delta = parse_month(churn) - parse_month(as_of_month)
        return 0 < delta <= horizon_months

    def is_customer(self, customer_id: str, month: str) -> bool:
        """Whether the account is a customer during the month (the churn month counts)."""
        acct = self.accounts[customer_id]
        m = parse_month(month)
        if m < parse_month(acct.first_month):
            return False
        if acct.churn_month is None or m <= parse_month(acct.churn_month):
            return True
        return acct.reactivated_month is not None and m >= parse_month(acct.reactivated_month)

    def children(self, customer_id: str) -> list[str]:
        """Direct branches and subsidiaries of an account."""
        return [cid for cid, a in self.accounts.items() if a.parent_customer_id == customer_id]

    def groups(self) -> dict[str, list[str]]:
        """Headquarters customer_id -> member customer_ids, for group customers."""
        out: dict[str, list[str]] = {}
        for cid, acct in self.accounts.items():
            if acct.parent_customer_id:
                out.setdefault(acct.parent_customer_id, []).append(cid)
        return out

    def quarterly_churn_rates(self) -> dict[str, float]:
        """First month of each full quarter -> terminations in it / customers at its start."""
        rates: dict[str, float] = {}
        start = parse_month(self.months[0])
        for q in range(len(self.months) // 3):
            first = month_str(start + 3 * q)
            months = {month_str(start + 3 * q + k) for k in range(3)}
            base = [a for a in self.accounts.values() if self.is_customer(a.customer_id, first)]
            churned = sum(1 for a in base if a.churn_month in months)
            rates[first] = churned / len(base) if base else 0.0
        return rates
