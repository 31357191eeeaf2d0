"""Campaign metrics: reach, suppression, conversion, uplift against the control group,
disturbance (contacts per account per month), cost and value.

Definitions:
- targeted: distinct accounts with a PROPOSED, SUPPRESSED or CONTROL proposal in the
  period; control: those with a CONTROL proposal; treatment: targeted minus control.
- contacted: treatment accounts with at least one confirmed contact of the campaign.
- accepted: treatment accounts that accepted one of the campaign's offers; control
  accepted: control accounts that accepted one of them without a push (reported through
  RecordOutcome, e.g. an order placed on their own).
- conversion = accepted / contacted; uplift = accepted / treatment − control accepted /
  control (rate points).
- contacts per account per month = contacts / contacted / months in the period
  (period length in days / 30.4375, at least one month).
- cost = contacts × contact cost + offer cost per acceptance; value = offer value per
  acceptance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence

from services.contact.domain.campaigns import Proposal
from services.contact.domain.model import Campaign, Offer, OutcomeEvent, OutcomeKind, ProposalState


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignContact:
    """A confirmed contact made for the campaign."""

    customer_id: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignMetrics:
    """The figures of GetCampaignMetrics."""

    campaign_id: str
    accounts_targeted: int
    treatment_accounts: int
    accounts_contacted: int
    contacts: int
    suppressed_by_reason: dict[str, int]
    accepted: int
    conversion_rate: float
    control_accounts: int
    control_accepted: int
    uplift: float
    contacts_per_account_month: float
    cost_fen: int
    value_fen: int


def compute(
    campaign: Campaign,
    offers: Mapping[str, Offer],
    proposals: Sequence[Proposal],
    contacts: Sequence[CampaignContact],
    acceptances: Sequence[tuple[str, OutcomeEvent]],
    period_start: dt.datetime,
    period_end: dt.datetime,
) -> CampaignMetrics:
    """Metrics of a campaign over a period from its proposals, contacts and acceptances.

    `acceptances` are (customer_id, outcome) pairs of ACCEPTED outcomes of the campaign's
    offers in the period.
    """
    targeted_states = {ProposalState.PROPOSED, ProposalState.SUPPRESSED, ProposalState.CONTROL}
    targeted = {p.customer_id for p in proposals if p.state in targeted_states}
    control = {p.customer_id for p in proposals if p.state == ProposalState.CONTROL}
    treatment = targeted - control
    suppressed = Counter(p.suppression_kind or "UNKNOWN" for p in proposals if p.state == ProposalState.SUPPRESSED)
    contacted = {c.customer_id for c in contacts if c.customer_id in treatment}
    accepted_pairs = [(cid, o) for cid, o in acceptances if o.kind == OutcomeKind.ACCEPTED]
    accepted = {cid for cid, _ in accepted_pairs if cid in treatment}
    control_accepted = {cid for cid, _ in accepted_pairs if cid in control}
    months = max(1.0, (period_end - period_start).total_seconds() / 86_400 / 30.4375)
    offer_cost = sum(
        offers[o.offer_id].cost_fen for cid, o in accepted_pairs if cid in treatment and o.offer_id in offers
    )
    value = sum(offers[o.offer_id].value_fen for cid, o in accepted_pairs if cid in treatment and o.offer_id in offers)
    treat_rate = len(accepted) / len(treatment) if treatment else 0.0
    control_rate = len(control_accepted) / len(control) if control else 0.0
    return CampaignMetrics(
        campaign_id=campaign.campaign_id,
        accounts_targeted=len(targeted),
        treatment_accounts=len(treatment),
        accounts_contacted=len(contacted),
        contacts=len(contacts),
        suppressed_by_reason=dict(suppressed),
        accepted=len(accepted),
        conversion_rate=len(accepted) / len(contacted) if contacted else 0.0,
        control_accounts=len(control),
        control_accepted=len(control_accepted),
        uplift=treat_rate - control_rate if control else 0.0,
        contacts_per_account_month=len(contacts) / len(contacted) / months if contacted else 0.0,
        cost_fen=len(contacts) * campaign.contact_cost_fen + offer_cost,
        value_fen=value,
    )
