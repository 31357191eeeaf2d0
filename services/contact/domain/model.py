"""Value objects of the contact domain.

Enum values equal the protobuf enum numbers of telco360.contact.v1 so converters stay
trivial, but the domain never imports the generated code. All times are aware UTC
datetimes; local times only appear inside `windows`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping


class Channel(enum.IntEnum):
    """Touchpoint through which the customer is reached."""

    SMS = 1
    OUTBOUND_CALL = 2
    EMAIL = 3
    APP_PUSH = 4
    VISIT = 5
    INBOUND_OFFER = 6
    OUTLET = 7
    WEB = 8


#: Touchpoints the customer started: quiet hours do not apply to them by default.
CUSTOMER_INITIATED: frozenset[Channel] = frozenset({Channel.INBOUND_OFFER, Channel.OUTLET, Channel.WEB})


class Purpose(enum.IntEnum):
    """Why a contact is made."""

    SERVICE = 1
    REGULATORY = 2
    RETENTION = 3
    MARKETING = 4


#: Purposes that frequency caps and cool-downs never count nor block.
UNCAPPED_PURPOSES: frozenset[Purpose] = frozenset({Purpose.SERVICE, Purpose.REGULATORY})
#: Commercial purposes: the default scope of opt-outs, consent and complaint cool-downs.
COMMERCIAL_PURPOSES: frozenset[Purpose] = frozenset({Purpose.MARKETING, Purpose.RETENTION})


class OfferCategory(enum.IntEnum):
    """Category of an offer (UNSPECIFIED means none)."""

    UNSPECIFIED = 0
    RETENTION = 1
    UPSELL = 2
    CROSS_SELL = 3
    SERVICE_CARE = 4


class WindowUnit(enum.IntEnum):
    """Unit of a time window."""

    HOUR = 1
    DAY = 2
    WEEK = 3
    MONTH = 4


class WindowKind(enum.IntEnum):
    """Rolling windows end at the decision time; calendar windows are local units."""

    ROLLING = 1
    CALENDAR = 2


class CapScope(enum.IntEnum):
    """Whose contacts a cap counts."""

    ACCOUNT = 1
    PERSON = 2
    CAMPAIGN = 3
    OFFER = 4


class CoolDownScope(enum.IntEnum):
    """What a cool-down blocks."""

    SAME_OFFER = 1
    SAME_CATEGORY = 2
    ALL_COMMERCIAL = 3


class OutcomeKind(enum.IntEnum):
    """What happened on a touchpoint; agent-side and customer-side events differ."""

    SHOWN_TO_AGENT = 1
    OFFERED = 2
    ACCEPTED = 3
    DECLINED = 4
    NO_ANSWER = 5
    COMPLAINED = 6


#: Outcomes that are the customer's answer (the only ones that start cool-downs).
CUSTOMER_ANSWERS: frozenset[OutcomeKind] = frozenset(
    {OutcomeKind.ACCEPTED, OutcomeKind.DECLINED, OutcomeKind.COMPLAINED}
)


class RuleKind(enum.IntEnum):
    """Kind of rule in a decision trace."""

    ACCOUNT_CAP = 1
    PERSON_CAP = 2
    CAMPAIGN_CAP = 3
    OFFER_CAP = 4
    QUIET_HOURS = 5
    PREFERRED_HOURS = 6
    UNKNOWN_TIME_ZONE = 7
    OPT_OUT = 8
    CONSENT = 9
    COOL_DOWN = 10
    PRESENTED_ELSEWHERE = 11
    OFFER_AVAILABILITY = 12
    CAMPAIGN_STATE = 13
    PURPOSE_EXEMPT = 14


class RuleResult(enum.IntEnum):
    """Result of one rule."""

    PASSED = 1
    BLOCKED = 2
    NOT_APPLICABLE = 3


class OptOutKind(enum.IntEnum):
    """Opt-out (customer asked) or do-not-disturb (a period)."""

    OPT_OUT = 1
    DO_NOT_DISTURB = 2


class ReservationState(enum.IntEnum):
    """State of a reservation in the ledger."""

    RESERVED = 1
    CONFIRMED = 2
    CANCELLED = 3
    EXPIRED = 4


class CampaignState(enum.IntEnum):
    """Lifecycle of a campaign."""

    DRAFT = 1
    ACTIVE = 2
    PAUSED = 3
    ENDED = 4


class AccountEventKind(enum.IntEnum):
    """Kind of account event that may trigger a campaign."""

    TAG_ASSIGNED = 1
    TAG_REMOVED = 2
    RISK_BAND_RAISED = 3
    INBOUND_CALL = 4
    BILL_ISSUED = 5
    SERVICE_TICKET = 6
    TRANSACTION = 7


class ProposalState(enum.IntEnum):
    """What a campaign made of a triggering event."""

    PROPOSED = 1
    SUPPRESSED = 2
    CONTROL = 3
    NOT_TARGETED = 4


class SuppressionReason(enum.IntEnum):
    """Why a candidate offer was not returned by next-best-offer."""

    NOT_ELIGIBLE = 1
    CONTACT_RULE = 2
    PRESENTED_ELSEWHERE = 3
    COOL_DOWN = 4
    CONTROL_GROUP = 5
    NOT_AVAILABLE = 6
    NEGATIVE_VALUE = 7
    UNKNOWN_ELIGIBILITY = 8
    RANKED_OUT = 9
    ALREADY_ACCEPTED = 10


class RiskBand(enum.IntEnum):
    """Churn risk band (telco360.common.v1.RiskBand)."""

    UNSPECIFIED = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


#: Account tiers (telco360.common.v1.AccountTier) by number, highest first.
TIER_NAMES: Mapping[int, str] = {
    0: "unknown",
    1: "diamond",
    2: "emerald",
    3: "platinum",
    4: "sapphire",
    5: "gold",
    6: "crystal",
}


# ---------------------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """A rolling or calendar window of `size` units (calendar windows have size 1)."""

    kind: WindowKind
    unit: WindowUnit
    size: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most `max_contacts` counted contacts of the scope in the window."""

    cap_id: str
    scope: CapScope
    max_contacts: int
    window: Window
    channels: frozenset[Channel] = frozenset()
    purposes: frozenset[Purpose] = frozenset({Purpose.MARKETING})
    campaign_id: str = ""
    offer_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class QuietHours:
    """Local quiet period (may wrap midnight) and whole quiet weekdays (1 = Monday)."""

    start: dt.time | None = None
    end: dt.time | None = None
    quiet_weekdays: frozenset[int] = frozenset()
    channels: frozenset[Channel] = frozenset()
    exempt_purposes: frozenset[Purpose] = frozenset()

    def governs(self, channel: Channel, purpose: Purpose) -> bool:
        """Whether quiet hours apply to a contact on `channel` for `purpose`."""
        if purpose in self.exempt_purposes:
            return False
        if self.channels:
            return channel in self.channels
        return channel not in CUSTOMER_INITIATED

    @property
    def empty(self) -> bool:
        """True when the policy sets no quiet period at all."""
        return self.start is None and not self.quiet_weekdays


@dataclasses.dataclass(frozen=True, slots=True)
class CoolDown:
    """A pause after customer answers (declined, complained) of a given scope."""

    cool_down_id: str
    triggers: frozenset[OutcomeKind]
    scope: CoolDownScope
    duration: Window


#: Channels for which commercial purposes need consent when a policy lists no classes.
DEFAULT_CONSENT_CHANNELS: frozenset[Channel] = frozenset(
    {Channel.SMS, Channel.EMAIL, Channel.APP_PUSH, Channel.OUTBOUND_CALL}
)


@dataclasses.dataclass(frozen=True, slots=True)
class PurposeClass:
    """Per-purpose treatment in a policy: whether consent is required, on which channels."""

    purpose: Purpose
    requires_consent: bool
    consent_channels: frozenset[Channel] = frozenset()

    def needs_consent(self, channel: Channel) -> bool:
        """Whether a contact of this purpose on `channel` needs consent on record."""
        if not self.requires_consent:
            return False
        return channel in (self.consent_channels or DEFAULT_CONSENT_CHANNELS)


DEFAULT_PURPOSE_CLASSES: tuple[PurposeClass, ...] = (
    PurposeClass(Purpose.MARKETING, True),
    PurposeClass(Purpose.RETENTION, True),
)


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """One version of a contact policy."""

    policy_id: str
    name: str
    version: int = 1
    description: str = ""
    active: bool = True
    applies_to_tiers: frozenset[int] = frozenset()
    caps: tuple[FrequencyCap, ...] = ()
    quiet_hours: QuietHours = QuietHours()
    fallback_time_zones: tuple[str, ...] = ()
    honour_preferred_hours: bool = False
    cool_downs: tuple[CoolDown, ...] = ()
    purpose_classes: tuple[PurposeClass, ...] = ()
    created_at: dt.datetime | None = None
    created_by: str = ""
    change_note: str = ""

    @property
    def ref(self) -> str:
        """ "policy_id@version", as named in decisions."""
        return f"{self.policy_id}@{self.version}"

    def effective_purpose_classes(self) -> tuple[PurposeClass, ...]:
        """The policy's purpose classes, or the documented defaults when it lists none."""
        return self.purpose_classes or DEFAULT_PURPOSE_CLASSES

    def applies_to(self, tier: int) -> bool:
        """Whether the policy applies to an account of `tier` (0 = unknown: applies)."""
        return not self.applies_to_tiers or tier == 0 or tier in self.applies_to_tiers


# ---------------------------------------------------------------------------------------
# Offers and campaigns
# ---------------------------------------------------------------------------------------

DEFAULT_PRESENTATION_COOL_DOWN_HOURS = 72
DEFAULT_OFFER_CONTROL_BP = 500
DEFAULT_CAMPAIGN_CONTROL_BP = 1000
DEFAULT_PRIOR = (1.0, 9.0)


@dataclasses.dataclass(frozen=True, slots=True)
class Offer:
    """An offer of the catalogue."""

    offer_id: str
    name: str
    category: OfferCategory
    channels: frozenset[Channel]
    version: int = 1
    description: str = ""
    eligibility: str = ""
    value_fen: int = 0
    cost_fen: int = 0
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    purpose: Purpose | None = None
    presentation_cool_down_hours: int = 0
    control_group_bp: int = 0
    active: bool = True
    prior_alpha: float = 0.0
    prior_beta: float = 0.0

    @property
    def contact_purpose(self) -> Purpose:
        """Purpose of contacts made with the offer (defaults by category)."""
        if self.purpose is not None:
            return self.purpose
        if self.category == OfferCategory.RETENTION:
            return Purpose.RETENTION
        if self.category == OfferCategory.SERVICE_CARE:
            return Purpose.SERVICE
        return Purpose.MARKETING

    @property
    def presentation_cool_down(self) -> dt.timedelta:
        """How long other touchpoints stop pushing the offer after it was presented."""
        hours = self.presentation_cool_down_hours or DEFAULT_PRESENTATION_COOL_DOWN_HOURS
        return dt.timedelta(hours=hours)

    @property
    def control_share(self) -> float:
        """Share of accounts in the offer's control group."""
        return (self.control_group_bp or DEFAULT_OFFER_CONTROL_BP) / 10_000

    @property
    def prior(self) -> tuple[float, float]:
        """Beta prior (alpha, beta) on the acceptance rate."""
        if self.prior_alpha > 0 and self.prior_beta > 0:
            return (self.prior_alpha, self.prior_beta)
        return DEFAULT_PRIOR

    def available(self, at: dt.datetime, channel: Channel) -> str | None:
        """None when the offer may be made at `at` on `channel`, else why not."""
        if not self.active:
            return "offer is inactive"
        if self.valid_from is not None and at < self.valid_from:
            return f"offer valid from {self.valid_from.isoformat()}"
        if self.valid_until is not None and at >= self.valid_until:
            return f"offer expired at {self.valid_until.isoformat()}"
        if channel not in self.channels:
            return f"offer not made on {channel.name}"
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignTrigger:
    """An account event kind (and tag or minimum risk band) that triggers a campaign."""

    kind: AccountEventKind
    tag: str = ""
    min_risk_band: RiskBand = RiskBand.HIGH


@dataclasses.dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign (营销案): target, triggers, touchpoints, offers, schedule, budget, caps."""

    campaign_id: str
    name: str
    triggers: tuple[CampaignTrigger, ...]
    touchpoints: tuple[Channel, ...]
    offer_ids: tuple[str, ...]
    version: int = 1
    description: str = ""
    target: str = ""
    purpose: Purpose = Purpose.MARKETING
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    budget_fen: int = 0
    contact_cost_fen: int = 0
    caps: tuple[FrequencyCap, ...] = ()
    control_group_bp: int = 0
    state: CampaignState = CampaignState.DRAFT
    proposal_ttl_seconds: int = 0
    updated_at: dt.datetime | None = None
    spent_fen: int = 0
    committed_fen: int = 0
    """Contact costs of reservations held but not yet confirmed (read with the budget under
    the campaign's lock when reserving; they become spend on confirmation)."""

    @property
    def control_share(self) -> float:
        """Share of targeted accounts held out as control group."""
        return (self.control_group_bp or DEFAULT_CAMPAIGN_CONTROL_BP) / 10_000

    @property
    def proposal_ttl(self) -> dt.timedelta:
        """How long a proposal stays valid for the executing system."""
        return dt.timedelta(seconds=self.proposal_ttl_seconds or 86_400)


# ---------------------------------------------------------------------------------------
# Account state: opt-outs, consent, history, context
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OptOut:
    """An opt-out or do-not-disturb entry."""

    opt_out_id: str
    customer_id: str
    kind: OptOutKind
    reason: str
    source: str
    person_id: str = ""
    channels: frozenset[Channel] = frozenset()
    purposes: frozenset[Purpose] = frozenset()
    starts_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    removed_at: dt.datetime | None = None
    removed_reason: str = ""
    created_at: dt.datetime | None = None

    def effective_purposes(self) -> frozenset[Purpose]:
        """Purposes covered (MARKETING and RETENTION when none are listed)."""
        return self.purposes or COMMERCIAL_PURPOSES

    def in_force(self, at: dt.datetime) -> bool:
        """Whether the entry is in force at `at`."""
        if self.starts_at is not None and at < self.starts_at:
            return False
        if self.expires_at is not None and at >= self.expires_at:
            return False
        return self.removed_at is None or at < self.removed_at

    def ends_at(self) -> dt.datetime | None:
        """When the entry stops being in force (None when open-ended)."""
        ends = [t for t in (self.expires_at, self.removed_at) if t is not None]
        return min(ends) if ends else None


@dataclasses.dataclass(frozen=True, slots=True)
class Consent:
    """A consent grant or withdrawal with its source."""

    consent_id: str
    customer_id: str
    granted: bool
    source: str
    recorded_at: dt.datetime
    person_id: str = ""
    channel: Channel | None = None
    purpose: Purpose | None = None
    source_ref: str = ""
    expires_at: dt.datetime | None = None

    def covers(self, person_id: str, channel: Channel, purpose: Purpose) -> bool:
        """Whether the record speaks about a contact to person/channel/purpose."""
        if self.person_id and self.person_id != person_id:
            return False
        if self.channel is not None and self.channel != channel:
            return False
        purposes = {self.purpose} if self.purpose is not None else COMMERCIAL_PURPOSES
        return purpose in purposes


@dataclasses.dataclass(frozen=True, slots=True)
class CountedContact:
    """A contact that counts toward caps: a live reservation, a confirmation or an
    adjustment (weight may be negative for an adjustment that removes contacts)."""

    at: dt.datetime
    channel: Channel
    purpose: Purpose
    person_id: str = ""
    campaign_id: str = ""
    offer_id: str = ""
    weight: int = 1
    entry_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class OutcomeEvent:
    """A recorded outcome, as the rules see it."""

    at: dt.datetime
    kind: OutcomeKind
    channel: Channel | None = None
    offer_id: str = ""
    category: OfferCategory = OfferCategory.UNSPECIFIED
    campaign_id: str = ""
    person_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AccountHistory:
    """Everything about one account that the rules read from the ledger."""

    contacts: tuple[CountedContact, ...] = ()
    outcomes: tuple[OutcomeEvent, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    consents: tuple[Consent, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Person:
    """A contact person as contact needs it: preferred hours and whether active."""

    person_id: str
    preferred_hours: str = ""
    inactive: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class AccountContext:
    """What contact knows about an account from profile and scoring.

    Fields default to "unknown"; `degraded_reasons` says which source was unavailable so
    the rules use their conservative forms and answers are marked degraded.
    """

    customer_id: str
    time_zone: str = ""
    tier: int = 0
    persons: Mapping[str, Person] = dataclasses.field(default_factory=dict)
    churn_probability: float | None = None
    risk_band: RiskBand = RiskBand.UNSPECIFIED
    predicted_value_fen: int | None = None
    degraded_reasons: tuple[str, ...] = ()
    exists: bool = True
    """False only when profile answered that it does not know the account (decisions then
    answer NOT_FOUND); True when it knows it, and when profile is unavailable (unknown:
    the decision goes on with conservative defaults, marked degraded)."""

    @property
    def degraded(self) -> bool:
        """True when some source was unavailable."""
        return bool(self.degraded_reasons)

    @property
    def segment(self) -> str:
        """Segment key for learned propensities: "<tier>/<risk band>"."""
        return f"{TIER_NAMES.get(self.tier, 'unknown')}/{self.risk_band.name.lower()}"


# ---------------------------------------------------------------------------------------
# Requests and decisions
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ContactRequest:
    """A contact to decide: who, how, why, about what, when."""

    customer_id: str
    channel: Channel
    purpose: Purpose
    person_id: str = ""
    category: OfferCategory = OfferCategory.UNSPECIFIED
    campaign_id: str = ""
    offer_id: str = ""
    at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """One rule evaluated for a decision, with its numbers and window bounds."""

    kind: RuleKind
    rule_id: str
    result: RuleResult
    detail: str
    policy_id: str = ""
    policy_version: int = 0
    count: int = 0
    limit: int = 0
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    next_allowed_at: dt.datetime | None = None

    @property
    def blocked(self) -> bool:
        """True when the rule blocks the contact."""
        return self.result == RuleResult.BLOCKED


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one contact with its full trace."""

    request: ContactRequest
    allowed: bool
    trace: tuple[RuleEvaluation, ...]
    decided_at: dt.datetime
    policy_versions: tuple[str, ...]
    next_allowed_at: dt.datetime | None = None
    never_allowed: bool = False
    degraded: bool = False
    decision_id: str = ""
    reservation_id: str = ""

    @property
    def blocking(self) -> tuple[RuleEvaluation, ...]:
        """The rules that block the contact, in evaluation order."""
        return tuple(r for r in self.trace if r.blocked)
