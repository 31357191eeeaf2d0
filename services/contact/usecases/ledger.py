"""Use cases of the ledger: check, reserve (atomic, idempotent), confirm, cancel, expiry,
audited adjustments, outcomes, opt-outs, consent and stored decisions.

Every write about an account (check, reserve, adjustment, outcome, opt-out, consent) first
checks the account's erasure tombstone in its own transaction: an erased account is refused
with AccountErased (FAILED_PRECONDITION, NOT_ALLOWED) and nothing is recorded. Its
reservations were deleted by the erasure, so confirming or cancelling one answers NOT_FOUND.

Reserve, confirm and cancel each read the clock INSIDE the account's lock (after it is
granted), so their decisions about a slot are ordered like the lock: a confirmation that
waited for the lock while a reservation took a slot that had just expired sees that expiry
too and is refused, instead of confirming with the time it read before waiting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.contact.domain import validation, windows
from services.contact.domain.decide import decide, lookback
from services.contact.domain.ledger import (
    MAX_HOLD,
    OFFER_OUTCOMES,
    Adjustment,
    OutcomeRecord,
    Reservation,
    check_cancel,
    check_confirm,
    check_reservation_at,
    delivered_time,
    expiry,
    fingerprint,
    hold_for,
)
from services.contact.domain.model import (
    AccountContext,
    Campaign,
    Consent,
    ContactRequest,
    Decision,
    Offer,
    OptOut,
    OutcomeKind,
    ReservationState,
)
from services.contact.store import catalogue as catalogue_repo
from services.contact.store import erasure as erasure_repo
from services.contact.store import ledger as repo
from services.contact.store import records
from services.contact.store.ledger import write_transaction
from services.contact.store.models import ReservationRow
from services.contact.store.timeutil import to_us
from services.contact.usecases.deps import Catalogue, Deps, Scope, require_in_scope
from services.contact.usecases.erasure import unknown_or_erased
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound


@dataclasses.dataclass(frozen=True)
class ReserveResult:
    """The answer of ReserveContact."""

    decision: Decision
    reservation: Reservation | None
    replayed: bool


def _subjects(
    cat: Catalogue, session: Session, request: ContactRequest, now: dt.datetime, reserving: bool
) -> tuple[Offer | None, Campaign | None]:
    """The offer and campaign a request names (NOT_FOUND when unknown).

    A campaign with a budget gets its spend read fresh; when reserving, also the cost of its
    open reservations, under the campaign's row lock, so the budget check and the insert are
    one atomic step across accounts and replicas (store/catalogue.lock_campaign_budget).
    """
    offer = campaign = None
    if request.offer_id:
        offer = cat.offers.get(request.offer_id)
        if offer is None:
            raise NotFound("offer", request.offer_id)
    if request.campaign_id:
        campaign = cat.campaigns.get(request.campaign_id)
        if campaign is None:
            raise NotFound("campaign", request.campaign_id)
        if campaign.budget_fen and reserving:
            spent, open_now = catalogue_repo.lock_campaign_budget(session, campaign.campaign_id, now)
            campaign = dataclasses.replace(
                campaign, spent_fen=spent, committed_fen=open_now * campaign.contact_cost_fen
            )
        elif campaign.budget_fen:
            campaign = dataclasses.replace(
                campaign, spent_fen=catalogue_repo.campaign_spent(session, campaign.campaign_id)
            )
    return offer, campaign


class LedgerUseCases:
    """Decisions and the ledger."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _decide(self, session: Session, request: ContactRequest, context: AccountContext, now: dt.datetime) -> Decision:
        """Decide a request inside an open transaction (catalogue checked against the store)."""
        cat = self.deps.catalogue.get(session)
        offer, campaign = _subjects(cat, session, request, now, reserving=False)
        at = request.at or now
        since = windows.shift(at, -lookback(cat.active_policies, [campaign] if campaign else []))
        history = repo.load_history(session, request.customer_id, since, now)
        decision = decide(request, at, now, cat.active_policies, history, context, offer, campaign)
        return dataclasses.replace(decision, decision_id=repo.new_id())

    async def check(self, request: ContactRequest, scope: Scope = None) -> Decision:
        """CheckContact: decide and store the decision; nothing is reserved (`scope`: the
        caller's account team, checked first; see deps.require_in_scope)."""
        validation.validate_request(request)
        await require_in_scope(self.deps.peers, request.customer_id, scope)
        context = await self.deps.peers.context(request.customer_id, with_score=False)
        if not context.exists:
            raise await unknown_or_erased(self.deps, request.customer_id)

        def tx() -> Decision:
            now = self.deps.clock()
            with write_transaction(self.deps.db) as session:
                erasure_repo.refuse_if_erased(session, request.customer_id)
                decision = self._decide(session, request, context, now)
                records.insert_decision(session, "check", decision)
                return decision

        return await self.deps.db.run(tx)

    async def reserve(self, key: str, request: ContactRequest, hold_seconds: int, scope: Scope = None) -> ReserveResult:
        """ReserveContact: check and record in one transaction under the account's lock
        (on SQLite, in a group-committed batch: store/batch.py); `scope` as in `check`."""
        validation.validate_request(request, "contact.")
        problems = []
        if not 1 <= len(key) <= 128:
            problems.append(FieldViolation("idempotency_key", "1-128 characters required", "REQUIRED"))
        if not 0 <= hold_seconds <= MAX_HOLD.total_seconds():
            problems.append(
                FieldViolation(
                    "hold_seconds", f"0 (default 900) to {int(MAX_HOLD.total_seconds())} seconds", "OUT_OF_RANGE"
                )
            )
        if problems:
            raise InvalidArgument(problems)
        await require_in_scope(self.deps.peers, request.customer_id, scope)
        bounds = self.deps.config.time_bounds
        context = await self.deps.peers.context(request.customer_id, with_score=False)
        if not context.exists:
            raise await unknown_or_erased(self.deps, request.customer_id)
        digest = fingerprint(request, hold_seconds)

        def decide_and_record(session: Session, generation: int | None) -> ReserveResult:
            # Statements under the lock: (lock +) catalogue generation, (campaign budget
            # lock,) history + idempotency key, three inserts. Nothing else waits behind it.
            erasure_repo.refuse_if_erased(session, request.customer_id)  # nothing recorded for it
            now = self.deps.clock()  # under the lock (on SQLite: in the batch's write transaction)
            cat = self.deps.catalogue.get(session, generation)
            offer, campaign = _subjects(cat, session, request, now, reserving=True)
            at = request.at or now
            since = windows.shift(at, -lookback(cat.active_policies, [campaign] if campaign else []))
            history, prior = repo.load_history_and_key(session, request.customer_id, since, now, key)
            if prior is not None:
                return self._replay(session, prior, digest)
            check_reservation_at(at, now, bounds)
            decision = decide(request, at, now, cat.active_policies, history, context, offer, campaign)
            decision = dataclasses.replace(decision, decision_id=repo.new_id())
            reservation = None
            if decision.allowed:
                reservation = repo.insert_reservation(
                    session,
                    repo.new_id(),
                    key,
                    request,
                    at,
                    now,
                    expiry(at, now, hold_for(hold_seconds)),
                    decision.decision_id,
                    context.time_zone,
                    context.tier,
                )
                decision = dataclasses.replace(decision, reservation_id=reservation.reservation_id)
            records.insert_decision(session, "reserve", decision)
            repo.record_reserve_request(
                session,
                key,
                digest,
                request.customer_id,
                decision.decision_id,
                reservation.reservation_id if reservation else "",
                now,
            )
            return ReserveResult(decision, reservation, replayed=False)

        def tx() -> ReserveResult:
            with repo.locked_account(self.deps.db, request.customer_id) as (session, generation):
                return decide_and_record(session, generation)

        def replay_only() -> ReserveResult:
            with self.deps.db.session() as session:
                prior = repo.find_reserve_request(session, key)
                if prior is None:
                    raise FailedPrecondition("idempotency key conflict; retry")
                return self._replay(session, prior, digest)

        try:
            if self.deps.group_commit is not None:
                # SQLite: queued with this process's other reservations, one commit per batch.
                return await self.deps.group_commit.run(lambda session: decide_and_record(session, None))
            return await self.deps.db.run(tx)
        except IntegrityError:
            # The same key was used concurrently for another account (a different lock).
            return await self.deps.db.run(replay_only)

    def _replay(self, session: Session, prior, digest: str) -> ReserveResult:
        if prior.fingerprint != digest:
            raise FailedPrecondition(
                "idempotency key already used for a different contact",
                metadata={"idempotency_key": prior.idempotency_key},
            )
        decision = records.get_decision(session, prior.decision_id)
        reservation = None
        if prior.reservation_id:
            reservation = repo.to_reservation(repo.get_reservation_row(session, prior.reservation_id))
        return ReserveResult(decision, reservation, replayed=True)

    async def confirm(
        self, reservation_id: str, delivered_at: dt.datetime | None, external_ref: str, scope: Scope = None
    ) -> Reservation:
        """ConfirmContact: a live reservation counts for good (idempotent; `scope`: its account's team)."""
        customer_id = await self.deps.db.run(repo.reservation_customer, self.deps.db, reservation_id)
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx() -> Reservation:
            with repo.account_transaction(self.deps.db, customer_id) as session:
                now = self.deps.clock()  # under the lock: see the module docstring
                row = repo.get_reservation_row(session, reservation_id)
                current = repo.to_reservation(row)
                if check_confirm(current, now):
                    when = delivered_time(current, delivered_at, now, self.deps.config.time_bounds)
                    row.state = int(ReservationState.CONFIRMED)
                    row.closed_at_us = to_us(when)
                    row.external_ref = external_ref[:128]
                    self._charge_contact(session, row)
                return repo.to_reservation(row)

        return await self.deps.db.run(tx)

    def _charge_contact(self, session: Session, row: ReservationRow) -> None:
        if not row.campaign_id:
            return
        campaign = self.deps.catalogue.get(session).campaigns.get(row.campaign_id)
        if campaign is not None:
            catalogue_repo.add_campaign_spend(session, row.campaign_id, campaign.contact_cost_fen)

    async def cancel(self, reservation_id: str, reason: str, scope: Scope = None) -> Reservation:
        """CancelContact: give the slot back (idempotent; `scope`: its account's team)."""
        if not reason.strip():
            raise InvalidArgument([FieldViolation("reason", "reason is required", "REQUIRED")])
        customer_id = await self.deps.db.run(repo.reservation_customer, self.deps.db, reservation_id)
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx() -> Reservation:
            with repo.account_transaction(self.deps.db, customer_id) as session:
                now = self.deps.clock()  # under the lock: see the module docstring
                row = repo.get_reservation_row(session, reservation_id)
                current = repo.to_reservation(row)
                if check_cancel(current, now):
                    row.state, row.closed_at_us, row.cancel_reason = (
                        int(ReservationState.CANCELLED),
                        to_us(now),
                        reason[:500],
                    )
                elif current.effective_state(now) == ReservationState.EXPIRED and row.state == int(
                    ReservationState.RESERVED
                ):
                    row.state, row.closed_at_us = int(ReservationState.EXPIRED), row.expires_at_us
                return repo.to_reservation(row)

        return await self.deps.db.run(tx)

    async def expire(self) -> int:
        """Mark reservations past their expiry EXPIRED; returns how many.

        Housekeeping only: counting never depends on it (a reservation past its expiry
        stops counting at once). It changes only rows still RESERVED in the same
        statement, so a confirmation committed under the account's lock is never undone,
        and once a row is written EXPIRED every later confirmation refuses it.
        """

        def tx() -> int:
            with write_transaction(self.deps.db) as session:
                return repo.expire_reservations(session, self.deps.clock())

        return await self.deps.db.run(tx)

    async def adjust(self, scope: ContactRequest, delta: int, reason: str, actor: str) -> Adjustment:
        """AdjustCounter: an audited correction under the account's lock."""
        validation.validate_request(scope, "scope.")
        problems = []
        if delta == 0 or abs(delta) > 1000:
            problems.append(FieldViolation("delta", "delta must be non-zero and at most 1000 in size", "OUT_OF_RANGE"))
        if not reason.strip():
            problems.append(FieldViolation("reason", "reason is required (audited)", "REQUIRED"))
        if problems:
            raise InvalidArgument(problems)

        def tx() -> Adjustment:
            now = self.deps.clock()
            adjustment = Adjustment(
                repo.new_id(), dataclasses.replace(scope, at=scope.at or now), delta, reason, actor, now
            )
            with repo.account_transaction(self.deps.db, scope.customer_id) as session:
                erasure_repo.refuse_if_erased(session, scope.customer_id)
                repo.insert_adjustment(session, adjustment)
            return adjustment

        return await self.deps.db.run(tx)

    async def list_ledger(
        self, customer_id, since, until, after, limit, confirmed_only: bool = False, scope: Scope = None
    ):
        """Up to `limit` entries of an account's ledger, newest first, after the (time, id) key
        `after` (`confirmed_only`: delivered contacts only; `scope`: the account's team)."""
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx():
            with self.deps.db.session() as session:
                return repo.list_ledger(session, customer_id, since, until, after, limit, confirmed_only)

        return await self.deps.db.run(tx)

    async def record_outcome(self, record: OutcomeRecord, scope: Scope = None) -> OutcomeRecord:
        """RecordOutcome: idempotent on its key; customer answers update offer statistics (`scope`
        as in `check`)."""
        errors = []
        if not record.customer_id:
            errors.append(FieldViolation("outcome.customer_id", "customer_id is required", "REQUIRED"))
        if record.kind in OFFER_OUTCOMES and not record.offer_id:
            errors.append(FieldViolation("outcome.offer_id", f"{record.kind.name} must name the offer", "REQUIRED"))
        if len(record.idempotency_key) > 128:
            errors.append(FieldViolation("outcome.idempotency_key", "at most 128 characters", "TOO_LONG"))
        if errors:
            raise InvalidArgument(errors)
        await require_in_scope(self.deps.peers, record.customer_id, scope)
        context = await self.deps.peers.context(record.customer_id)

        def tx() -> OutcomeRecord:
            now = self.deps.clock()
            with write_transaction(self.deps.db) as session:
                erasure_repo.refuse_if_erased(session, record.customer_id)
                if record.idempotency_key:
                    prior = repo.find_outcome_by_key(session, record.idempotency_key)
                    if prior is not None:
                        return prior
                cat = self.deps.catalogue.get(session)
                offer = cat.offers.get(record.offer_id) if record.offer_id else None
                if record.offer_id and offer is None:
                    raise NotFound("offer", record.offer_id)
                stored = dataclasses.replace(
                    record,
                    outcome_id=repo.new_id(),
                    occurred_at=record.occurred_at or now,
                    category=offer.category if offer else record.category,
                    segment=context.segment,
                )
                repo.insert_outcome(session, stored, now)
                if stored.kind == OutcomeKind.ACCEPTED and stored.campaign_id and offer is not None:
                    catalogue_repo.add_campaign_spend(session, stored.campaign_id, offer.cost_fen)
                return stored

        return await self.deps.db.run(tx)

    # -- opt-outs and consent ----------------------------------------------------------

    async def set_opt_out(self, entry: OptOut, scope: Scope = None) -> OptOut:
        """SetOptOut: effective on the next decision (`scope`: the account's team)."""
        validation.validate_opt_out(entry)
        await require_in_scope(self.deps.peers, entry.customer_id, scope)
        now = self.deps.clock()
        stored = dataclasses.replace(
            entry, opt_out_id=repo.new_id(), created_at=now, removed_at=None, removed_reason=""
        )

        def tx() -> OptOut:
            with repo.account_transaction(self.deps.db, entry.customer_id) as session:
                erasure_repo.refuse_if_erased(session, entry.customer_id)
                records.insert_opt_out(session, stored)
            return stored

        return await self.deps.db.run(tx)

    async def remove_opt_out(self, opt_out_id: str, reason: str) -> OptOut:
        """RemoveOptOut: lift it, kept in history."""
        if not reason.strip():
            raise InvalidArgument([FieldViolation("reason", "reason is required", "REQUIRED")])

        def tx() -> OptOut:
            with write_transaction(self.deps.db) as session:
                return records.remove_opt_out(session, opt_out_id, reason, self.deps.clock())

        return await self.deps.db.run(tx)

    async def list_opt_outs(
        self,
        customer_id: str,
        include_inactive: bool,
        after: tuple[dt.datetime, str] | None,
        limit: int,
        scope: Scope = None,
    ) -> list[OptOut]:
        """Up to `limit` of an account's opt-outs after the (created_at, id) key `after` (`scope`: its team)."""
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx():
            with self.deps.db.session() as session:
                return records.list_opt_outs(session, customer_id, include_inactive, self.deps.clock(), after, limit)

        return await self.deps.db.run(tx)

    async def set_consent(self, record: Consent, scope: Scope = None) -> Consent:
        """SetConsent: the latest record per consent scope is in force (`scope`: the account's team)."""
        validation.validate_consent(record)
        await require_in_scope(self.deps.peers, record.customer_id, scope)
        stored = dataclasses.replace(record, consent_id=repo.new_id())

        def tx() -> Consent:
            with repo.account_transaction(self.deps.db, record.customer_id) as session:
                erasure_repo.refuse_if_erased(session, record.customer_id)
                records.insert_consent(session, stored)
            return stored

        return await self.deps.db.run(tx)

    async def list_consents(
        self,
        customer_id: str,
        include_history: bool,
        after: tuple[dt.datetime, str] | None,
        limit: int,
        scope: Scope = None,
    ) -> list[Consent]:
        """Up to `limit` of an account's consent records after the (recorded_at, id) key `after`
        (`scope`: its team)."""
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx():
            with self.deps.db.session() as session:
                return records.list_consents(session, customer_id, include_history, self.deps.clock(), after, limit)

        return await self.deps.db.run(tx)

    # -- decisions ---------------------------------------------------------------------

    async def get_decision(self, decision_id: str, scope: Scope = None) -> Decision:
        """A stored decision with its trace (`scope`: its account's team)."""

        def tx():
            with self.deps.db.session() as session:
                return records.get_decision(session, decision_id)

        decision = await self.deps.db.run(tx)
        await require_in_scope(self.deps.peers, decision.request.customer_id, scope)
        return decision

    async def list_decisions(self, customer_id, since, blocked_only, after, limit, scope: Scope = None):
        """Up to `limit` of an account's decisions, newest first, after the (time, id) key `after`
        (`scope`: the account's team)."""
        await require_in_scope(self.deps.peers, customer_id, scope)

        def tx():
            with self.deps.db.session() as session:
                return records.list_decisions(session, customer_id, since, blocked_only, after, limit)

        return await self.deps.db.run(tx)
