"""Validation of policies, offers, campaigns, opt-outs, consent and contact requests.

Each validator collects every problem (field paths as in the protobuf request, e.g.
"policy.caps[2].window.size") and raises one InvalidArgument with all of them.
`collect_*` add to a caller's collector instead, so the servicer can report the field
bounds of the request (services/contact/api/request_checks.py), conversion problems and these
rules in one answer; `raise_all` raises what was collected, each violation once.

Values a lenient conversion could not read (an unknown enum number) arrive as None and are
skipped here: their violation is already collected.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from services.contact.domain.model import (
    CUSTOMER_ANSWERS,
    UNCAPPED_PURPOSES,
    Campaign,
    CampaignState,
    CapScope,
    Consent,
    ContactRequest,
    FrequencyCap,
    Offer,
    OfferCategory,
    OptOut,
    Policy,
    Purpose,
    QuietHours,
    Window,
    WindowKind,
)
from telco360_expr import ExpressionError, parse
from telco360_runtime import bounds
from telco360_runtime.errors import FieldViolation, InvalidArgument, ViolationCollector

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CUSTOMER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_CAP = 10_000
MAX_WINDOW_UNITS = 366
MAX_VIOLATIONS = 50
"""Most violations one answer lists (status details must stay far below metadata limits)."""
ALL_WEEKDAYS = frozenset(range(1, 8))


def sub(into: ViolationCollector, prefix: str) -> ViolationCollector:
    """A collector adding `prefix`-ed paths to `into`'s list."""
    return ViolationCollector(f"{into.prefix}{prefix}", into.violations)


def raise_all(errors: ViolationCollector) -> None:
    """Raise InvalidArgument with every collected violation, each (field, reason) once."""
    seen: set[tuple[str, str]] = set()
    unique: list[FieldViolation] = []
    for violation in errors.violations:
        key = (violation.field, violation.reason)
        if key not in seen:
            seen.add(key)
            unique.append(violation)
    if not unique:
        return
    if len(unique) > MAX_VIOLATIONS:
        more = len(unique) - MAX_VIOLATIONS + 1
        unique = unique[: MAX_VIOLATIONS - 1] + [FieldViolation("", f"and {more} more violations", bounds.TOO_MANY)]
    raise InvalidArgument(unique)


def is_valid_zone(name: str) -> bool:
    """Whether `name` is a known IANA time zone, looked up safely.

    zoneinfo reads a file named after the zone: a long name raises OSError (file name too
    long), a directory name ("America") IsADirectoryError, a NUL byte ValueError.
    """
    if not name or len(name) > bounds.ID_MAX or not name.isascii():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def check_expression_syntax(errors: ViolationCollector, path: str, text: str) -> bool:
    """Parse an expression locally (syntax, size, depth: no schema, no peer needed)."""
    if not text:
        return True
    try:
        parse(text)
    except ExpressionError as error:
        errors.add(path, str(error), error.reason)
        return False
    return True


def check_id(errors: ViolationCollector, path: str, value: str, what: str) -> None:
    """An id of lower-case letters, digits, '-' and '_' (1-64)."""
    if not _ID.match(value or ""):
        errors.add(path, f"{what} must be 1-64 lower-case letters, digits, '-' or '_'", "BAD_ID")


def check_customer(errors: ViolationCollector, path: str, value: str) -> None:
    """A customer id as ingest accepts it."""
    if not _CUSTOMER.match(value or ""):
        errors.add(path, "customer_id must be 1-64 letters, digits, '-' or '_'", "BAD_CUSTOMER_ID")


def _window(errors: ViolationCollector, path: str, window: Window | None, rolling_only: bool = False) -> None:
    if window is None or (window.kind is None and window.unit is None and not window.size):
        errors.add(path, "window is required", "REQUIRED")
        return
    if window.kind == WindowKind.CALENDAR:
        if rolling_only:
            errors.add(f"{path}.kind", "only rolling windows are allowed here", "ROLLING_ONLY")
        elif window.size != 1:
            errors.add(f"{path}.size", "calendar windows have size 1", "CALENDAR_SIZE")
    elif not 1 <= window.size <= MAX_WINDOW_UNITS:
        errors.add(f"{path}.size", f"size must be 1-{MAX_WINDOW_UNITS}", "OUT_OF_RANGE")


def _cap(errors: ViolationCollector, path: str, cap: FrequencyCap) -> None:
    check_id(errors, f"{path}.cap_id", cap.cap_id, "cap_id")
    if not 0 <= cap.max_contacts <= MAX_CAP:
        errors.add(f"{path}.max_contacts", f"max_contacts must be 0-{MAX_CAP}", "OUT_OF_RANGE")
    _window(errors, f"{path}.window", cap.window)
    for purpose in sorted(cap.purposes & UNCAPPED_PURPOSES):
        errors.add(
            f"{path}.purposes",
            f"{purpose.name} contacts are never capped; remove it from the cap",
            "UNCAPPED_PURPOSE",
        )
    if cap.campaign_id and cap.scope != CapScope.CAMPAIGN:
        errors.add(f"{path}.campaign_id", "campaign_id is only for CAMPAIGN caps", "SCOPE_MISMATCH")
    if cap.offer_id and cap.scope != CapScope.OFFER:
        errors.add(f"{path}.offer_id", "offer_id is only for OFFER caps", "SCOPE_MISMATCH")


def _covers_every_moment(quiet: QuietHours) -> bool:
    all_day = quiet.start == dt.time(0, 0) and quiet.end == dt.time.max
    return all_day or ALL_WEEKDAYS <= quiet.quiet_weekdays


def validate_policy(policy: Policy, prefix: str = "policy.") -> None:
    """Raise InvalidArgument listing every problem of a policy definition."""
    errors = ViolationCollector()
    collect_policy(policy, errors, prefix)
    raise_all(errors)


def collect_policy(policy: Policy, into: ViolationCollector, prefix: str = "policy.") -> None:
    """Add every problem of a policy definition to `into`."""
    errors = sub(into, prefix)
    check_id(errors, "policy_id", policy.policy_id, "policy_id")
    if not policy.name.strip():
        errors.add("name", "name is required", "REQUIRED")
    seen: set[str] = set()
    for i, cap in enumerate(policy.caps):
        _cap(errors, f"caps[{i}]", cap)
        if cap.cap_id in seen:
            errors.add(f"caps[{i}].cap_id", f"duplicate cap_id {bounds.preview(cap.cap_id)}", "DUPLICATE")
        seen.add(cap.cap_id)
    quiet = policy.quiet_hours
    if (quiet.start is None) != (quiet.end is None):
        errors.add("quiet_hours", "set both start and end (HH:MM) or neither", "INCOMPLETE")
    elif quiet.start is not None and quiet.start == quiet.end:
        errors.add("quiet_hours.end", "end must differ from start", "EMPTY_PERIOD")
    for day in sorted(quiet.quiet_weekdays):
        if not 1 <= day <= 7:
            errors.add("quiet_hours.quiet_weekdays", f"weekday {day} is not 1-7", "OUT_OF_RANGE")
    if _covers_every_moment(quiet):
        governed = "the channels it governs" if quiet.channels else "every outbound channel"
        errors.add(
            "quiet_hours",
            f"quiet hours cover every hour of all seven days: the policy could never allow a contact on "
            f"{governed}; shorten the quiet period (or use an opt-out to stop a channel)",
            "NEVER_ALLOWS",
        )
    for i, name in enumerate(policy.fallback_time_zones):
        if len(name) <= bounds.ID_MAX and not is_valid_zone(name):
            errors.add(f"fallback_time_zones[{i}]", f"unknown IANA time zone {bounds.preview(name)}", "BAD_TIME_ZONE")
    for i, rule in enumerate(policy.cool_downs):
        path = f"cool_downs[{i}]"
        check_id(errors, f"{path}.cool_down_id", rule.cool_down_id, "cool_down_id")
        if rule.cool_down_id in seen:
            errors.add(f"{path}.cool_down_id", f"duplicate rule id {bounds.preview(rule.cool_down_id)}", "DUPLICATE")
        seen.add(rule.cool_down_id)
        if not rule.triggers:
            errors.add(f"{path}.triggers", "at least one customer answer is required", "REQUIRED")
        for kind in sorted(rule.triggers - CUSTOMER_ANSWERS):
            errors.add(
                f"{path}.triggers",
                f"{kind.name} is not a customer answer; only answers start cool-downs",
                "NOT_CUSTOMER_ANSWER",
            )
        _window(errors, f"{path}.duration", rule.duration, rolling_only=True)
    purposes = [pc.purpose for pc in policy.purpose_classes if pc.purpose is not None]
    if len(purposes) != len(set(purposes)):
        errors.add("purpose_classes", "each purpose may be listed once", "DUPLICATE")


def validate_offer(offer: Offer, prefix: str = "offer.") -> None:
    """Raise InvalidArgument listing every problem of an offer definition."""
    errors = ViolationCollector()
    collect_offer(offer, errors, prefix)
    raise_all(errors)


def collect_offer(offer: Offer, into: ViolationCollector, prefix: str = "offer.") -> None:
    """Add every problem of an offer definition to `into` (eligibility syntax included;
    names and types need profile's schema and are checked by the catalogue)."""
    errors = sub(into, prefix)
    check_id(errors, "offer_id", offer.offer_id, "offer_id")
    if not offer.name.strip():
        errors.add("name", "name is required", "REQUIRED")
    if offer.category == OfferCategory.UNSPECIFIED:
        errors.add("category", "category is required", "REQUIRED")
    if offer.value_fen < 0:
        errors.add("value_fen", "value must not be negative", "OUT_OF_RANGE")
    if offer.cost_fen < 0:
        errors.add("cost_fen", "cost must not be negative", "OUT_OF_RANGE")
    if not offer.channels:
        errors.add("channels", "at least one channel is required", "REQUIRED")
    if offer.valid_from and offer.valid_until and offer.valid_until <= offer.valid_from:
        errors.add("valid_until", "valid_until must be after valid_from", "BAD_RANGE")
    if not 0 <= offer.control_group_bp <= 5000:
        errors.add("control_group_bp", "control group must be 0-5000 basis points", "OUT_OF_RANGE")
    if offer.presentation_cool_down_hours < 0:
        errors.add("presentation_cool_down_hours", "must not be negative", "OUT_OF_RANGE")
    if (offer.prior_alpha > 0) != (offer.prior_beta > 0) or offer.prior_alpha < 0 or offer.prior_beta < 0:
        errors.add("prior_alpha", "set both prior_alpha and prior_beta (> 0) or neither", "BAD_PRIOR")
    check_expression_syntax(errors, "eligibility", offer.eligibility)


def validate_campaign(campaign: Campaign, known_offers: set[str], prefix: str = "campaign.") -> None:
    """Raise InvalidArgument listing every problem of a campaign definition."""
    errors = ViolationCollector()
    collect_campaign(campaign, known_offers, errors, prefix)
    raise_all(errors)


def collect_campaign(
    campaign: Campaign, known_offers: set[str] | None, into: ViolationCollector, prefix: str = "campaign."
) -> None:
    """Add every problem of a campaign definition to `into` (offer ids only when known_offers
    is given; the target's syntax included)."""
    errors = sub(into, prefix)
    check_id(errors, "campaign_id", campaign.campaign_id, "campaign_id")
    if not campaign.name.strip():
        errors.add("name", "name is required", "REQUIRED")
    if not campaign.triggers:
        errors.add("triggers", "at least one trigger is required", "REQUIRED")
    for i, trigger in enumerate(campaign.triggers):
        if trigger.kind is not None and trigger.kind.name.startswith("TAG_") and not trigger.tag:
            errors.add(f"triggers[{i}].tag", "tag events need a tag name", "REQUIRED")
    if not campaign.touchpoints:
        errors.add("touchpoints", "at least one touchpoint is required", "REQUIRED")
    if len(set(campaign.touchpoints)) != len(campaign.touchpoints):
        errors.add("touchpoints", "each touchpoint may be listed once", "DUPLICATE")
    if not campaign.offer_ids:
        errors.add("offer_ids", "at least one offer is required", "REQUIRED")
    for i, offer_id in enumerate(campaign.offer_ids):
        if known_offers is not None and offer_id not in known_offers:
            errors.add(f"offer_ids[{i}]", f"unknown offer {bounds.preview(offer_id)}", "UNKNOWN_OFFER")
    if campaign.purpose is not None and campaign.purpose not in (Purpose.MARKETING, Purpose.RETENTION):
        errors.add("purpose", "campaign purpose must be MARKETING or RETENTION", "BAD_PURPOSE")
    if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
        errors.add("ends_at", "ends_at must be after starts_at", "BAD_RANGE")
    if campaign.budget_fen < 0 or campaign.contact_cost_fen < 0:
        errors.add("budget_fen", "budget and contact cost must not be negative", "OUT_OF_RANGE")
    if not 0 <= campaign.control_group_bp <= 5000:
        errors.add("control_group_bp", "control group must be 0-5000 basis points", "OUT_OF_RANGE")
    if campaign.state is not None and campaign.state not in (
        CampaignState.DRAFT,
        CampaignState.ACTIVE,
        CampaignState.PAUSED,
    ):
        errors.add("state", "state must be DRAFT, ACTIVE or PAUSED", "BAD_STATE")
    for i, cap in enumerate(campaign.caps):
        _cap(errors, f"caps[{i}]", cap)
    check_expression_syntax(errors, "target", campaign.target)


def validate_request(request: ContactRequest, prefix: str = "") -> None:
    """Raise InvalidArgument for a malformed contact request."""
    errors = ViolationCollector()
    collect_request(request, errors, prefix)
    raise_all(errors)


def collect_request(request: ContactRequest, into: ViolationCollector, prefix: str = "") -> None:
    """Add the problems of a contact request to `into`."""
    errors = sub(into, prefix)
    check_customer(errors, "customer_id", request.customer_id)


def validate_opt_out(entry: OptOut, prefix: str = "opt_out.") -> None:
    """Raise InvalidArgument for a malformed opt-out."""
    errors = ViolationCollector()
    collect_opt_out(entry, errors, prefix)
    raise_all(errors)


def collect_opt_out(entry: OptOut, into: ViolationCollector, prefix: str = "opt_out.") -> None:
    """Add the problems of an opt-out to `into`."""
    errors = sub(into, prefix)
    check_customer(errors, "customer_id", entry.customer_id)
    if Purpose.REGULATORY in entry.purposes:
        errors.add("purposes", "regulatory notices cannot be opted out of", "REGULATORY")
    if not entry.reason.strip():
        errors.add("reason", "reason is required", "REQUIRED")
    if not entry.source.strip():
        errors.add("source", "source is required", "REQUIRED")
    if entry.starts_at and entry.expires_at and entry.expires_at <= entry.starts_at:
        errors.add("expires_at", "expires_at must be after starts_at", "BAD_RANGE")


def validate_consent(record: Consent, prefix: str = "consent.") -> None:
    """Raise InvalidArgument for a malformed consent record."""
    errors = ViolationCollector()
    collect_consent(record, errors, prefix)
    raise_all(errors)


def collect_consent(record: Consent, into: ViolationCollector, prefix: str = "consent.") -> None:
    """Add the problems of a consent record to `into`."""
    errors = sub(into, prefix)
    check_customer(errors, "customer_id", record.customer_id)
    if not record.source.strip():
        errors.add("source", "source (where consent came from) is required", "REQUIRED")
    if record.expires_at and record.recorded_at and record.expires_at <= record.recorded_at:
        errors.add("expires_at", "expires_at must be after recorded_at", "BAD_RANGE")
