"""Small builders for contact test data (times are aware UTC datetimes)."""

from __future__ import annotations

import datetime as dt

from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    CapScope,
    Channel,
    Consent,
    ContactRequest,
    CountedContact,
    FrequencyCap,
    Policy,
    Purpose,
    PurposeClass,
    Window,
    WindowKind,
    WindowUnit,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # Tuesday 14:00 in Asia/Shanghai


def at(days: float = 0, hours: float = 0, base: dt.datetime = T0) -> dt.datetime:
    """T0 shifted by days and hours."""
    return base + dt.timedelta(days=days, hours=hours)


def rolling(size: int, unit: WindowUnit = WindowUnit.DAY) -> Window:
    """A rolling window."""
    return Window(WindowKind.ROLLING, unit, size)


def calendar(unit: WindowUnit) -> Window:
    """A calendar window."""
    return Window(WindowKind.CALENDAR, unit, 1)


def cap(
    cap_id: str,
    max_contacts: int,
    window: Window,
    channels: tuple[Channel, ...] = (),
    purposes: tuple[Purpose, ...] = (Purpose.MARKETING,),
    scope: CapScope = CapScope.ACCOUNT,
    **kw,
) -> FrequencyCap:
    """A frequency cap."""
    return FrequencyCap(
        cap_id=cap_id,
        scope=scope,
        max_contacts=max_contacts,
        window=window,
        channels=frozenset(channels),
        purposes=frozenset(purposes),
        **kw,
    )


def policy(policy_id: str = "base", **kw) -> Policy:
    """An active policy with no consent requirement unless given."""
    kw.setdefault("purpose_classes", ())
    if not kw["purpose_classes"]:
        kw["purpose_classes"] = (
            PurposeClass(Purpose.MARKETING, False),
            PurposeClass(Purpose.RETENTION, False),
        )
    return Policy(policy_id=policy_id, name=policy_id, **kw)


def request(
    channel: Channel = Channel.SMS, purpose: Purpose = Purpose.MARKETING, customer_id: str = "C1", **kw
) -> ContactRequest:
    """A contact request."""
    return ContactRequest(customer_id=customer_id, channel=channel, purpose=purpose, **kw)


def contact(
    when: dt.datetime, channel: Channel = Channel.SMS, purpose: Purpose = Purpose.MARKETING, **kw
) -> CountedContact:
    """A counted contact."""
    return CountedContact(at=when, channel=channel, purpose=purpose, **kw)


def history(*contacts: CountedContact, **kw) -> AccountHistory:
    """An account history."""
    return AccountHistory(contacts=tuple(contacts), **kw)


def context(time_zone: str = "Asia/Shanghai", **kw) -> AccountContext:
    """An account context."""
    return AccountContext(customer_id=kw.pop("customer_id", "C1"), time_zone=time_zone, **kw)


def grant(when: dt.datetime, **kw) -> Consent:
    """A consent grant for the account."""
    return Consent(
        consent_id=kw.pop("consent_id", f"cons-{when:%H%M%S}"),
        customer_id="C1",
        granted=kw.pop("granted", True),
        source="contract",
        recorded_at=when,
        **kw,
    )
