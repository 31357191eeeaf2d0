"""Monthly cost of serving each account (issue #19), for margin features and profitability.

Planned after every other phase, from the final fees (``GroundTruth.line_fees``, planted
anomalies included) with its own random stream, so turning costs on changes no other record.
Per account, month and product line with a fee, the finance system ("finance") books:

* **network** cost: a share of the line's fee that depends on the line (dedicated lines and
  ICT projects carry little margin, voice and mobile data much), drawn per account around the
  line's typical share and varied a little month to month;
* **ICT project** delivery cost on ICT-project lines (hardware, third-party work), most of the fee;
* **service** cost (operations, support, account team): a share of the account's total fee,
  higher for small accounts, booked on its largest line;
* **discount** for some accounts (a negotiated reduction on one or two lines), **subsidy**
  (terminals, installation) in an account's first month as a customer and at the month of
  each contract renewal, and **channel commission** for accounts sold through a partner
  (attribute ``sales_channel = partner``);
* a few **loss-making** accounts: under-priced deals whose network cost exceeds the fee.

Amounts are whole fen; a cost of 0 is not booked. Records are dated one hour after the
month's bills (still inside the month), so merged by time they keep the stream in ingest order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.model import AccountPlan
from telco360_datagen.months import billing_cutoff, month_str
from telco360_datagen.truth import AccountCosts

NETWORK = ingest_pb2.COST_TYPE_NETWORK
SERVICE = ingest_pb2.COST_TYPE_SERVICE
DISCOUNT = ingest_pb2.COST_TYPE_DISCOUNT
SUBSIDY = ingest_pb2.COST_TYPE_SUBSIDY
CHANNEL_COMMISSION = ingest_pb2.COST_TYPE_CHANNEL_COMMISSION
ICT_PROJECT = ingest_pb2.COST_TYPE_ICT_PROJECT
COST_TYPE_KEYS: dict[int, str] = {
    NETWORK: "network",
    SERVICE: "service",
    DISCOUNT: "discount",
    SUBSIDY: "subsidy",
    CHANNEL_COMMISSION: "channel_commission",
    ICT_PROJECT: "ict_project",
}

#: Typical network-cost share of a line's fee (the account's own share is drawn around it).
NETWORK_SHARE: dict[int, float] = {
    common_pb2.PRODUCT_LINE_VOICE: 0.28,
    common_pb2.PRODUCT_LINE_MOBILE_DATA: 0.33,
    common_pb2.PRODUCT_LINE_BROADBAND: 0.40,
    common_pb2.PRODUCT_LINE_DEDICATED_LINE: 0.58,
    common_pb2.PRODUCT_LINE_CLOUD: 0.45,
    common_pb2.PRODUCT_LINE_IOT: 0.38,
    common_pb2.PRODUCT_LINE_ICT_PROJECT: 0.05,
}
ICT_DELIVERY_SHARE = 0.72
"""Typical delivery cost share of an ICT project's fee (on top of its small network share)."""
DISCOUNT_ACCOUNTS = 0.30
SUBSIDY_ACCOUNTS = 0.20
LOSS_MAKING_ACCOUNTS = 0.04
COMMISSION_SHARE = (0.03, 0.08)
SOURCE = "finance"
BOOKED_AFTER_BILLS = 3600
"""Seconds after the month's bills a month's costs are booked (inside the month)."""


def plan_costs(
    rng: random.Random, plans: list[AccountPlan], line_fees: dict[str, dict[int, list[int]]], months: int
) -> dict[str, AccountCosts]:
    """Costs of every account from its final monthly fees per line (aligned with the months)."""
    out: dict[str, AccountCosts] = {}
    for plan in plans:
        fees = line_fees.get(plan.customer_id, {})
        out[plan.customer_id] = _account_costs(rng, plan, fees, months)
    return out


def _account_costs(rng: random.Random, plan: AccountPlan, fees: dict[int, list[int]], months: int) -> AccountCosts:
    traits: list[str] = []
    loss_making = rng.random() < LOSS_MAKING_ACCOUNTS
    # Per account: how efficient serving it is (sites, distance, network build-out).
    efficiency = rng.lognormvariate(0.0, 0.12)
    if loss_making:
        traits.append("loss_making")
        efficiency = rng.uniform(2.0, 2.8)  # network cost well above what the deal was priced for
    # A healthy account's network cost stays below the fee; a loss-making one's does not.
    cap = 10.0 if loss_making else 0.97
    shares = {
        line: min(cap, NETWORK_SHARE.get(line, 0.4) * efficiency * rng.uniform(0.9, 1.1)) for line in sorted(fees)
    }
    discounted: dict[int, float] = {}
    if fees and rng.random() < DISCOUNT_ACCOUNTS:
        traits.append("discounted")
        for line in rng.sample(sorted(fees), k=min(len(fees), rng.choice((1, 2)))):
            discounted[line] = rng.uniform(0.03, 0.15)
    subsidised = bool(fees) and rng.random() < SUBSIDY_ACCOUNTS
    if subsidised:
        traits.append("subsidised")
    partner = plan.attributes.get("sales_channel") == "partner"
    commission = rng.uniform(*COMMISSION_SHARE) if partner else 0.0
    if partner:
        traits.append("partner_channel")
    # Smaller accounts cost relatively more to serve (a visit costs the same).
    service_share = rng.uniform(0.04, 0.08) + (0.05 if plan.tier >= 5 else 0.0)
    # Subsidies at onboarding (or the first generated month) and at each contract renewal.
    subsidy_months = {max(plan.first_t, 0)} | {c.from_t for c in plan.contracts[1:]}
    amounts: dict[tuple[int, int], list[int]] = {}

    def book(line: int, kind: int, t: int, amount: float) -> None:
        if amount >= 1:
            amounts.setdefault((line, kind), [0] * months)[t] += int(round(amount))

    for t in range(months):
        month_fees = {line: column[t] for line, column in fees.items() if column[t] > 0}
        if not month_fees:
            continue
        total = sum(month_fees.values())
        for line, fee in month_fees.items():
            book(line, NETWORK, t, fee * shares[line] * rng.uniform(0.95, 1.05))
            if line == common_pb2.PRODUCT_LINE_ICT_PROJECT:
                delivery = ICT_DELIVERY_SHARE * (efficiency if not loss_making else 1.0)
                book(line, ICT_PROJECT, t, fee * min(0.95, delivery) * rng.uniform(0.9, 1.1))
            if line in discounted:
                book(line, DISCOUNT, t, fee * discounted[line])
        largest = max(month_fees, key=lambda line: (month_fees[line], -line))
        book(largest, SERVICE, t, total * service_share * rng.uniform(0.9, 1.1))
        if commission:
            book(largest, CHANNEL_COMMISSION, t, total * commission)
        if subsidised and t in subsidy_months:
            book(largest, SUBSIDY, t, month_fees[largest] * rng.uniform(0.8, 2.5))
    return AccountCosts(plan.customer_id, amounts, tuple(traits))


def cost_records(
    plans: list[AccountPlan], costs: dict[str, AccountCosts], first_abs: int
) -> Iterator[ingest_pb2.Record]:
    """The cost records of every active account, month by month, in time order."""
    months = max((len(column) for c in costs.values() for column in c.amounts.values()), default=0)
    for t in range(months):
        month = month_str(first_abs + t)
        stamp = Timestamp(seconds=billing_cutoff(first_abs + t) + BOOKED_AFTER_BILLS)
        for plan in plans:
            if not plan.active(t):
                continue
            plan_costs_ = costs.get(plan.customer_id)
            if plan_costs_ is None:
                continue
            for (line, kind), column in sorted(plan_costs_.amounts.items()):
                amount = column[t]
                if amount <= 0:
                    continue
                record = ingest_pb2.Record(
                    source=SOURCE,
                    source_record_id=f"COST-{plan.customer_id}-{month}-{line}-{COST_TYPE_KEYS[kind]}",
                    customer_id=plan.customer_id,
                )
                record.occurred_at.CopyFrom(stamp)
                record.cost.month = month
                # Plans keep enums as plain numbers; the stubs type them as the enum.
                record.cost.product_line = cast(common_pb2.ProductLine, line)
                record.cost.cost_type = cast(ingest_pb2.CostType, kind)
                record.cost.amount_fen = amount
                yield record
