"""The plan of a generated base: what each account is and what happens to it, month by month.

Planning draws everything that ground truth reports (identity, hierarchy, tier, contracts,
churn and warning windows, the fee of every product line in every month) before a single
record is built; emitting records (emit.py) then only renders the plan plus event noise.
Month indexes ``t`` run from 0 (first generated month) to ``months - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telco360_datagen.catalog import IndustrySpec, ProductSpec, Region

if TYPE_CHECKING:
    from telco360_datagen.anomalies import Planted

#: Names of the warning signals that precede churn (see the package docstring).
SIGNALS: tuple[str, ...] = (
    "fee_decline",
    "complaints",
    "low_satisfaction",
    "competitor",
    "fewer_visits",
    "overdue",
    "contact_loss",
)


@dataclass(slots=True)
class Window:
    """A period in which an account shows warning signals.

    ``kind`` is "churn" (the signals ramp up to the termination month ``end``),
    "false_alarm" (they rise and fade by ``end``; the account stays) or "latent" (they
    rise over four months from ``start`` and stay: the account shifts usage elsewhere).
    ``signals`` maps each present signal to its strength (about 0.4-1.3).
    """

    kind: str
    start: int
    end: int
    signals: dict[str, float]

    def intensity(self, t: int) -> float:
        """How strongly the window acts in month t, 0..1."""
        if t < self.start:
            return 0.0
        if self.kind == "latent":
            return min(1.0, (t - self.start + 1) / 4)
        if t >= self.end:
            return 0.0
        length = self.end - self.start
        if self.kind == "churn":
            return (t - self.start + 1) / length
        half = length / 2
        pos = t - self.start + 0.5
        return max(0.0, 1.0 - abs(pos - half) / half)


@dataclass(slots=True)
class Contract:
    """A framework contract, months as absolute month numbers."""

    start: int
    end: int
    #: Month index from which this contract is the current one (master record update).
    from_t: int


@dataclass(slots=True)
class ContactPlan:
    """A contact person at the account."""

    person_id: str
    name: str
    role: str
    level: int
    phone: str
    email: str
    hours: str
    joined_t: int
    left_t: int | None = None


@dataclass(slots=True)
class LinePlan:
    """One product line of an account: fee, lines and usage in every month."""

    spec: ProductSpec
    product_code: str
    fees: list[int]
    lines: list[int]
    usage: list[float]
    #: Subscription events: (month index, SubscriptionAction value).
    changes: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class AccountPlan:
    """Everything planned for one account."""

    idx: int
    customer_id: str
    name: str
    name_en: str
    brand_en: str
    industry: IndustrySpec
    region: Region
    credit_code: str
    parent_id: str
    group_root: str
    tier: int = 0
    revenue_yuan: float = 0.0
    employees: int = 0
    manager_id: str = ""
    time_zone: str = ""
    email_domain: str = ""
    attributes: dict[str, object] = field(default_factory=dict)
    first_t: int = 0
    contracts: list[Contract] = field(default_factory=list)
    propensity: float = 0.0
    has_competitor: bool = False
    competitor: str = ""
    churn_t: int | None = None
    churn_day: int = 1
    churn_reason: int = 0
    warned: bool = False
    react_t: int | None = None
    latent_t: int | None = None
    windows: list[Window] = field(default_factory=list)
    lines: list[LinePlan] = field(default_factory=list)
    contacts: list[ContactPlan] = field(default_factory=list)
    #: Per-account baselines of event rates and satisfaction.
    service_base: float = 1.0
    survey_mean: float = 4.1
    diligence: float = 1.0
    late_payer: float = 0.02
    #: A planted anomaly's bill statuses and extra subscriptions (anomalies.py), else None.
    planted: Planted | None = None

    def active(self, t: int) -> bool:
        """Whether the account is a customer in month t (the churn month counts)."""
        if t < self.first_t:
            return False
        if self.churn_t is None or t <= self.churn_t:
            return True
        return self.react_t is not None and t >= self.react_t

    def signal(self, t: int, name: str) -> float:
        """Strength of a warning signal in month t (0 when absent)."""
        value = 0.0
        for window in self.windows:
            strength = window.signals.get(name)
            if strength:
                value = max(value, strength * window.intensity(t))
        return value

    def contract_at(self, t: int) -> Contract:
        """The contract current in month t."""
        current = self.contracts[0]
        for contract in self.contracts:
            if contract.from_t <= t:
                current = contract
        return current
