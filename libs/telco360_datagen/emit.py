"""Rendering the plan into records, one month at a time, in ingest order.

For every month the emitter builds all records of all accounts, then sorts them by
``occurred_at`` (stable, so ties keep a fixed order). Every record of a month falls inside
that month (bills at midnight Beijing time after the month's last day, i.e. 16:00 UTC on
that day), so concatenating the months gives the whole stream in time order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import activity, anomalies, records, texts
from telco360_datagen.model import AccountPlan
from telco360_datagen.months import billing_cutoff, month_start, working_time

ADDED = ingest_pb2.SUBSCRIPTION_ACTION_ADDED
REMOVED = ingest_pb2.SUBSCRIPTION_ACTION_REMOVED
PAID = ingest_pb2.PAYMENT_STATUS_PAID
PENDING = ingest_pb2.PAYMENT_STATUS_PENDING
OVERDUE = ingest_pb2.PAYMENT_STATUS_OVERDUE
WRITTEN_OFF = ingest_pb2.PAYMENT_STATUS_WRITTEN_OFF
TERMINATED = ingest_pb2.LIFECYCLE_ACTION_TERMINATED
REACTIVATED = ingest_pb2.LIFECYCLE_ACTION_REACTIVATED
_DAY = 86_400


class Emitter:
    """Emits the records of planned accounts; one instance per iteration (it keeps state)."""

    def __init__(self, plans: list[AccountPlan], months: int, first_abs: int, seed: int) -> None:
        self.plans = plans
        self.months = months
        self.first_abs = first_abs
        self.rng = random.Random(f"telco360-datagen:{seed}:emit")
        self.states = [activity.AccountState() for _ in plans]

    def __iter__(self) -> Iterator[ingest_pb2.Record]:
        for t in range(self.months):
            yield from self.month(t)

    def month(self, t: int) -> list[ingest_pb2.Record]:
        """All records of month t, sorted by occurred_at."""
        out: activity.Out = []
        for plan in self.plans:
            if plan.active(t):
                self._account(plan, self.states[plan.idx], t, out)
        out.sort(key=lambda item: item[0])
        return [record for _, record in out]

    def _account(self, plan: AccountPlan, st: activity.AccountState, t: int, out: activity.Out) -> None:
        rng, month = self.rng, self.first_abs + t
        term_ts = None
        if t == plan.churn_t:
            term_ts = month_start(month) + (plan.churn_day - 1) * _DAY + rng.randrange(3600, 10 * 3600)
        onboard_ts = self._master(plan, st, t, month, term_ts, out)
        self._contacts(plan, t, month, onboard_ts, term_ts, out)
        self._subscriptions(plan, st, t, month, onboard_ts, term_ts, out)
        anomalies.emit_subscriptions(plan, st, t, month, out)
        live = [line.spec.line for line in plan.lines if line.fees[t] > 0] or [
            line.spec.line for line in plan.lines[:1]
        ]
        activity.service_events(rng, plan, st, t, month, term_ts, live, out)
        activity.interactions(rng, plan, st, t, month, term_ts, out)
        activity.competitor_intel(rng, plan, st, t, month, term_ts, out)
        activity.opportunities(rng, plan, st, t, month, term_ts, out)
        if term_ts is not None:
            self._terminate(plan, st, t, term_ts, out)
        self._bills(plan, t, month, out)

    def _master(
        self, plan: AccountPlan, st: activity.AccountState, t: int, month: int, before: int | None, out: activity.Out
    ) -> int | None:
        """Account master at onboarding, renewals and reactivation; returns the onboarding time."""
        rng = self.rng
        onboard_ts = None
        if t == plan.first_t:
            # Accounts that exist at the start arrive in the CRM's initial load.
            onboard_ts = month_start(month) + 60 + plan.idx % 3000 if t == 0 else working_time(rng, month, before)
            out.append((onboard_ts, records.account(plan, plan.contract_at(t), onboard_ts)))
        react_ts = None
        if t == plan.react_t:
            react_ts = working_time(rng, month)
            out.append(
                (react_ts, records.lifecycle(plan.customer_id, st.next(), react_ts, REACTIVATED, 0, "客户重新签约回归"))
            )
        for contract in plan.contracts:
            if contract.from_t == t and t != plan.first_t:
                ts = react_ts + 60 if react_ts is not None and t == plan.react_t else working_time(rng, month, before)
                out.append((ts, records.account(plan, contract, ts)))
        return onboard_ts

    def _contacts(
        self, plan: AccountPlan, t: int, month: int, onboard_ts: int | None, before: int | None, out: activity.Out
    ) -> None:
        for person in plan.contacts:
            if person.joined_t == t:
                ts = onboard_ts + 1 if onboard_ts is not None else working_time(self.rng, month, before)
                out.append((ts, records.contact(plan, person, ts)))
            if person.left_t == t:
                ts = working_time(self.rng, month, before)
                out.append((ts, records.contact(plan, person, ts, inactive=True)))

    def _subscriptions(
        self,
        plan: AccountPlan,
        st: activity.AccountState,
        t: int,
        month: int,
        onboard_ts: int | None,
        before: int | None,
        out: activity.Out,
    ) -> None:
        for line in plan.lines:
            for change_t, action in line.changes:
                if change_t != t:
                    continue
                if action == ADDED and onboard_ts is not None:
                    ts = onboard_ts + 2
                else:
                    ts = working_time(self.rng, month, before)
                removed = action == REMOVED
                out.append(
                    (
                        ts,
                        records.subscription(
                            plan.customer_id,
                            st.next(),
                            line.product_code,
                            line.spec.line,
                            action,
                            0 if removed else line.lines[t],
                            0 if removed else line.fees[t],
                            ts,
                        ),
                    )
                )

    def _terminate(self, plan: AccountPlan, st: activity.AccountState, t: int, ts: int, out: activity.Out) -> None:
        out.append(
            (
                ts,
                records.lifecycle(
                    plan.customer_id,
                    st.next(),
                    ts,
                    TERMINATED,
                    plan.churn_reason,
                    texts.TERMINATION_DETAILS.get(plan.churn_reason, ""),
                ),
            )
        )
        for line in plan.lines:
            if line.fees[t] > 0:
                out.append(
                    (
                        ts + 60,
                        records.subscription(
                            plan.customer_id, st.next(), line.product_code, line.spec.line, REMOVED, 0, 0, ts + 60
                        ),
                    )
                )
        for opp in st.opps:
            opp.stage = activity.LOST
            activity.emit_opportunity(plan, opp, ts + 120, out)
        st.opps = []

    def _bills(self, plan: AccountPlan, t: int, month: int, out: activity.Out) -> None:
        """One bill per billed product line; the payment status is the account's for the month."""
        rng = self.rng
        s_over = plan.signal(t, "overdue") or (plan.signal(t - 1, "overdue") if t == plan.churn_t else 0.0)
        status, days = PAID, 0
        if t == plan.churn_t and s_over > 0 and rng.random() < 0.4:
            status, days = WRITTEN_OFF, rng.randint(90, 180)
        elif rng.random() < plan.late_payer + 0.75 * s_over:
            status, days = OVERDUE, rng.randint(5, 30) + int(60 * s_over * rng.random())
        elif t == self.months - 1 and rng.random() < 0.5:
            status = PENDING
        status, days = anomalies.payment(plan, t, status, days)
        ts = billing_cutoff(month)
        for line in plan.lines:
            fee = line.fees[t]
            if fee > 0:
                out.append(
                    (
                        ts,
                        records.billing(
                            plan.customer_id,
                            month,
                            line.spec.line,
                            line.spec.key,
                            fee,
                            line.usage[t],
                            line.spec.unit,
                            line.lines[t],
                            status,
                            days,
                            ts,
                        ),
                    )
                )
