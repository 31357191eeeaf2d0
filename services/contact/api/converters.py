"""Protobuf <-> domain conversion for the contact service (no rules here).

Enum numbers of telco360.contact.v1 equal the domain's IntEnum values, so enums convert
by number; 0 (UNSPECIFIED) maps to None or the documented default. A value outside the
enum answers INVALID_ARGUMENT naming the field.

Given a collector (`errors`), the `*_from` functions are lenient: a value they cannot
read is recorded there and converted to None, so that the domain rules still run over the
rest and the caller answers every violation at once (an enum error must not hide the
others). Without one they raise at the first problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar, cast

from google.protobuf.timestamp_pb2 import Timestamp

from services.contact.domain import windows
from services.contact.domain.campaigns import AccountEvent, Proposal
from services.contact.domain.ledger import Adjustment, OutcomeRecord, Reservation
from services.contact.domain.model import (
    AccountEventKind,
    Campaign,
    CampaignState,
    CampaignTrigger,
    CapScope,
    Channel,
    Consent,
    ContactRequest,
    CoolDown,
    CoolDownScope,
    Decision,
    FrequencyCap,
    Offer,
    OfferCategory,
    OptOut,
    OptOutKind,
    OutcomeKind,
    Policy,
    Purpose,
    PurposeClass,
    QuietHours,
    RiskBand,
    RuleEvaluation,
    Window,
    WindowKind,
    WindowUnit,
)
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime import bounds, masking
from telco360_runtime.errors import FieldViolation, InvalidArgument, ViolationCollector
from telco360_runtime.timeconv import from_timestamp, is_set, to_timestamp

E = TypeVar("E")


Errors = ViolationCollector | None


P = TypeVar("P")


def proto_enum(kind: type[P], value: int) -> P:
    """A domain enum (or number) as the protobuf enum `kind` (the numbers are the same)."""
    return cast(P, int(value))


def required(value: E | None) -> E:
    """A required enum read by `enum`: None only when its violation went to the caller's
    collector, and the draft that carries it is then refused (validation.raise_all) before
    it is used."""
    return cast(E, value)


def _problem(errors: Errors, path: str, description: str, reason: str) -> None:
    if errors is None:
        raise InvalidArgument([FieldViolation(path, description, reason)])
    errors.add(path, description, reason)


def enum(kind: type[E], value: int, path: str, required: bool = True, errors: Errors = None) -> E | None:
    """A domain enum from a proto number (None for 0 unless required)."""
    if value == 0:
        if required:
            _problem(errors, path, f"{path} is required", bounds.REQUIRED)
        return None
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        _problem(errors, path, f"unknown value {bounds.preview(value)}", bounds.UNKNOWN_ENUM)
        return None


def member(kind: type[E], value: int, path: str, errors: Errors = None) -> E | None:
    """A domain enum from a proto number, 0 included (its UNSPECIFIED member)."""
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        _problem(errors, path, f"unknown value {bounds.preview(value)}", bounds.UNKNOWN_ENUM)
        return None


def enums(kind: type[E], values: Iterable[int], path: str, errors: Errors = None) -> frozenset[E]:
    """A set of domain enums from proto numbers (zeros and unreadable values left out)."""
    found = (enum(kind, v, f"{path}[{i}]", errors=errors) for i, v in enumerate(values) if v)
    return frozenset(e for e in found if e is not None)


def ts(value: Timestamp, path: str = "", errors: Errors = None) -> dt.datetime | None:
    """An aware datetime, or None for an unset Timestamp.

    With a path, a time outside the suite's range (bounds.check_timestamp) is a violation
    there (recorded in `errors`, else raised) and reads as None.
    """
    if not is_set(value):
        return None
    if path:
        found = ViolationCollector()
        if not bounds.check_timestamp(found, path, value):
            for violation in found.violations:
                _problem(errors, violation.field, violation.description, violation.reason)
            return None
    return from_timestamp(value)


def put_ts(target: Timestamp, value: dt.datetime | None) -> None:
    """Set a Timestamp field when the value is given."""
    if value is not None:
        target.CopyFrom(to_timestamp(value))


def _hhmm(text: str, path: str, errors: Errors = None) -> dt.time | None:
    if not text:
        return None
    # ASCII only: the pattern's \d would read full-width digits as a time.
    parsed = windows.parse_hhmm(text) if text.isascii() and len(text) <= 5 else None
    if parsed is None:
        _problem(errors, path, "expected HH:MM (00:00-23:59, or 24:00 as an end)", "BAD_TIME")
    return parsed


# ---------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------


def window_from(msg: pb.Window, path: str, errors: Errors = None) -> Window:
    """A window from its message."""
    return Window(
        required(enum(WindowKind, msg.kind, f"{path}.kind", errors=errors)),
        required(enum(WindowUnit, msg.unit, f"{path}.unit", errors=errors)),
        msg.size,
    )


def cap_from(msg: pb.FrequencyCap, path: str, errors: Errors = None) -> FrequencyCap:
    """A cap from its message (no purposes = MARKETING)."""
    purposes = enums(Purpose, msg.purposes, f"{path}.purposes", errors) or frozenset({Purpose.MARKETING})
    return FrequencyCap(
        cap_id=msg.cap_id,
        scope=required(enum(CapScope, msg.scope, f"{path}.scope", errors=errors)),
        max_contacts=msg.max_contacts,
        window=window_from(msg.window, f"{path}.window", errors),
        channels=enums(Channel, msg.channels, f"{path}.channels", errors),
        purposes=purposes,
        campaign_id=msg.campaign_id,
        offer_id=msg.offer_id,
    )


def policy_from(msg: pb.ContactPolicy, prefix: str = "policy", errors: Errors = None) -> Policy:
    """A policy from its message."""
    q = msg.quiet_hours
    return Policy(
        policy_id=msg.policy_id,
        name=msg.name,
        description=msg.description,
        active=msg.active,
        applies_to_tiers=frozenset(int(t) for t in msg.applies_to_tiers if t),
        caps=tuple(cap_from(c, f"{prefix}.caps[{i}]", errors) for i, c in enumerate(msg.caps)),
        quiet_hours=QuietHours(
            start=_hhmm(q.start, f"{prefix}.quiet_hours.start", errors),
            end=_hhmm(q.end, f"{prefix}.quiet_hours.end", errors),
            quiet_weekdays=frozenset(q.quiet_weekdays),
            channels=enums(Channel, q.channels, f"{prefix}.quiet_hours.channels", errors),
            exempt_purposes=enums(Purpose, q.exempt_purposes, f"{prefix}.quiet_hours.exempt_purposes", errors),
        ),
        fallback_time_zones=tuple(msg.fallback_time_zones),
        honour_preferred_hours=msg.honour_preferred_hours,
        cool_downs=tuple(
            CoolDown(
                cool_down_id=c.cool_down_id,
                triggers=enums(OutcomeKind, c.triggers, f"{prefix}.cool_downs[{i}].triggers", errors),
                scope=required(enum(CoolDownScope, c.scope, f"{prefix}.cool_downs[{i}].scope", errors=errors)),
                duration=window_from(c.duration, f"{prefix}.cool_downs[{i}].duration", errors),
            )
            for i, c in enumerate(msg.cool_downs)
        ),
        purpose_classes=tuple(
            PurposeClass(
                purpose=required(enum(Purpose, pc.purpose, f"{prefix}.purpose_classes[{i}].purpose", errors=errors)),
                requires_consent=pc.requires_consent,
                consent_channels=enums(
                    Channel, pc.consent_channels, f"{prefix}.purpose_classes[{i}].consent_channels", errors
                ),
            )
            for i, pc in enumerate(msg.purpose_classes)
        ),
        change_note=msg.change_note,
    )


def _time_text(value: dt.time | None) -> str:
    if value is None:
        return ""
    return "24:00" if value == dt.time.max else value.strftime("%H:%M")


def window_to(window: Window) -> pb.Window:
    """The message of a window."""
    return pb.Window(
        kind=proto_enum(pb.WindowKind, window.kind), unit=proto_enum(pb.WindowUnit, window.unit), size=window.size
    )


def cap_to(cap: FrequencyCap) -> pb.FrequencyCap:
    """The message of a cap."""
    return pb.FrequencyCap(
        cap_id=cap.cap_id,
        scope=proto_enum(pb.CapScope, cap.scope),
        channels=sorted(proto_enum(pb.Channel, c) for c in cap.channels),
        purposes=sorted(proto_enum(pb.Purpose, p) for p in cap.purposes),
        max_contacts=cap.max_contacts,
        window=window_to(cap.window),
        campaign_id=cap.campaign_id,
        offer_id=cap.offer_id,
    )


def policy_to(policy: Policy) -> pb.ContactPolicy:
    """The message of a policy."""
    q = policy.quiet_hours
    msg = pb.ContactPolicy(
        policy_id=policy.policy_id,
        version=policy.version,
        name=policy.name,
        description=policy.description,
        active=policy.active,
        applies_to_tiers=sorted(proto_enum(common_pb2.AccountTier, t) for t in policy.applies_to_tiers),
        caps=[cap_to(c) for c in policy.caps],
        quiet_hours=pb.QuietHours(
            start=_time_text(q.start),
            end=_time_text(q.end),
            quiet_weekdays=sorted(q.quiet_weekdays),
            channels=sorted(proto_enum(pb.Channel, c) for c in q.channels),
            exempt_purposes=sorted(proto_enum(pb.Purpose, p) for p in q.exempt_purposes),
        ),
        fallback_time_zones=list(policy.fallback_time_zones),
        honour_preferred_hours=policy.honour_preferred_hours,
        cool_downs=[
            pb.CoolDown(
                cool_down_id=c.cool_down_id,
                triggers=sorted(proto_enum(pb.OutcomeKind, t) for t in c.triggers),
                scope=proto_enum(pb.CoolDownScope, c.scope),
                duration=window_to(c.duration),
            )
            for c in policy.cool_downs
        ],
        purpose_classes=[
            pb.PurposeClass(
                purpose=proto_enum(pb.Purpose, pc.purpose),
                requires_consent=pc.requires_consent,
                consent_channels=sorted(proto_enum(pb.Channel, c) for c in pc.consent_channels),
            )
            for pc in policy.purpose_classes
        ],
        created_by=policy.created_by,
        change_note=policy.change_note,
    )
    put_ts(msg.created_at, policy.created_at)
    return msg


# ---------------------------------------------------------------------------------------
# Offers and campaigns
# ---------------------------------------------------------------------------------------


def offer_from(msg: pb.Offer, errors: Errors = None) -> Offer:
    """An offer from its message."""
    return Offer(
        offer_id=msg.offer_id,
        name=msg.name,
        description=msg.description,
        category=required(member(OfferCategory, msg.category, "offer.category", errors)),
        eligibility=msg.eligibility.strip(),
        value_fen=msg.value_fen,
        cost_fen=msg.cost_fen,
        valid_from=ts(msg.valid_from, "offer.valid_from", errors),
        valid_until=ts(msg.valid_until, "offer.valid_until", errors),
        channels=enums(Channel, msg.channels, "offer.channels", errors),
        purpose=enum(Purpose, msg.purpose, "offer.purpose", required=False, errors=errors),
        presentation_cool_down_hours=msg.presentation_cool_down_hours,
        control_group_bp=msg.control_group_bp,
        active=msg.active,
        prior_alpha=msg.prior_alpha,
        prior_beta=msg.prior_beta,
    )


def offer_to(offer: Offer) -> pb.Offer:
    """The message of an offer."""
    msg = pb.Offer(
        offer_id=offer.offer_id,
        version=offer.version,
        name=offer.name,
        description=offer.description,
        category=proto_enum(pb.OfferCategory, offer.category),
        eligibility=offer.eligibility,
        value_fen=offer.value_fen,
        cost_fen=offer.cost_fen,
        channels=sorted(proto_enum(pb.Channel, c) for c in offer.channels),
        purpose=proto_enum(pb.Purpose, offer.purpose or 0),
        presentation_cool_down_hours=offer.presentation_cool_down_hours,
        control_group_bp=offer.control_group_bp,
        active=offer.active,
        prior_alpha=offer.prior_alpha,
        prior_beta=offer.prior_beta,
    )
    put_ts(msg.valid_from, offer.valid_from)
    put_ts(msg.valid_until, offer.valid_until)
    return msg


def campaign_from(msg: pb.Campaign, errors: Errors = None) -> Campaign:
    """A campaign from its message."""
    touchpoints = (enum(Channel, c, f"campaign.touchpoints[{i}]", errors=errors) for i, c in enumerate(msg.touchpoints))
    return Campaign(
        campaign_id=msg.campaign_id,
        name=msg.name,
        description=msg.description,
        target=msg.target.strip(),
        triggers=tuple(
            CampaignTrigger(
                kind=required(enum(AccountEventKind, t.kind, f"campaign.triggers[{i}].kind", errors=errors)),
                tag=t.tag,
                min_risk_band=enum(
                    RiskBand, t.min_risk_band, f"campaign.triggers[{i}].min_risk_band", required=False, errors=errors
                )
                or RiskBand.HIGH,
            )
            for i, t in enumerate(msg.triggers)
        ),
        touchpoints=tuple(c for c in touchpoints if c is not None),
        offer_ids=tuple(msg.offer_ids),
        purpose=enum(Purpose, msg.purpose, "campaign.purpose", required=False, errors=errors) or Purpose.MARKETING,
        starts_at=ts(msg.starts_at, "campaign.starts_at", errors),
        ends_at=ts(msg.ends_at, "campaign.ends_at", errors),
        budget_fen=msg.budget_fen,
        contact_cost_fen=msg.contact_cost_fen,
        caps=tuple(cap_from(c, f"campaign.caps[{i}]", errors) for i, c in enumerate(msg.caps)),
        control_group_bp=msg.control_group_bp,
        state=enum(CampaignState, msg.state, "campaign.state", required=False, errors=errors) or CampaignState.DRAFT,
        proposal_ttl_seconds=msg.proposal_ttl_seconds,
    )


def campaign_to(campaign: Campaign) -> pb.Campaign:
    """The message of a campaign."""
    msg = pb.Campaign(
        campaign_id=campaign.campaign_id,
        version=campaign.version,
        name=campaign.name,
        description=campaign.description,
        target=campaign.target,
        triggers=[
            pb.CampaignTrigger(
                kind=proto_enum(pb.AccountEventKind, t.kind),
                tag=t.tag,
                min_risk_band=proto_enum(common_pb2.RiskBand, t.min_risk_band),
            )
            for t in campaign.triggers
        ],
        touchpoints=[proto_enum(pb.Channel, c) for c in campaign.touchpoints],
        offer_ids=list(campaign.offer_ids),
        purpose=proto_enum(pb.Purpose, campaign.purpose),
        budget_fen=campaign.budget_fen,
        contact_cost_fen=campaign.contact_cost_fen,
        caps=[cap_to(c) for c in campaign.caps],
        control_group_bp=campaign.control_group_bp,
        state=proto_enum(pb.CampaignState, campaign.state),
        proposal_ttl_seconds=campaign.proposal_ttl_seconds,
        spent_fen=campaign.spent_fen,
    )
    put_ts(msg.starts_at, campaign.starts_at)
    put_ts(msg.ends_at, campaign.ends_at)
    put_ts(msg.updated_at, campaign.updated_at)
    return msg


# ---------------------------------------------------------------------------------------
# Requests, decisions, ledger
# ---------------------------------------------------------------------------------------


def request_from(msg: pb.CheckContactRequest, prefix: str = "", errors: Errors = None) -> ContactRequest:
    """A contact request from its message."""
    return ContactRequest(
        customer_id=msg.customer_id,
        channel=required(enum(Channel, msg.channel, f"{prefix}channel", errors=errors)),
        purpose=required(enum(Purpose, msg.purpose, f"{prefix}purpose", errors=errors)),
        person_id=msg.person_id,
        category=required(member(OfferCategory, msg.category, f"{prefix}category", errors)),
        campaign_id=msg.campaign_id,
        offer_id=msg.offer_id,
        at=ts(msg.at, f"{prefix}at", errors),
    )


def request_to(request: ContactRequest) -> pb.CheckContactRequest:
    """The message of a contact request."""
    msg = pb.CheckContactRequest(
        customer_id=request.customer_id,
        person_id=request.person_id,
        channel=proto_enum(pb.Channel, request.channel),
        purpose=proto_enum(pb.Purpose, request.purpose),
        category=proto_enum(pb.OfferCategory, request.category),
        campaign_id=request.campaign_id,
        offer_id=request.offer_id,
    )
    put_ts(msg.at, request.at)
    return msg


def rule_to(rule: RuleEvaluation) -> pb.RuleEvaluation:
    """The message of one evaluated rule."""
    msg = pb.RuleEvaluation(
        kind=proto_enum(pb.RuleKind, rule.kind),
        rule_id=rule.rule_id,
        policy_id=rule.policy_id,
        policy_version=rule.policy_version,
        result=proto_enum(pb.RuleResult, rule.result),
        count=rule.count,
        limit=rule.limit,
        detail=rule.detail,
    )
    put_ts(msg.window_start, rule.window_start)
    put_ts(msg.window_end, rule.window_end)
    put_ts(msg.next_allowed_at, rule.next_allowed_at)
    return msg


def decision_to(decision: Decision) -> pb.ContactDecision:
    """The message of a decision with its trace."""
    msg = pb.ContactDecision(
        decision_id=decision.decision_id,
        request=request_to(decision.request),
        allowed=decision.allowed,
        blocking=[rule_to(r) for r in decision.blocking],
        trace=[rule_to(r) for r in decision.trace],
        never_allowed=decision.never_allowed,
        policy_versions=list(decision.policy_versions),
        degraded=decision.degraded,
        reservation_id=decision.reservation_id,
    )
    put_ts(msg.next_allowed_at, decision.next_allowed_at)
    put_ts(msg.decided_at, decision.decided_at)
    return msg


def reservation_to(reservation: Reservation, now: dt.datetime) -> pb.Reservation:
    """The message of a reservation (state as of now: an overdue one is EXPIRED)."""
    msg = pb.Reservation(
        reservation_id=reservation.reservation_id,
        idempotency_key=reservation.idempotency_key,
        contact=request_to(reservation.request),
        state=proto_enum(pb.ReservationState, reservation.effective_state(now)),
        external_ref=reservation.external_ref,
        cancel_reason=masking.reveal(reservation.cancel_reason, masking.NOTES),
        decision_id=reservation.decision_id,
        outcome=proto_enum(pb.OutcomeKind, reservation.outcome or 0),
    )
    put_ts(msg.reserved_at, reservation.reserved_at)
    put_ts(msg.expires_at, reservation.expires_at)
    closed = reservation.closed_at
    if closed is None and reservation.effective_state(now).name == "EXPIRED":
        closed = reservation.expires_at
    put_ts(msg.closed_at, closed)
    return msg


def ledger_entry_to(entry: Reservation | Adjustment, now: dt.datetime) -> pb.LedgerEntry:
    """The message of a ledger entry."""
    if isinstance(entry, Reservation):
        msg = pb.LedgerEntry(
            entry_id=entry.reservation_id, kind=pb.LEDGER_ENTRY_KIND_RESERVATION, reservation=reservation_to(entry, now)
        )
        put_ts(msg.recorded_at, entry.reserved_at)
        return msg
    msg = pb.LedgerEntry(
        entry_id=entry.adjustment_id,
        kind=pb.LEDGER_ENTRY_KIND_ADJUSTMENT,
        scope=request_to(entry.scope),
        delta=entry.delta,
        reason=masking.reveal(entry.reason, masking.NOTES),
        actor=entry.actor,
    )
    put_ts(msg.recorded_at, entry.recorded_at)
    return msg


def outcome_from(msg: pb.Outcome, errors: Errors = None) -> OutcomeRecord:
    """An outcome from its message (occurred_at may be unset: now)."""
    return OutcomeRecord(
        outcome_id="",
        customer_id=msg.customer_id,
        kind=required(enum(OutcomeKind, msg.kind, "outcome.kind", errors=errors)),
        occurred_at=ts(msg.occurred_at, "outcome.occurred_at", errors),  # type: ignore[arg-type]
        person_id=msg.person_id,
        channel=enum(Channel, msg.channel, "outcome.channel", required=False, errors=errors),
        offer_id=msg.offer_id,
        campaign_id=msg.campaign_id,
        reservation_id=msg.reservation_id,
        idempotency_key=msg.idempotency_key,
    )


def outcome_to(record: OutcomeRecord) -> pb.Outcome:
    """The message of an outcome."""
    msg = pb.Outcome(
        outcome_id=record.outcome_id,
        customer_id=record.customer_id,
        person_id=record.person_id,
        channel=proto_enum(pb.Channel, record.channel or 0),
        offer_id=record.offer_id,
        campaign_id=record.campaign_id,
        reservation_id=record.reservation_id,
        kind=proto_enum(pb.OutcomeKind, record.kind),
        idempotency_key=record.idempotency_key,
    )
    put_ts(msg.occurred_at, record.occurred_at)
    return msg


def opt_out_from(msg: pb.OptOut, errors: Errors = None) -> OptOut:
    """An opt-out from its message."""
    return OptOut(
        opt_out_id="",
        customer_id=msg.customer_id,
        kind=required(enum(OptOutKind, msg.kind, "opt_out.kind", errors=errors)),
        reason=msg.reason,
        source=msg.source,
        person_id=msg.person_id,
        channels=enums(Channel, msg.channels, "opt_out.channels", errors),
        purposes=enums(Purpose, msg.purposes, "opt_out.purposes", errors),
        starts_at=ts(msg.starts_at, "opt_out.starts_at", errors),
        expires_at=ts(msg.expires_at, "opt_out.expires_at", errors),
    )


def opt_out_to(entry: OptOut) -> pb.OptOut:
    """The message of an opt-out."""
    msg = pb.OptOut(
        opt_out_id=entry.opt_out_id,
        customer_id=entry.customer_id,
        person_id=entry.person_id,
        kind=proto_enum(pb.OptOutKind, entry.kind),
        channels=sorted(proto_enum(pb.Channel, c) for c in entry.channels),
        purposes=sorted(proto_enum(pb.Purpose, p) for p in entry.purposes),
        # Free text a person wrote about the customer: masked like notes (telco360_runtime.masking).
        reason=masking.reveal(entry.reason, masking.NOTES),
        source=entry.source,
        removed_reason=masking.reveal(entry.removed_reason, masking.NOTES),
    )
    put_ts(msg.starts_at, entry.starts_at)
    put_ts(msg.expires_at, entry.expires_at)
    put_ts(msg.removed_at, entry.removed_at)
    put_ts(msg.created_at, entry.created_at)
    return msg


def consent_from(msg: pb.Consent, now: dt.datetime, errors: Errors = None) -> Consent:
    """A consent record from its message (recorded_at unset: now)."""
    return Consent(
        consent_id="",
        customer_id=msg.customer_id,
        granted=msg.granted,
        source=msg.source,
        recorded_at=ts(msg.recorded_at, "consent.recorded_at", errors) or now,
        person_id=msg.person_id,
        channel=enum(Channel, msg.channel, "consent.channel", required=False, errors=errors),
        purpose=enum(Purpose, msg.purpose, "consent.purpose", required=False, errors=errors),
        source_ref=msg.source_ref,
        expires_at=ts(msg.expires_at, "consent.expires_at", errors),
    )


def consent_to(record: Consent) -> pb.Consent:
    """The message of a consent record."""
    msg = pb.Consent(
        consent_id=record.consent_id,
        customer_id=record.customer_id,
        person_id=record.person_id,
        channel=proto_enum(pb.Channel, record.channel or 0),
        purpose=proto_enum(pb.Purpose, record.purpose or 0),
        granted=record.granted,
        source=record.source,
        source_ref=record.source_ref,
    )
    put_ts(msg.recorded_at, record.recorded_at)
    put_ts(msg.expires_at, record.expires_at)
    return msg


def event_from(msg: pb.AccountEvent, now: dt.datetime, errors: Errors = None) -> AccountEvent:
    """An account event from its message."""
    own = errors if errors is not None else ViolationCollector()
    if not msg.event_id:
        own.add("event.event_id", "event_id is required", bounds.REQUIRED)
    if not msg.customer_id:
        own.add("event.customer_id", "customer_id is required", bounds.REQUIRED)
    if errors is None:
        own.raise_if_any()
    return AccountEvent(
        event_id=msg.event_id,
        source=msg.source or "api",
        customer_id=msg.customer_id,
        kind=required(enum(AccountEventKind, msg.kind, "event.kind", errors=errors)),
        occurred_at=ts(msg.occurred_at, "event.occurred_at", errors) or now,
        tag=msg.tag,
        risk_band=member(RiskBand, msg.risk_band, "event.risk_band", errors) or RiskBand.UNSPECIFIED,
        attributes=tuple(sorted(msg.attributes.items())),
    )


def event_to(event: AccountEvent) -> pb.AccountEvent:
    """The message of an account event."""
    msg = pb.AccountEvent(
        event_id=event.event_id,
        source=event.source,
        customer_id=event.customer_id,
        kind=proto_enum(pb.AccountEventKind, event.kind),
        tag=event.tag,
        risk_band=proto_enum(common_pb2.RiskBand, event.risk_band),
        attributes=dict(event.attributes),
    )
    put_ts(msg.occurred_at, event.occurred_at)
    return msg


def proposal_to(proposal: Proposal) -> pb.Proposal:
    """The message of a proposal."""
    msg = pb.Proposal(
        proposal_id=proposal.proposal_id,
        campaign_id=proposal.campaign_id,
        campaign_version=proposal.campaign_version,
        customer_id=proposal.customer_id,
        event=event_to(proposal.event),
        state=proto_enum(pb.ProposalState, proposal.state),
        channel=proto_enum(pb.Channel, proposal.channel or 0),
        offer_id=proposal.offer_id,
        decision_id=proposal.decision_id,
        reasons=list(proposal.reasons),
    )
    put_ts(msg.next_allowed_at, proposal.next_allowed_at)
    put_ts(msg.proposed_at, proposal.proposed_at)
    put_ts(msg.expires_at, proposal.expires_at)
    return msg
