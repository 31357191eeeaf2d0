"""Planning churn: latent propensity, termination month, warning windows, reasons.

Propensity ``z`` of an account = industry effect + tier effect + 0.6 if a competitor is
present at the account + a group effect (members of groups stay more) + Gaussian noise
(sigma 0.55). The monthly hazard is ``base * exp(z)`` times a contract factor: x4 in the
last two months of the current contract, x1.5 two to three months before, x0.7 otherwise;
``base`` is calibrated so that about 1 % of accounts terminate per month (2-4 % per
quarter). Accounts can terminate from their third month on. When a group's headquarters
terminates, each of its branches follows with probability 0.35 within two months.

Of the churners, about 85 % are "warned": a window of 2-6 months before termination in
which each warning signal is present with its own probability and strength (at least two
present); the rest terminate with no warning. About 10 % of the accounts that never churn
get a false-alarm window (same signals, fading again), and about 5 % become latent churners
(fees fall for good from some month, the account stays). A few churners reactivate 2-8
months after terminating.
"""

from __future__ import annotations

import math
import random

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.catalog import COMPETITORS, TIER_CHURN_EFFECT
from telco360_datagen.model import AccountPlan, Contract, Window

REASON = ingest_pb2.TerminationReason
MONTHLY_CHURN_TARGET = 0.0125
WARNED_SHARE = 0.85
FALSE_ALARM_SHARE = 0.10
LATENT_SHARE = 0.05
REACTIVATION_SHARE = 0.08
#: Probability that each signal is present in a churn window.
SIGNAL_PRESENCE: dict[str, float] = {
    "fee_decline": 0.7,
    "complaints": 0.55,
    "low_satisfaction": 0.5,
    "competitor": 0.5,
    "fewer_visits": 0.5,
    "overdue": 0.3,
    "contact_loss": 0.25,
}
_COMPETITOR_HEAVY = ("ICT", "RETAIL", "HOSPITALITY", "LOGISTICS", "MEDIA")


def _contract_factor(plan: AccountPlan, t: int, first_abs: int) -> float:
    months_left = plan.contract_at(t).end - (first_abs + t)
    if months_left <= 1:
        return 4.0
    if months_left <= 3:
        return 1.5
    return 0.7


def plan_propensity(rng: random.Random, plans: list[AccountPlan]) -> None:
    """Competitor presence and the latent churn propensity of every account."""
    for plan in plans:
        p_comp = 0.45 if plan.industry.code in _COMPETITOR_HEAVY else 0.3
        plan.has_competitor = rng.random() < p_comp
        plan.competitor = COMPETITORS[rng.randrange(len(COMPETITORS))][0]
        group = -0.2 if plan.parent_id else (-0.3 if plan.group_root != plan.customer_id else 0.0)
        plan.propensity = (
            plan.industry.churn_effect
            + TIER_CHURN_EFFECT[plan.tier]
            + (0.6 if plan.has_competitor else 0.0)
            + group
            + rng.gauss(0.0, 0.55)
        )


def plan_churn(rng: random.Random, plans: list[AccountPlan], months: int, first_abs: int) -> None:
    """Draw termination months, then warning windows, reasons, reactivations."""
    mean_risk = sum(math.exp(p.propensity) for p in plans) / max(1, len(plans))
    base = MONTHLY_CHURN_TARGET / (mean_risk * 1.1)
    for plan in plans:
        if plan.churn_t is not None:
            continue  # set by its headquarters
        risk = base * math.exp(plan.propensity)
        for t in range(2 if plan.first_t == 0 else plan.first_t + 3, months):
            if rng.random() < min(0.5, risk * _contract_factor(plan, t, first_abs)):
                plan.churn_t = t
                break
        if plan.churn_t is not None and not plan.parent_id:
            for member in plans:
                if member.parent_id == plan.customer_id and member.churn_t is None and rng.random() < 0.35:
                    follow = plan.churn_t + rng.randint(0, 2)
                    if follow < months and follow >= member.first_t + 2:
                        member.churn_t = follow
    for plan in plans:
        if plan.churn_t is None:
            _plan_stayer(rng, plan, months)
        else:
            _plan_churner(rng, plan, months)
        # Contracts that would have started after the termination are never signed.
        if plan.churn_t is not None:
            plan.contracts = [c for c in plan.contracts if c.from_t < plan.churn_t or c is plan.contracts[0]]
        if plan.react_t is not None:
            length = rng.choice((12, 24))
            start = first_abs + plan.react_t
            contract = Contract(start=start, end=start + length - 1, from_t=plan.react_t)
            plan.contracts.append(contract)
            while contract.end < first_abs + months - 1:
                contract = Contract(start=contract.end + 1, end=contract.end + 24, from_t=contract.end - first_abs)
                plan.contracts.append(contract)


def _draw_signals(rng: random.Random, plan: AccountPlan, scale: float, low: float, high: float) -> dict[str, float]:
    signals: dict[str, float] = {}
    for name, p in SIGNAL_PRESENCE.items():
        if name == "competitor" and plan.has_competitor:
            p = 0.8
        if rng.random() < p * scale:
            signals[name] = rng.uniform(low, high)
    while len(signals) < 2:
        name = rng.choice(tuple(SIGNAL_PRESENCE))
        signals[name] = rng.uniform(low, high)
    return signals


def _plan_churner(rng: random.Random, plan: AccountPlan, months: int) -> None:
    churn_t = plan.churn_t
    assert churn_t is not None
    plan.churn_day = rng.randint(1, 27)
    plan.warned = rng.random() < WARNED_SHARE
    if plan.warned:
        start = max(plan.first_t, churn_t - rng.randint(2, 6))
        signals = _draw_signals(rng, plan, 1.0, 0.5, 1.3)
        plan.windows.append(Window("churn", start, churn_t, signals))
        if "competitor" in signals and rng.random() < 0.7:
            plan.churn_reason = REASON.TERMINATION_REASON_COMPETITOR
        elif ("complaints" in signals or "low_satisfaction" in signals) and rng.random() < 0.7:
            plan.churn_reason = REASON.TERMINATION_REASON_SERVICE_QUALITY
        elif "fee_decline" in signals and rng.random() < 0.6:
            plan.churn_reason = REASON.TERMINATION_REASON_PRICE
        else:
            plan.churn_reason = rng.choice((REASON.TERMINATION_REASON_OTHER, REASON.TERMINATION_REASON_PRICE))
    else:
        plan.churn_reason = rng.choices(
            (
                REASON.TERMINATION_REASON_BUSINESS_CLOSED,
                REASON.TERMINATION_REASON_RELOCATION,
                REASON.TERMINATION_REASON_COMPETITOR,
                REASON.TERMINATION_REASON_OTHER,
            ),
            weights=(0.35, 0.25, 0.2, 0.2),
        )[0]
    if (
        plan.churn_reason not in (REASON.TERMINATION_REASON_BUSINESS_CLOSED,)
        and churn_t <= months - 4
        and rng.random() < REACTIVATION_SHARE
    ):
        plan.react_t = churn_t + rng.randint(2, 8)
        if plan.react_t >= months:
            plan.react_t = None


def _plan_stayer(rng: random.Random, plan: AccountPlan, months: int) -> None:
    roll = rng.random()
    earliest = plan.first_t + 2
    if roll < FALSE_ALARM_SHARE and months - earliest >= 4:
        length = rng.randint(2, 5)
        start = rng.randint(earliest, months - 2)
        plan.windows.append(Window("false_alarm", start, start + length, _draw_signals(rng, plan, 0.8, 0.4, 1.0)))
    elif roll < FALSE_ALARM_SHARE + LATENT_SHARE and months - earliest >= 4:
        start = rng.randint(earliest, months - 2)
        signals = {"fee_decline": rng.uniform(0.7, 1.3)}
        if rng.random() < 0.5:
            signals["competitor"] = rng.uniform(0.5, 1.0)
        if rng.random() < 0.3:
            signals["complaints"] = rng.uniform(0.3, 0.8)
        plan.windows.append(Window("latent", start, months, signals))
        plan.latent_t = start
