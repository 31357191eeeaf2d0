"""The public entry point: ``generate()`` plans a base and returns it as a GeneratedBase."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import accounts, anomalies, bad, billing, churn, costs
from telco360_datagen.catalog import TIER_NAMES
from telco360_datagen.emit import Emitter
from telco360_datagen.model import AccountPlan
from telco360_datagen.months import month_str, parse_month
from telco360_datagen.truth import AccountTruth, BadRecord, GroundTruth


@dataclass(slots=True)
class GeneratedBase:
    """A generated key-account base: its records (lazily, in ingest order) and ground truth.

    ``records()`` may be called any number of times and yields the same records each time.
    ``truth.bad_records`` is filled while records are iterated.
    """

    seed: int
    months: tuple[str, ...]
    bad_record_share: float
    truth: GroundTruth
    plans: list[AccountPlan]

    def labelled_records(self) -> Iterator[tuple[ingest_pb2.Record, BadRecord | None]]:
        """Every record in ingest order, with its BadRecord when it was made bad."""
        first_abs = parse_month(self.months[0])
        emitter: Iterator[ingest_pb2.Record] = iter(Emitter(self.plans, len(self.months), first_abs, self.seed))
        if self.truth.costs:  # booked inside their month: merged by time, the stream stays in order
            booked = costs.cost_records(self.plans, self.truth.costs, first_abs)
            emitter = heapq.merge(emitter, booked, key=lambda r: r.occurred_at.seconds)
        share = self.bad_record_share
        self.truth.bad_records.clear()
        for record in emitter:
            chosen, pick = bad.is_bad(self.seed, record, share)
            if chosen and (record.source, record.source_record_id) not in self.truth.bad_records:
                made = bad.corrupt(record, pick)
                if made is not None:
                    bad_record, truth = made
                    self.truth.bad_records[(truth.source, truth.source_record_id)] = truth
                    yield bad_record, truth
                    continue
            yield record, None

    def records(self) -> Iterator[ingest_pb2.Record]:
        """Every record in ingest order (by occurred_at)."""
        for record, _ in self.labelled_records():
            yield record

    def __iter__(self) -> Iterator[ingest_pb2.Record]:
        return self.records()


def generate(
    accounts: int,
    months: int,
    seed: int,
    end_month: str = "2026-10",
    bad_record_share: float = 0.0,
    anomaly_share: float = 0.0,
    cost_records: bool = False,
) -> GeneratedBase:
    """Plan a base of ``accounts`` key accounts over the ``months`` months ending ``end_month``.

    Deterministic for a seed. ``end_month`` should be a completed month (bills of a month
    are dated at its end). ``bad_record_share`` (0-0.5) is the share of records made bad
    for validation and quarantine demos (see bad.py). ``anomaly_share`` (0-0.2) is the share
    of accounts given a planted anomaly for outlier detection (see anomalies.py; 0: none).
    ``cost_records`` adds the monthly cost of serving each account (costs.py; off: the
    records are exactly those without it), with the amounts in ``truth.costs``.
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    if not 0.0 <= bad_record_share <= 0.5:
        raise ValueError("bad_record_share must be between 0 and 0.5")
    if not 0.0 <= anomaly_share <= 0.2:
        raise ValueError("anomaly_share must be between 0 and 0.2")
    last_abs = parse_month(end_month)
    first_abs = last_abs - months + 1
    if first_abs < 1990 * 12:
        raise ValueError("the generated period must not start before 1990")

    plans = _plan(seed, accounts, months, first_abs)
    planted = anomalies.plant(
        random.Random(f"telco360-datagen:{seed}:anomalies"), plans, months, first_abs, anomaly_share
    )
    month_names = tuple(month_str(first_abs + t) for t in range(months))
    truth = GroundTruth(
        months=month_names,
        accounts={p.customer_id: _truth(p, first_abs) for p in plans},
        line_fees={p.customer_id: _line_fees(p) for p in plans},
        anomalies=planted,
    )
    if cost_records:
        rng = random.Random(f"telco360-datagen:{seed}:costs")
        truth.costs = costs.plan_costs(rng, plans, truth.line_fees, months)
    return GeneratedBase(seed=seed, months=month_names, bad_record_share=bad_record_share, truth=truth, plans=plans)


def _plan(seed: int, count: int, months: int, first_abs: int) -> list[AccountPlan]:
    """Run the planning phases in order, each with its own random stream."""

    def rng(phase: str) -> random.Random:
        return random.Random(f"telco360-datagen:{seed}:{phase}")

    plans = accounts.plan_identities(rng("identities"), count)
    accounts.plan_business(rng("business"), plans, months, first_abs)
    churn.plan_propensity(rng("propensity"), plans)
    churn.plan_churn(rng("churn"), plans, months, first_abs)
    contacts_rng, lines_rng = rng("contacts"), rng("lines")
    for plan in plans:
        accounts.plan_contacts(contacts_rng, plan, months)
        billing.plan_lines(lines_rng, plan, months, first_abs)
    return plans


def _line_fees(plan: AccountPlan) -> dict[int, list[int]]:
    fees: dict[int, list[int]] = {}
    for line in plan.lines:
        column = fees.setdefault(line.spec.line, [0] * len(line.fees))
        for t, fee in enumerate(line.fees):
            column[t] += fee
    return fees


def _truth(plan: AccountPlan, first_abs: int) -> AccountTruth:
    def month(t: int | None) -> str | None:
        return None if t is None else month_str(first_abs + t)

    churn_window = next((w for w in plan.windows if w.kind == "churn"), None)
    false_alarm = next((w for w in plan.windows if w.kind == "false_alarm"), None)
    return AccountTruth(
        customer_id=plan.customer_id,
        name=plan.name,
        name_en=plan.name_en,
        industry=plan.industry.code,
        region=plan.region.region,
        tier=plan.tier,
        tier_name=TIER_NAMES[plan.tier],
        parent_customer_id=plan.parent_id,
        group_root=plan.group_root,
        manager_id=plan.manager_id,
        credit_code=plan.credit_code,
        first_month=month_str(first_abs + plan.first_t),
        propensity=round(plan.propensity, 4),
        has_competitor=plan.has_competitor,
        churn_month=month(plan.churn_t),
        churn_reason=plan.churn_reason,
        warned=plan.warned,
        warning_start_month=month(churn_window.start) if churn_window else None,
        warning_signals=tuple(sorted(churn_window.signals)) if churn_window else (),
        reactivated_month=month(plan.react_t),
        latent_churn_month=month(plan.latent_t),
        false_alarm_month=month(false_alarm.start) if false_alarm else None,
    )
