"""Policy simulation: replay recorded contact history under a draft policy.

Every counted contact of the period (confirmed reservations; live reservations count too,
as they hold slots) is replayed in time order and decided again under the draft plus the
active policies it does not replace, with what was known at that moment: the account's
time zone and tier as recorded with the contact, the contacts kept so far, the outcomes,
opt-outs and consents recorded before it. A contact the draft would have suppressed is
removed from the replayed history, so it does not count toward later caps (it would not
have happened). Admin adjustments and contacts before the period are history, not
replayed. Offer and campaign state rules are not replayed: a simulation asks what the
policy changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from services.contact.domain.decide import applicable_policies, evaluate_all
from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    Consent,
    ContactRequest,
    CountedContact,
    OptOut,
    OutcomeEvent,
    Policy,
    RuleKind,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ReplayContact:
    """A recorded contact with the account facts known when it was made."""

    customer_id: str
    contact: CountedContact
    time_zone: str = ""
    tier: int = 0


@dataclasses.dataclass
class AccountRecords:
    """An account's history before and during the period (sorted by time)."""

    prior: list[CountedContact] = dataclasses.field(default_factory=list)
    outcomes: list[OutcomeEvent] = dataclasses.field(default_factory=list)
    opt_outs: list[OptOut] = dataclasses.field(default_factory=list)
    consents: list[Consent] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class MonthFigures:
    """Contacts per account in one month, before and after."""

    month: str
    accounts: int
    contacts_before: int
    contacts_after: int

    @property
    def per_account_before(self) -> float:
        """Contacts per account that month, as recorded."""
        return self.contacts_before / self.accounts if self.accounts else 0.0

    @property
    def per_account_after(self) -> float:
        """Contacts per account that month, under the draft."""
        return self.contacts_after / self.accounts if self.accounts else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class RuleCount:
    """Contacts one rule would have suppressed."""

    kind: RuleKind
    rule_id: str
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class SimulationResult:
    """What the draft would have changed."""

    draft: str
    period_start: dt.datetime
    period_end: dt.datetime
    contacts_replayed: int
    contacts_allowed: int
    suppressed_by_channel: dict[str, int]
    suppressed_by_rule: tuple[RuleCount, ...]
    months: tuple[MonthFigures, ...]
    accounts: int

    @property
    def contacts_suppressed(self) -> int:
        """Contacts the draft would have suppressed."""
        return self.contacts_replayed - self.contacts_allowed

    @property
    def per_account_month_before(self) -> float:
        """Contacts per account per month over the period, as recorded."""
        slots = sum(m.accounts for m in self.months)
        return sum(m.contacts_before for m in self.months) / slots if slots else 0.0

    @property
    def per_account_month_after(self) -> float:
        """Contacts per account per month over the period, under the draft."""
        slots = sum(m.accounts for m in self.months)
        return sum(m.contacts_after for m in self.months) / slots if slots else 0.0


def simulate(
    draft: Policy,
    others: Sequence[Policy],
    replay: Sequence[ReplayContact],
    records: dict[str, AccountRecords],
    period_start: dt.datetime,
    period_end: dt.datetime,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Replay `replay` (contacts within the period) under `draft` + `others`."""
    policies = [draft, *others]
    kept: dict[str, list[CountedContact]] = defaultdict(list)
    for customer_id, rec in records.items():
        kept[customer_id] = list(rec.prior)
    by_channel: Counter[str] = Counter()
    by_rule: Counter[tuple[RuleKind, str]] = Counter()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    month_accounts: dict[str, set[str]] = defaultdict(set)
    ordered = sorted(replay, key=lambda r: (r.contact.at, r.customer_id, r.contact.entry_id))
    allowed = 0
    for index, item in enumerate(ordered):
        contact, customer_id = item.contact, item.customer_id
        month = contact.at.astimezone(dt.UTC).strftime("%Y-%m")
        month_accounts[month].add(customer_id)
        before[month] += 1
        rec = records.get(customer_id, AccountRecords())
        history = AccountHistory(
            contacts=tuple(kept[customer_id]),
            outcomes=tuple(o for o in rec.outcomes if o.at < contact.at),
            opt_outs=tuple(o for o in rec.opt_outs if o.created_at is None or o.created_at <= contact.at),
            consents=tuple(c for c in rec.consents if c.recorded_at <= contact.at),
        )
        context = AccountContext(customer_id=customer_id, time_zone=item.time_zone, tier=item.tier)
        request = ContactRequest(
            customer_id=customer_id,
            channel=contact.channel,
            purpose=contact.purpose,
            person_id=contact.person_id,
            campaign_id=contact.campaign_id,
            offer_id=contact.offer_id,
        )
        trace = evaluate_all(request, contact.at, applicable_policies(policies, context), history, context)
        blocking = [r for r in trace if r.blocked]
        if blocking:
            by_channel[contact.channel.name] += 1
            for rule in blocking:
                by_rule[(rule.kind, rule.rule_id)] += 1
        else:
            allowed += 1
            after[month] += 1
            kept[customer_id].append(contact)
        if progress is not None:
            progress(index + 1, len(ordered))
    months = tuple(MonthFigures(m, len(month_accounts[m]), before[m], after[m]) for m in sorted(month_accounts))
    return SimulationResult(
        draft=f"{draft.policy_id}@draft",
        period_start=period_start,
        period_end=period_end,
        contacts_replayed=len(ordered),
        contacts_allowed=allowed,
        suppressed_by_channel=dict(by_channel),
        suppressed_by_rule=tuple(RuleCount(k, r, n) for (k, r), n in sorted(by_rule.items())),
        months=months,
        accounts=len({r.customer_id for r in ordered}),
    )
