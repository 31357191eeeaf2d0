"""Demo step: a retention campaign on inbound calls, with a control group, and its metrics.

The campaign (营销案) is switched on and then driven the way an operator's systems would:
the call centre reports inbound calls as account events (SubmitAccountEvent); contact
proposes the campaign's best allowed offer on the call, or holds the account out as control
group; the agent's system reserves and confirms the contact and reports the customer's
answer (RecordOutcome); control-group accounts that order the offer on their own are
reported too. GetCampaignMetrics then shows reach, conversion and the uplift against the
control group. The customers' answers are simulated by the demo at fixed, seeded rates
(stated in the summary): the point is the mechanics and the metrics, not the numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from telco360.contact.v1 import contact_pb2 as c
from telco360_cli.commands.contact import campaign_metrics_line
from telco360_cli.console import console, progress_bar
from telco360_cli.demo import contact_setup
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime.timeconv import to_timestamp

#: Simulated answers: a treated caller accepts the offer made on the call with this chance;
#: a control-group caller orders it on their own (no push) with this one.
ACCEPT_TREATED = 0.30
ACCEPT_CONTROL = 0.08
CONTROL_BP = 2000  # 20 % of targeted accounts held out


async def run_campaign(state: DemoState, clients: Clients) -> None:
    """Switch on the retention campaign, feed it inbound calls and outcomes, read its metrics."""
    now = dt.datetime.now(dt.UTC)
    campaign = await clients.contact.CreateCampaign(
        c.CreateCampaignRequest(
            campaign=contact_setup.retention_campaign(
                starts_at=to_timestamp(now - dt.timedelta(days=1)), control_group_bp=CONTROL_BP
            )
        )
    )
    console.print(
        f"campaign [bold]{campaign.campaign_id}[/] v{campaign.version} active: inbound calls → "
        f"{', '.join(campaign.offer_ids)}; {CONTROL_BP / 100:.0f} % control group"
    )
    rng = random.Random(state.options.seed + 2)
    ids = sorted(state.scores)
    callers = rng.sample(ids, min(len(ids), max(100, min(600, len(ids) // 3))))
    called_at = now - dt.timedelta(minutes=5)
    limit = asyncio.Semaphore(4)
    counts = {"proposed": 0, "control": 0, "suppressed": 0, "other": 0, "accepted": 0, "control_accepted": 0}

    async def one(index: int, cid: str) -> None:
        async with limit:
            reply = await clients.contact.SubmitAccountEvent(
                c.SubmitAccountEventRequest(
                    event=c.AccountEvent(
                        event_id=f"demo-call-{index}",
                        source="callcenter",
                        customer_id=cid,
                        kind=c.ACCOUNT_EVENT_KIND_INBOUND_CALL,
                        occurred_at=to_timestamp(called_at),
                        attributes={"reason": "bill_query"},
                    )
                )
            )
            for proposal in reply.proposals:
                if proposal.campaign_id == campaign.campaign_id:
                    await _follow_up(clients, proposal, campaign.offer_ids[0], index, rng, counts)

    with progress_bar() as bar:
        task = bar.add_task("inbound calls through the campaign", total=len(callers))
        for start in range(0, len(callers), 64):
            chunk = callers[start : start + 64]
            await asyncio.gather(*(one(start + i, cid) for i, cid in enumerate(chunk)))
            bar.advance(task, len(chunk))
    console.print(
        f"{len(callers):,} inbound calls: {counts['proposed']:,} offers made on the call "
        f"({counts['accepted']:,} accepted), {counts['control']:,} callers held out as control "
        f"({counts['control_accepted']:,} ordered on their own), {counts['suppressed']:,} suppressed, "
        f"{counts['other']:,} not targeted"
    )
    metrics = await clients.contact.GetCampaignMetrics(c.GetCampaignMetricsRequest(campaign_id=campaign.campaign_id))
    console.print(campaign_metrics_line(metrics), highlight=False)
    if metrics.control_accounts == 0 or metrics.accounts_contacted == 0:
        raise CliError(
            f"campaign {campaign.campaign_id} has no control group or no contacted account: "
            f"{metrics.control_accounts} control, {metrics.accounts_contacted} contacted"
        )
    state.campaign = metrics
    state.headline["campaign"] = (
        f"{metrics.campaign_id}: {metrics.treatment_accounts:,} treated vs {metrics.control_accounts:,} control "
        f"accounts; conversion {metrics.conversion_rate * 100:.1f} %, uplift {metrics.uplift * 100:+.1f} points "
        f"against the control group (answers simulated: {ACCEPT_TREATED:.0%} treated, {ACCEPT_CONTROL:.0%} control)"
    )


async def _follow_up(
    clients: Clients, proposal: c.Proposal, own_offer: str, index: int, rng: random.Random, counts: dict[str, int]
) -> None:
    """What the call centre does with one proposal: make the offer and report the answer.

    A control-group caller is offered nothing (its proposal names no offer); some order the
    campaign's main offer on their own, which is reported against the campaign like any sale.
    """
    if proposal.state == c.PROPOSAL_STATE_CONTROL:
        counts["control"] += 1
        if rng.random() < ACCEPT_CONTROL:
            counts["control_accepted"] += 1
            await _outcome(
                clients, proposal, own_offer, c.CHANNEL_UNSPECIFIED, c.OUTCOME_KIND_ACCEPTED, "", f"{index}-own"
            )
        return
    if proposal.state != c.PROPOSAL_STATE_PROPOSED:
        counts["suppressed" if proposal.state == c.PROPOSAL_STATE_SUPPRESSED else "other"] += 1
        return
    reserved = await clients.contact.ReserveContact(
        c.ReserveContactRequest(
            idempotency_key=f"demo-campaign-{index}",
            contact=c.CheckContactRequest(
                customer_id=proposal.customer_id,
                channel=proposal.channel,
                purpose=c.PURPOSE_RETENTION,
                offer_id=proposal.offer_id,
                campaign_id=proposal.campaign_id,
            ),
        )
    )
    if not reserved.granted:
        counts["suppressed"] += 1
        return
    reservation = reserved.reservation.reservation_id
    await clients.contact.ConfirmContact(c.ConfirmContactRequest(reservation_id=reservation))
    counts["proposed"] += 1
    await _outcome(
        clients, proposal, proposal.offer_id, proposal.channel, c.OUTCOME_KIND_OFFERED, reservation, f"{index}-offered"
    )
    accepted = rng.random() < ACCEPT_TREATED
    counts["accepted"] += accepted
    await _outcome(
        clients,
        proposal,
        proposal.offer_id,
        proposal.channel,
        c.OUTCOME_KIND_ACCEPTED if accepted else c.OUTCOME_KIND_DECLINED,
        reservation,
        f"{index}-answer",
    )


async def _outcome(
    clients: Clients,
    proposal: c.Proposal,
    offer_id: str,
    channel: c.Channel,
    kind: c.OutcomeKind,
    reservation: str,
    key: str,
) -> None:
    await clients.contact.RecordOutcome(
        c.RecordOutcomeRequest(
            outcome=c.Outcome(
                customer_id=proposal.customer_id,
                channel=channel,
                offer_id=offer_id,
                campaign_id=proposal.campaign_id,
                reservation_id=reservation,
                kind=kind,
                idempotency_key=f"demo-campaign-{key}",
            )
        )
    )
