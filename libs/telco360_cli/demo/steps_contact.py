"""Demo steps about contact: catalogue and policy, contact history, next-best-offers, simulation."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from telco360.contact.v1 import contact_pb2 as c
from telco360_cli import fmt
from telco360_cli.commands.contact import render_nbo, render_rule, render_simulation, simulate
from telco360_cli.console import console, progress_bar
from telco360_cli.demo import contact_setup
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime.timeconv import to_timestamp

HISTORY_DAYS = 90


async def configure_contact(state: DemoState, clients: Clients) -> None:
    """Create the offer catalogue and the standard policy."""
    for offer in contact_setup.offers():
        await clients.contact.CreateOffer(c.CreateOfferRequest(offer=offer))
    policy = await clients.contact.CreatePolicy(c.CreatePolicyRequest(policy=contact_setup.standard_policy()))
    console.print(
        f"{len(contact_setup.offers())} offers; policy {policy.policy_id} v{policy.version} "
        f"({len(policy.caps)} caps, {len(policy.cool_downs)} cool-downs, quiet hours "
        f"{policy.quiet_hours.start}-{policy.quiet_hours.end})"
    )


async def record_history(state: DemoState, clients: Clients) -> None:
    """Record the last 90 days of marketing contacts through ReserveContact/ConfirmContact.

    The generated base has no contact ledger, so the demo plays the part of the SMS and
    outbound-call systems of the past quarter: a seeded share of accounts got several
    marketing messages a month (some far more than others), each reserved under the
    standard policy and confirmed as delivered, exactly as a sending system would.
    """
    rng = random.Random(state.options.seed)
    ids = sorted(state.scores or state.base.truth.accounts)
    chosen = rng.sample(ids, min(len(ids), max(30, len(ids) // 12)))
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    plan: list[tuple[str, c.Channel, dt.datetime, str]] = []
    for cid in chosen:
        per_month = rng.choice((2, 3, 4, 6, 8, 10))
        for _ in range(per_month * HISTORY_DAYS // 30):
            day = now - dt.timedelta(days=rng.uniform(1, HISTORY_DAYS))
            at = day.replace(hour=rng.choice((2, 3, 5, 6, 7)), minute=rng.randrange(60))  # 10:00-15:59 in China
            channel = c.CHANNEL_SMS if rng.random() < 0.7 else c.CHANNEL_OUTBOUND_CALL
            offer = rng.choice(("dedicated_line_upgrade", "cloud_desktop_trial"))
            plan.append((cid, channel, at, offer))
    plan.sort(key=lambda p: p[2])
    limit = asyncio.Semaphore(16)
    granted = blocked = 0

    async def one(index: int, cid: str, channel: c.Channel, at: dt.datetime, offer: str) -> None:
        nonlocal granted, blocked
        async with limit:
            reply = await clients.contact.ReserveContact(
                c.ReserveContactRequest(
                    idempotency_key=f"demo-history-{index}",
                    contact=c.CheckContactRequest(
                        customer_id=cid,
                        channel=channel,
                        purpose=c.PURPOSE_MARKETING,
                        offer_id=offer,
                        at=to_timestamp(at),
                    ),
                )
            )
            if not reply.granted:
                blocked += 1
                return
            await clients.contact.ConfirmContact(
                c.ConfirmContactRequest(
                    reservation_id=reply.reservation.reservation_id,
                    delivered_at=to_timestamp(at),
                    external_ref=f"demo-{index}",
                )
            )
            granted += 1

    with progress_bar() as bar:
        task = bar.add_task("recording contact history", total=len(plan))
        # Chronological order per account matters for caps: run in time-ordered chunks.
        for start in range(0, len(plan), 256):
            chunk = plan[start : start + 256]
            await asyncio.gather(*(one(start + i, *p) for i, p in enumerate(chunk)))
            bar.advance(task, len(chunk))
    console.print(
        f"{granted:,} marketing contacts confirmed for {len(chosen):,} accounts over {HISTORY_DAYS} days "
        f"({blocked:,} refused by the standard policy)"
    )
    if granted == 0:
        raise CliError("no contact of the history was granted")
    state.headline["contact history"] = f"{granted:,} contacts to {len(chosen):,} accounts in {HISTORY_DAYS} days"


async def next_best_offers(state: DemoState, clients: Clients) -> None:
    """Inbound calls: ask for offers; a declined offer must then be suppressed by the cool-down."""
    callers = [s.customer_id for s in state.at_risk[:3]]
    rng = random.Random(state.options.seed + 1)
    others = [cid for cid in sorted(state.scores) if cid not in callers]
    callers += rng.sample(others, min(2, len(others)))
    if not callers:
        raise CliError("no scored accounts to call")

    async def ask(cid: str, reason: str) -> c.GetNextBestOfferResponse:
        return await clients.contact.GetNextBestOffer(
            c.GetNextBestOfferRequest(
                customer_id=cid,
                channel=c.CHANNEL_INBOUND_OFFER,
                max_offers=3,
                exploit_only=True,
                context=c.InteractionContext(kind=c.INTERACTION_KIND_INBOUND_CALL, reason=reason),
            )
        )

    for cid in callers:
        reply = await ask(cid, "bill_query")
        render_nbo(reply, cid, "inbound_offer")
        state.nbo_calls.append(
            {
                "customer_id": cid,
                "offers": [o.offer_id for o in reply.offers],
                "declined": "",
                "suppressed": [
                    (s.offer_id, fmt.enum_name(c.SuppressionReason, s.reason), s.detail) for s in reply.suppressed
                ],
                "note": "",
            }
        )
    # Decline a commercial offer: cool-downs after a refusal govern marketing and retention,
    # not service care (a free health check may be offered again).
    commercial = {o.offer_id for o in contact_setup.offers() if o.category != c.OFFER_CATEGORY_SERVICE_CARE}
    first = next(
        ((call["customer_id"], offer) for call in state.nbo_calls for offer in call["offers"] if offer in commercial),
        None,
    )
    if first is None:
        raise CliError("no inbound call got a commercial offer (only service care, or none)")
    cid, offer = first
    now = dt.datetime.now(dt.UTC)
    for kind, key in ((c.OUTCOME_KIND_OFFERED, "offered"), (c.OUTCOME_KIND_DECLINED, "declined")):
        await clients.contact.RecordOutcome(
            c.RecordOutcomeRequest(
                outcome=c.Outcome(
                    customer_id=cid,
                    channel=c.CHANNEL_INBOUND_OFFER,
                    offer_id=offer,
                    kind=kind,
                    occurred_at=to_timestamp(now),
                    idempotency_key=f"demo-{cid}-{offer}-{key}",
                )
            )
        )
    console.print(f"[bold]{cid} declined {offer} on the call[/]; the agent asks again on the customer's next call:")
    again = await ask(cid, "fault_followup")
    render_nbo(again, cid, "inbound_offer")
    if offer in [o.offer_id for o in again.offers]:
        raise CliError(f"{offer} was declined but is offered again to {cid}: the cool-down was not applied")
    match = next((s for s in again.suppressed if s.offer_id == offer), None)
    if match is None:
        raise CliError(f"{offer} is neither offered nor listed as suppressed for {cid}")
    why = "; ".join(render_rule(r) for r in match.blocking) or match.detail
    state.nbo_calls.append(
        {
            "customer_id": cid,
            "offers": [o.offer_id for o in again.offers],
            "suppressed": [
                (s.offer_id, fmt.enum_name(c.SuppressionReason, s.reason), s.detail) for s in again.suppressed
            ],
            "declined": offer,
            "note": f"after declining {offer}: suppressed ({why})",
        }
    )
    state.headline["suppressed offer"] = (
        f"{offer} for {cid}: {fmt.enum_name(c.SuppressionReason, match.reason)} — {why}"
    )


async def simulate_strict_policy(state: DemoState, clients: Clients) -> None:
    """Replay the last 90 days under the stricter draft policy."""
    end = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    start = end - dt.timedelta(days=HISTORY_DAYS + 1)
    result = await simulate(clients, contact_setup.strict_policy(), start, end, ["standard"])
    render_simulation(result)
    if result.contacts_replayed == 0:
        raise CliError("the simulation replayed no contacts")
    state.simulation = result
    state.headline["policy simulation"] = (
        f"{result.contacts_replayed:,} contacts replayed, {result.contacts_suppressed:,} suppressed by the strict "
        f"draft; contacts per account per month {result.per_account_month_before:.2f} → "
        f"{result.per_account_month_after:.2f}"
    )
