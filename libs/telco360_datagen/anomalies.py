"""Planted anomalies: usage surges, arrears with rising usage, line bursts and fraud-like accounts.

Off by default (``generate(..., anomaly_share=0.0)`` gives exactly the same records as
before). With a share, that share of accounts (rounded; at least one of each kind from four
accounts) is drawn from the accounts that are customers through the last seven generated
months and do not terminate, and each gets one anomaly in the last generated month ``T``
(the month profile's features describe as of the month after):

* ``usage_surge`` (30 % of planted): one usage line (mobile data, voice or IoT) uses 2.5-10x
  its usual quantity in ``T``; its fee rises by 30-60 % of the extra (overage charges).
* ``arrears_rising_usage`` (30 %): the bills of ``T-2 .. T`` are overdue 35-120 days (the one
  of ``T-2`` written off with 90-180 days in 30 % of cases) while every usage line's usage
  rises: x1.1-1.3 in ``T-1`` and x1.5-3 in ``T``, fees by half the rise.
* ``lines_burst`` (30 %): 3-5 new subscriptions (distinct product codes of mobile data, voice
  and IoT) are ADDED in ``T`` with many lines each, their recurring fee together 2-6x the
  account's average bill of ``T-3 .. T-1``; their lines, usage and fees are billed in ``T``
  with the product line's other subscriptions.
* ``fraud_like`` (10 %): several signals at once, the pattern of subscription fraud: a burst as
  above in ``T-1``, usage on the new lines 3-6x in ``T``, and the bills of ``T-1`` and ``T``
  unpaid (31-90 days overdue).

Planting runs after all other planning with its own random stream and changes only the
planted accounts' plans (``AccountPlan.planted`` carries the bill status overrides and the
extra subscription records for the emitter), so the truth's fees include it and other
accounts' plans are unchanged. ``truth.anomalies`` lists what was planted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import records
from telco360_datagen.activity import AccountState, Out
from telco360_datagen.catalog import PRODUCT_BY_KEY
from telco360_datagen.model import AccountPlan, LinePlan
from telco360_datagen.months import month_start, month_str
from telco360_datagen.truth import PlantedAnomaly

KINDS: tuple[str, ...] = ("usage_surge", "arrears_rising_usage", "lines_burst", "fraud_like")
#: Share of the planted accounts per kind.
KIND_SHARES: dict[str, float] = {"usage_surge": 0.3, "arrears_rising_usage": 0.3, "lines_burst": 0.3, "fraud_like": 0.1}
#: Months of history a planted account needs before T (the 3-month reference and 3 before it).
HISTORY_MONTHS = 6
USAGE_KEYS = ("mobile_data", "voice", "iot")
OVERDUE = ingest_pb2.PAYMENT_STATUS_OVERDUE
WRITTEN_OFF = ingest_pb2.PAYMENT_STATUS_WRITTEN_OFF
ADDED = ingest_pb2.SUBSCRIPTION_ACTION_ADDED
_DAY = 86_400


@dataclass(slots=True)
class Planted:
    """What the emitter renders for a planted account beyond its lines' fees and usage."""

    #: month index -> (PaymentStatus value, days overdue) replacing the drawn status.
    payments: dict[int, tuple[ingest_pb2.PaymentStatus, int]] = field(default_factory=dict)
    #: Extra subscription records: (month index, product code, product line, lines, monthly fee fen).
    subscriptions: list[tuple[int, str, int, int, int]] = field(default_factory=list)


#: The signals each kind shows (the reason codes a detector should give).
SIGNALS: dict[str, tuple[str, ...]] = {
    "usage_surge": ("usage_surge",),
    "arrears_rising_usage": ("arrears_rising_usage",),
    "lines_burst": ("lines_burst",),
    "fraud_like": ("lines_burst", "usage_surge", "arrears_rising_usage"),
}


def plant(
    rng: random.Random, plans: list[AccountPlan], months: int, first_abs: int, share: float
) -> dict[str, PlantedAnomaly]:
    """Plant anomalies in ``share`` of the accounts; returns customer_id -> what was planted."""
    if share <= 0.0:
        return {}
    last = months - 1
    eligible = [p for p in plans if _eligible(p, last)]
    count = min(len(eligible), round(share * len(plans)))
    if count == 0:
        return {}
    chosen = rng.sample(eligible, count)
    out: dict[str, PlantedAnomaly] = {}
    for plan, kind in zip(chosen, _kinds(count), strict=True):
        plan.planted = Planted()
        detail = _PLANTERS[kind](rng, plan, last)
        out[plan.customer_id] = PlantedAnomaly(
            plan.customer_id, kind, month_str(first_abs + last), SIGNALS[kind], detail
        )
    return out


def _eligible(plan: AccountPlan, last: int) -> bool:
    if plan.churn_t is not None or plan.react_t is not None or plan.first_t > last - HISTORY_MONTHS:
        return False
    return any(line.spec.key in USAGE_KEYS and line.fees[last] > 0 for line in plan.lines)


def _kinds(count: int) -> list[str]:
    """Kinds for ``count`` planted accounts by KIND_SHARES (largest remainder; each kind from 4)."""
    raw = {k: KIND_SHARES[k] * count for k in KINDS}
    n = {k: int(v) for k, v in raw.items()}
    if count >= len(KINDS):
        n = {k: max(1, v) for k, v in n.items()}
    for k in sorted(KINDS, key=lambda k: raw[k] - int(raw[k]), reverse=True):
        if sum(n.values()) >= count:
            break
        n[k] += 1
    while sum(n.values()) > count:
        biggest = max(KINDS, key=lambda k: n[k])
        n[biggest] -= 1
    return [k for k in KINDS for _ in range(n[k])]


def _usage_lines(plan: AccountPlan, t: int) -> list[LinePlan]:
    return [line for line in plan.lines if line.spec.key in USAGE_KEYS and line.fees[t] > 0]


def _scale(line: LinePlan, t: int, usage_factor: float, fee_share: float) -> None:
    """Usage x usage_factor in month t; the fee rises by fee_share of the same extra."""
    usage = line.usage[t] * usage_factor
    line.usage[t] = float(round(usage)) if line.spec.unit == "connection" else round(usage, 1)
    line.fees[t] = max(1, round(line.fees[t] * (1.0 + (usage_factor - 1.0) * fee_share)))


def _surge(rng: random.Random, plan: AccountPlan, last: int) -> str:
    line = rng.choice(_usage_lines(plan, last))
    factor = rng.uniform(2.5, 10.0)
    _scale(line, last, factor, rng.uniform(0.3, 0.6))
    return f"{line.spec.key} usage x{factor:.1f}"


def _arrears(rng: random.Random, plan: AccountPlan, last: int) -> str:
    assert plan.planted is not None
    up1, up2 = rng.uniform(1.1, 1.3), rng.uniform(1.5, 3.0)
    for line in _usage_lines(plan, last):
        if line.fees[last - 1] > 0:
            _scale(line, last - 1, up1, 0.5)
        _scale(line, last, up2, 0.5)
    for t in range(last - 2, last + 1):
        plan.planted.payments[t] = (OVERDUE, rng.randint(35, 120))
    if rng.random() < 0.3:
        plan.planted.payments[last - 2] = (WRITTEN_OFF, rng.randint(90, 180))
    return f"bills of the last 3 months unpaid; usage x{up1:.2f} then x{up2:.2f}"


def _burst(rng: random.Random, plan: AccountPlan, t: int, months: int) -> list[LinePlan]:
    """3-5 new subscriptions in month t billed from t on; returns the lines that carry them."""
    assert plan.planted is not None
    held = {line.product_code for line in plan.lines}
    pool = [(key, code) for key in USAGE_KEYS for code in PRODUCT_BY_KEY[key].codes if code not in held]
    picks = rng.sample(pool, min(len(pool), rng.randint(3, 5)))
    reference = sum(sum(line.fees[t - k] for line in plan.lines) for k in (1, 2, 3)) / 3
    budget = reference * rng.uniform(2.0, 6.0)
    by_key = {line.spec.key: line for line in plan.lines if line.spec.key in USAGE_KEYS}
    touched = []
    for key, code in picks:
        spec = PRODUCT_BY_KEY[key]
        unit_fee = rng.uniform(*spec.unit_fee_yuan) * 100
        quantity = max(1, round(budget / len(picks) / unit_fee))
        fee = round(quantity * unit_fee)
        plan.planted.subscriptions.append((t, code, spec.line, quantity, fee))
        line = by_key.get(key)
        if line is None:
            # A product line the account did not hold: billed from this month on.
            line = LinePlan(spec=spec, product_code=code, fees=[0] * months, lines=[0] * months, usage=[0.0] * months)
            plan.lines.append(line)
            by_key[key] = line
        per_line = sum(spec.usage_per_line) / 2
        for month in range(t, months):
            line.fees[month] += fee
            line.lines[month] += quantity
            line.usage[month] = round(line.usage[month] + quantity * per_line, 1)
        touched.append(line)
    return touched


def _lines_burst(rng: random.Random, plan: AccountPlan, last: int) -> str:
    assert plan.planted is not None
    _burst(rng, plan, last, len(plan.lines[0].fees))
    added = sum(q for _, _, _, q, _ in plan.planted.subscriptions)
    return f"{len(plan.planted.subscriptions)} subscriptions with {added} lines added at once"


def _fraud_like(rng: random.Random, plan: AccountPlan, last: int) -> str:
    assert plan.planted is not None
    lines = {id(line): line for line in _burst(rng, plan, last - 1, len(plan.lines[0].fees))}
    factor = rng.uniform(3.0, 6.0)
    for line in lines.values():
        _scale(line, last, factor, 0.4)
    for t in (last - 1, last):
        plan.planted.payments[t] = (OVERDUE, rng.randint(31, 90))
    return f"{len(plan.planted.subscriptions)} subscriptions added, usage x{factor:.1f} next month, both bills unpaid"


_PLANTERS = {
    "usage_surge": _surge,
    "arrears_rising_usage": _arrears,
    "lines_burst": _lines_burst,
    "fraud_like": _fraud_like,
}


def emit_subscriptions(plan: AccountPlan, st: AccountState, t: int, month: int, out: Out) -> None:
    """The planted extra subscription records of month t (at fixed times: no random draws)."""
    if plan.planted is None:
        return
    for n, (when, code, line, quantity, fee) in enumerate(plan.planted.subscriptions):
        if when == t:
            ts = month_start(month) + 2 * _DAY + 3600 + 60 * n
            out.append((ts, records.subscription(plan.customer_id, st.next(), code, line, ADDED, quantity, fee, ts)))


def payment(
    plan: AccountPlan, t: int, status: ingest_pb2.PaymentStatus, days: int
) -> tuple[ingest_pb2.PaymentStatus, int]:
    """The bill status of month t: the planted override, else the drawn one."""
    if plan.planted is None:
        return status, days
    return plan.planted.payments.get(t, (status, days))
