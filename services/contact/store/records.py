"""Repository of opt-outs, consent records and stored decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from services.contact.domain.model import Channel, Consent, Decision, OptOut, OptOutKind, Purpose
from services.contact.store import codec
from services.contact.store.models import ConsentRow, DecisionRow, OptOutRow
from services.contact.store.timeutil import from_us, opt_dt, opt_us, to_us
from telco360_runtime.errors import NotFound


def _ints(values) -> str:
    return ",".join(str(int(v)) for v in sorted(values))


def _parse(text: str, enum_type):
    return frozenset(enum_type(int(v)) for v in text.split(",") if v)


# ---------------------------------------------------------------------------------------
# Opt-outs
# ---------------------------------------------------------------------------------------


def to_opt_out(row) -> OptOut:
    """The domain entry of an opt-out row."""
    return OptOut(
        opt_out_id=row.opt_out_id,
        customer_id=row.customer_id,
        kind=OptOutKind(row.kind),
        reason=row.reason,
        source=row.source,
        person_id=row.person_id,
        channels=_parse(row.channels, Channel),
        purposes=_parse(row.purposes, Purpose),
        starts_at=opt_dt(row.starts_at_us),
        expires_at=opt_dt(row.expires_at_us),
        removed_at=opt_dt(row.removed_at_us),
        removed_reason=row.removed_reason,
        created_at=opt_dt(row.created_at_us),
    )


def insert_opt_out(session: Session, entry: OptOut) -> None:
    """Record an opt-out."""
    session.add(
        OptOutRow(
            opt_out_id=entry.opt_out_id,
            customer_id=entry.customer_id,
            person_id=entry.person_id,
            kind=int(entry.kind),
            channels=_ints(entry.channels),
            purposes=_ints(entry.purposes),
            reason=entry.reason,
            source=entry.source,
            starts_at_us=opt_us(entry.starts_at),
            expires_at_us=opt_us(entry.expires_at),
            removed_at_us=None,
            removed_reason="",
            created_at_us=to_us(entry.created_at or dt.datetime.now(dt.UTC)),
        )
    )


def remove_opt_out(session: Session, opt_out_id: str, reason: str, now: dt.datetime) -> OptOut:
    """Lift an opt-out (idempotent: a lifted one keeps its first removal)."""
    row = session.get(OptOutRow, opt_out_id, with_for_update=True)
    if row is None:
        raise NotFound("opt_out", opt_out_id)
    if row.removed_at_us is None:
        row.removed_at_us, row.removed_reason = to_us(now), reason
    return to_opt_out(row)


def get_opt_out_customer(session: Session, opt_out_id: str) -> str:
    """The account of an opt-out."""
    row = session.get(OptOutRow, opt_out_id)
    if row is None:
        raise NotFound("opt_out", opt_out_id)
    return row.customer_id


_OPT_OUTS = text("SELECT * FROM opt_outs WHERE customer_id = :c")
_CONSENTS = text("SELECT * FROM consents WHERE customer_id = :c")


def load_opt_outs(session: Session, customer_id: str) -> list[OptOut]:
    """Every opt-out of an account (the rules decide which are in force)."""
    return [to_opt_out(r) for r in session.execute(_OPT_OUTS, {"c": customer_id}).all()]


def list_opt_outs(
    session: Session,
    customer_id: str,
    include_inactive: bool,
    now: dt.datetime,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[OptOut]:
    """Up to `limit` of an account's opt-outs, newest first ((created_at, id) descending),
    strictly after the key `after` (by default only those in force now)."""
    entries = sorted(load_opt_outs(session, customer_id), key=lambda e: (e.created_at, e.opt_out_id), reverse=True)
    if not include_inactive:
        entries = [
            e
            for e in entries
            if e.in_force(now) or (e.starts_at is not None and e.starts_at > now and e.removed_at is None)
        ]
    if after is not None:
        entries = [e for e in entries if (e.created_at, e.opt_out_id) < after]
    return entries[:limit]


# ---------------------------------------------------------------------------------------
# Consent
# ---------------------------------------------------------------------------------------


def to_consent(row) -> Consent:
    """The domain record of a consent row."""
    return Consent(
        consent_id=row.consent_id,
        customer_id=row.customer_id,
        granted=row.granted,
        source=row.source,
        recorded_at=from_us(row.recorded_at_us),
        person_id=row.person_id,
        channel=Channel(row.channel) if row.channel else None,
        purpose=Purpose(row.purpose) if row.purpose else None,
        source_ref=row.source_ref,
        expires_at=opt_dt(row.expires_at_us),
    )


def insert_consent(session: Session, record: Consent) -> None:
    """Record a consent grant or withdrawal."""
    session.add(
        ConsentRow(
            consent_id=record.consent_id,
            customer_id=record.customer_id,
            person_id=record.person_id,
            channel=int(record.channel) if record.channel else 0,
            purpose=int(record.purpose) if record.purpose else 0,
            granted=record.granted,
            source=record.source,
            source_ref=record.source_ref,
            recorded_at_us=to_us(record.recorded_at),
            expires_at_us=opt_us(record.expires_at),
        )
    )


def load_consents(session: Session, customer_id: str) -> list[Consent]:
    """Every consent record of an account."""
    return [to_consent(r) for r in session.execute(_CONSENTS, {"c": customer_id}).all()]


def list_consents(
    session: Session,
    customer_id: str,
    include_history: bool,
    now: dt.datetime,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Consent]:
    """Up to `limit` of an account's consent records, newest first ((recorded_at, id)
    descending), strictly after the key `after`; by default only the latest per scope
    (customer, person, channel, purpose) when it is a live grant or a withdrawal."""
    records = sorted(load_consents(session, customer_id), key=lambda c: (c.recorded_at, c.consent_id), reverse=True)
    if not include_history:
        latest: dict[tuple, Consent] = {}
        for record in records:
            latest.setdefault((record.person_id, record.channel, record.purpose), record)
        records = [r for r in latest.values() if not (r.granted and r.expires_at is not None and r.expires_at <= now)]
        records.sort(key=lambda c: (c.recorded_at, c.consent_id), reverse=True)
    if after is not None:
        records = [r for r in records if (r.recorded_at, r.consent_id) < after]
    return records[:limit]


# ---------------------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------------------


def insert_decision(session: Session, kind: str, decision: Decision) -> None:
    """Store a decision with its full trace (a plain INSERT: every decision writes one)."""
    session.execute(
        insert(DecisionRow),
        {
            "decision_id": decision.decision_id,
            "customer_id": decision.request.customer_id,
            "kind": kind,
            "allowed": decision.allowed,
            "decided_at_us": to_us(decision.decided_at),
            "payload": codec.dumps(decision),
        },
    )


def insert_document(
    session: Session,
    decision_id: str,
    customer_id: str,
    kind: str,
    allowed: bool,
    decided_at: dt.datetime,
    payload: str,
) -> None:
    """Store a non-contact decision document (a next-best-offer answer)."""
    session.add(
        DecisionRow(
            decision_id=decision_id,
            customer_id=customer_id,
            kind=kind,
            allowed=allowed,
            decided_at_us=to_us(decided_at),
            payload=payload,
        )
    )


def get_decision(session: Session, decision_id: str) -> Decision:
    """A stored contact decision; NOT_FOUND when unknown (or not a contact decision)."""
    row = session.get(DecisionRow, decision_id)
    if row is None or row.kind == "nbo":
        raise NotFound("decision", decision_id)
    return codec.loads(Decision, row.payload)


def list_decisions(
    session: Session,
    customer_id: str,
    since: dt.datetime | None,
    blocked_only: bool,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> tuple[list[Decision], int]:
    """Up to `limit` of an account's contact decisions, newest first ((time, id)
    descending) strictly after the key `after`, and the total count of the listing."""
    conds = [DecisionRow.customer_id == customer_id, or_(DecisionRow.kind == "check", DecisionRow.kind == "reserve")]
    if since is not None:
        conds.append(DecisionRow.decided_at_us >= to_us(since))
    if blocked_only:
        conds.append(DecisionRow.allowed.is_(False))
    total = session.scalar(select(func.count()).select_from(DecisionRow).where(*conds))
    if after is not None:
        at, decision_id = to_us(after[0]), after[1]
        conds.append(
            or_(
                DecisionRow.decided_at_us < at,
                and_(DecisionRow.decided_at_us == at, DecisionRow.decision_id < decision_id),
            )
        )
    rows = session.scalars(
        select(DecisionRow)
        .where(*conds)
        .order_by(DecisionRow.decided_at_us.desc(), DecisionRow.decision_id.desc())
        .limit(limit)
    ).all()
    return [codec.loads(Decision, r.payload) for r in rows], int(total or 0)
