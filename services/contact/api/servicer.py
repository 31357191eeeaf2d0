"""gRPC servicer of telco360.contact.v1.ContactService (api layer): protobuf <-> domain, then delegate.

Authorisation that depends on the caller's role (AdjustCounter needs `admin`) is checked
here, from the role the shared interceptor bound to the call. Audited records name the
caller by identity and role ("alice (admin)", from the token; see telco360_runtime.auth).

Every rpc's request is checked against the field bounds (request_checks) before any work:
the servicer's methods are wrapped once, from the service descriptor, so no rpc is missed.
Mutations (WHOLE_REQUEST) check the bounds themselves and add conversion problems and the
domain's rules to the same collector, answering every violation at once.

List answers stop adding items before bounds.PAGE_MAX_BYTES (clients' default receive
limit is 4 MiB); the page token then resumes after the last item sent. Every listing pages
by keyset (telco360_runtime.paging): its token holds the sort key of the last item sent (id,
or time and id for newest-first listings), scoped to the listing and its filters.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from services.contact.api import converters as cv
from services.contact.api import request_checks
from services.contact.domain import validation
from services.contact.domain.ledger import Adjustment, Reservation
from services.contact.domain.model import (
    CampaignState,
    Channel,
    Decision,
    OfferCategory,
    ProposalState,
    RuleResult,
)
from services.contact.usecases.analysis import AnalysisUseCases
from services.contact.usecases.catalogue import CatalogueUseCases
from services.contact.usecases.erasure import ErasureUseCases
from services.contact.usecases.ledger import LedgerUseCases
from services.contact.usecases.offers import OfferUseCases
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360.contact.v1 import contact_pb2_grpc
from telco360_runtime import bounds
from telco360_runtime import context as call_context
from telco360_runtime.audit import AuditTrail
from telco360_runtime.errors import ViolationCollector
from telco360_runtime.paging import Page, page_violation, read_page, scope_of
from telco360_runtime.proto_jobs import job_to_proto

DEFAULT_PAGE, MAX_PAGE = 100, request_checks.MAX_PAGE_SIZE
M = TypeVar("M", bound=Message)
T = TypeVar("T")
ITEM_OVERHEAD_BYTES = 8
"""Field tag and length prefix of one repeated item, on top of its ByteSize()."""


def page(request: common_pb2.PageRequest, listing: str, *filters: object) -> Page:
    """The checked page request of one listing (telco360_runtime.paging: size 0 = default,
    outside 0..MAX_PAGE OUT_OF_RANGE; a token from another listing or filter STALE)."""
    return read_page(request, scope=scope_of(f"contact.{listing}", *filters), default=DEFAULT_PAGE, maximum=MAX_PAGE)


def time_key(at: dt.datetime | None, item_id: str) -> str:
    """The sort key of an item of a newest-first listing: its time (UTC, ISO) and id."""
    return f"{(at or dt.datetime.min.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()}|{item_id}"


def time_after(asked: Page) -> tuple[dt.datetime, str] | None:
    """The (time, id) key a newest-first page resumes after (None: from the start)."""
    if not asked.after:
        return None
    at, sep, item_id = asked.after.partition("|")
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        when = None
    if not sep or not item_id or when is None or when.tzinfo is None:
        raise page_violation("is not a page token from this listing")
    return when, item_id


def page_out(
    asked: Page, items: Sequence[T], sent: int, key: Callable[[T], str], total: int = -1, truncated: bool = False
) -> common_pb2.PageResponse:
    """The paging answer: a token resuming after the last item sent when more follow (the use
    case was asked for one item beyond the page) or the page was cut short by its size."""
    more = truncated or len(items) > asked.size
    token = asked.next_token(key(items[sent - 1])) if more and sent else ""
    return common_pb2.PageResponse(next_page_token=token, total_count=total)


def _ledger_key(entry: Reservation | Adjustment) -> str:
    if isinstance(entry, Reservation):
        return time_key(entry.request.at, entry.reservation_id)
    return time_key(entry.scope.at or entry.recorded_at, entry.adjustment_id)


def fit(messages: Sequence[M], budget: int = bounds.PAGE_MAX_BYTES) -> tuple[list[M], bool]:
    """The leading messages whose encoded size stays within `budget` (at least one, so a
    listing always moves on), and whether any were left out."""
    used = 0
    for i, message in enumerate(messages):
        used += message.ByteSize() + ITEM_OVERHEAD_BYTES
        if used > budget and i > 0:
            return list(messages[:i]), True
    return list(messages), False


def _decision_detail(decision: Decision) -> str:
    """A decision as the audit trail names it: its id, the answer and the rules that blocked."""
    blocked = ",".join(sorted({e.rule_id for e in decision.trace if e.result == RuleResult.BLOCKED}))
    return f"decision_id={decision.decision_id} allowed={decision.allowed} blocked_by={blocked}"


def checked(request: Message) -> ViolationCollector:
    """The field-bound violations of a request, in a collector the caller may add to."""
    return request_checks.collect(request)


class ContactServicer(contact_pb2_grpc.ContactServiceServicer):
    """Converts and delegates every rpc of the contact service."""

    def __init__(
        self,
        catalogue: CatalogueUseCases,
        ledger: LedgerUseCases,
        offers: OfferUseCases,
        analysis: AnalysisUseCases,
        audit: AuditTrail,
        erasure: ErasureUseCases,
    ) -> None:
        self.catalogue, self.ledger, self.offers, self.analysis = catalogue, ledger, offers, analysis
        self.erasure = erasure
        # Every decision and every change of a definition, opt-out or consent is on the trail:
        # ids, codes and counts only (never a reason, note or other free text of a request).
        self.audit = audit

    def _now(self) -> dt.datetime:
        return self.ledger.deps.clock()

    # -- policies ----------------------------------------------------------------------

    @staticmethod
    def _policy(draft: pb.ContactPolicy, errors: ViolationCollector, name: str = "policy"):
        policy = cv.policy_from(draft, name, errors)
        validation.collect_policy(policy, errors, f"{name}.")
        validation.raise_all(errors)
        return policy

    async def CreatePolicy(self, request, context):
        policy = self._policy(request.policy, checked(request))
        with self.audit.recording("policy.create", detail=f"policy_id={policy.policy_id}") as note:
            created = await self.catalogue.create_policy(policy, call_context.caller_identity())
            note.detail += f" version={created.version}"
        return cv.policy_to(created)

    async def UpdatePolicy(self, request, context):
        policy = self._policy(request.policy, checked(request))
        with self.audit.recording("policy.update", detail=f"policy_id={policy.policy_id}") as note:
            policy = await self.catalogue.update_policy(
                policy, request.expected_version, call_context.caller_identity()
            )
            note.detail += f" version={policy.version}"
        return cv.policy_to(policy)

    async def GetPolicy(self, request, context):
        return cv.policy_to(await self.catalogue.get_policy(request.policy_id, request.version))

    async def ListPolicies(self, request, context):
        asked = page(request.page, "ListPolicies", request.active_only)
        items, total = await self.catalogue.list_policies(request.active_only, asked.after, asked.size + 1)
        sent, cut = fit([cv.policy_to(p) for p in items[: asked.size]])
        return pb.ListPoliciesResponse(
            policies=sent, page=page_out(asked, items, len(sent), lambda p: p.policy_id, total, cut)
        )

    # -- offers ------------------------------------------------------------------------

    async def CreateOffer(self, request, context):
        errors = checked(request)
        offer = cv.offer_from(request.offer, errors)
        with self.audit.recording("offer.create", detail=f"offer_id={request.offer.offer_id}") as note:
            created = await self.catalogue.create_offer(offer, errors)
            note.detail += f" version={created.version}"
        return cv.offer_to(created)

    async def UpdateOffer(self, request, context):
        errors = checked(request)
        offer = cv.offer_from(request.offer, errors)
        with self.audit.recording("offer.update", detail=f"offer_id={request.offer.offer_id}") as note:
            updated = await self.catalogue.update_offer(offer, request.expected_version, errors)
            note.detail += f" version={updated.version}"
        return cv.offer_to(updated)

    async def GetOffer(self, request, context):
        return cv.offer_to(await self.catalogue.get_offer(request.offer_id))

    async def ListOffers(self, request, context):
        valid_at = cv.ts(request.valid_at)
        asked = page(request.page, "ListOffers", request.active_only, request.category, valid_at)
        category = OfferCategory(request.category) if request.category else None
        items, total = await self.catalogue.list_offers(
            request.active_only, category, asked.after, asked.size + 1, valid_at
        )
        sent, cut = fit([cv.offer_to(o) for o in items[: asked.size]])
        return pb.ListOffersResponse(
            offers=sent, page=page_out(asked, items, len(sent), lambda o: o.offer_id, total, cut)
        )

    # -- opt-outs and consent ----------------------------------------------------------

    async def SetOptOut(self, request, context):
        errors = checked(request)
        entry = cv.opt_out_from(request.opt_out, errors)
        validation.collect_opt_out(entry, errors)
        validation.raise_all(errors)
        with self.audit.recording("optout.set", [entry.customer_id]) as note:
            saved = await self.ledger.set_opt_out(entry, scope=call_context.caller_scope())
            note.detail = f"opt_out_id={saved.opt_out_id} kind={saved.kind.name}"
        return cv.opt_out_to(saved)

    async def RemoveOptOut(self, request, context):
        with self.audit.recording("optout.remove", detail=f"opt_out_id={request.opt_out_id}") as note:
            removed = await self.ledger.remove_opt_out(request.opt_out_id, request.reason)
            note.add([removed.customer_id])
        return cv.opt_out_to(removed)

    async def ListOptOuts(self, request, context):
        asked = page(request.page, "ListOptOuts", request.customer_id, request.include_inactive)
        items = await self.ledger.list_opt_outs(
            request.customer_id,
            request.include_inactive,
            time_after(asked),
            asked.size + 1,
            call_context.caller_scope(),
        )
        sent, cut = fit([cv.opt_out_to(o) for o in items[: asked.size]])
        return pb.ListOptOutsResponse(
            opt_outs=sent,
            page=page_out(asked, items, len(sent), lambda o: time_key(o.created_at, o.opt_out_id), truncated=cut),
        )

    async def SetConsent(self, request, context):
        errors = checked(request)
        record = cv.consent_from(request.consent, self._now(), errors)
        validation.collect_consent(record, errors)
        validation.raise_all(errors)
        with self.audit.recording("consent.set", [record.customer_id]) as note:
            saved = await self.ledger.set_consent(record, scope=call_context.caller_scope())
            purpose = saved.purpose.name if saved.purpose is not None else "ANY"
            note.detail = f"consent_id={saved.consent_id} granted={saved.granted} purpose={purpose}"
        return cv.consent_to(saved)

    async def ListConsents(self, request, context):
        asked = page(request.page, "ListConsents", request.customer_id, request.include_history)
        items = await self.ledger.list_consents(
            request.customer_id, request.include_history, time_after(asked), asked.size + 1, call_context.caller_scope()
        )
        sent, cut = fit([cv.consent_to(c) for c in items[: asked.size]])
        return pb.ListConsentsResponse(
            consents=sent,
            page=page_out(asked, items, len(sent), lambda c: time_key(c.recorded_at, c.consent_id), truncated=cut),
        )

    # -- decisions and ledger ----------------------------------------------------------

    @staticmethod
    def _contact(msg: pb.CheckContactRequest, prefix: str, errors: ViolationCollector):
        contact = cv.request_from(msg, prefix, errors)
        validation.collect_request(contact, errors, prefix)
        validation.raise_all(errors)
        return contact

    async def CheckContact(self, request, context):
        contact = self._contact(request, "", checked(request))
        with self.audit.recording("contact.check", [contact.customer_id]) as note:
            decision = await self.ledger.check(contact, scope=call_context.caller_scope())
            note.detail = _decision_detail(decision)
        return cv.decision_to(decision)

    async def ReserveContact(self, request, context):
        contact = self._contact(request.contact, "contact.", checked(request))
        with self.audit.recording("contact.reserve", [contact.customer_id]) as note:
            result = await self.ledger.reserve(
                request.idempotency_key, contact, request.hold_seconds, scope=call_context.caller_scope()
            )
            reservation_id = result.reservation.reservation_id if result.reservation is not None else ""
            note.detail = f"{_decision_detail(result.decision)} reservation_id={reservation_id}"
            note.detail += f" replayed={result.replayed}"
        reply = pb.ReserveContactResponse(
            granted=result.reservation is not None, decision=cv.decision_to(result.decision), replayed=result.replayed
        )
        if result.reservation is not None:
            reply.reservation.CopyFrom(cv.reservation_to(result.reservation, self._now()))
        return reply

    async def ConfirmContact(self, request, context):
        with self.audit.recording("contact.confirm", detail=f"reservation_id={request.reservation_id}") as note:
            reservation = await self.ledger.confirm(
                request.reservation_id,
                cv.ts(request.delivered_at),
                request.external_ref,
                scope=call_context.caller_scope(),
            )
            note.add([reservation.request.customer_id])
        return cv.reservation_to(reservation, self._now())

    async def CancelContact(self, request, context):
        with self.audit.recording("contact.cancel", detail=f"reservation_id={request.reservation_id}") as note:
            reservation = await self.ledger.cancel(
                request.reservation_id, request.reason, scope=call_context.caller_scope()
            )
            note.add([reservation.request.customer_id])
        return cv.reservation_to(reservation, self._now())

    async def RecordOutcome(self, request, context):
        errors = checked(request)
        outcome = cv.outcome_from(request.outcome, errors)
        validation.raise_all(errors)
        with self.audit.recording("outcome.record", [outcome.customer_id]) as note:
            saved = await self.ledger.record_outcome(outcome, scope=call_context.caller_scope())
            note.detail = f"outcome_id={saved.outcome_id} kind={saved.kind.name} offer_id={saved.offer_id}"
            note.detail += f" reservation_id={saved.reservation_id}"
        return cv.outcome_to(saved)

    async def AdjustCounter(self, request, context):
        scope = self._contact(request.scope, "scope.", checked(request))
        with self.audit.recording("counter.adjust", [scope.customer_id]) as note:
            adjustment = await self.ledger.adjust(
                scope,
                request.delta,
                request.reason,
                f"{call_context.caller_identity()}, request {call_context.request_id()}",
            )
            note.detail = f"adjustment_id={adjustment.adjustment_id} delta={adjustment.delta}"
        return cv.ledger_entry_to(adjustment, self._now())

    async def ListLedger(self, request, context):
        since, until = cv.ts(request.since), cv.ts(request.until)
        asked = page(request.page, "ListLedger", request.customer_id, since, until, request.confirmed_only)
        entries = await self.ledger.list_ledger(
            request.customer_id,
            since,
            until,
            time_after(asked),
            asked.size + 1,
            request.confirmed_only,
            scope=call_context.caller_scope(),
        )
        now = self._now()
        sent, cut = fit([cv.ledger_entry_to(e, now) for e in entries[: asked.size]])
        return pb.ListLedgerResponse(entries=sent, page=page_out(asked, entries, len(sent), _ledger_key, truncated=cut))

    async def GetDecisionTrace(self, request, context):
        return cv.decision_to(await self.ledger.get_decision(request.decision_id, scope=call_context.caller_scope()))

    async def ListDecisions(self, request, context):
        since = cv.ts(request.since)
        asked = page(request.page, "ListDecisions", request.customer_id, since, request.blocked_only)
        items, total = await self.ledger.list_decisions(
            request.customer_id,
            since,
            request.blocked_only,
            time_after(asked),
            asked.size + 1,
            scope=call_context.caller_scope(),
        )
        sent, cut = fit([cv.decision_to(d) for d in items[: asked.size]])
        return pb.ListDecisionsResponse(
            decisions=sent,
            page=page_out(asked, items, len(sent), lambda d: time_key(d.decided_at, d.decision_id), total, cut),
        )

    # -- next-best-offer ---------------------------------------------------------------

    async def GetNextBestOffer(self, request, context):
        errors = checked(request)
        channel = cv.enum(Channel, request.channel, "channel", errors=errors)
        validation.check_customer(errors, "customer_id", request.customer_id)
        validation.raise_all(errors)
        max_offers = request.max_offers or 3
        ctx = request.context
        context_doc = {
            "kind": int(ctx.kind),
            "reason": ctx.reason,
            "event_id": ctx.triggering_event.event_id,
            "event_kind": int(ctx.triggering_event.kind),
        }
        with self.audit.recording("nbo.decide", [request.customer_id]) as note:
            answer = await self.offers.next_best_offer(
                request.customer_id,
                cv.required(channel),
                request.person_id,
                cv.ts(request.at),
                max_offers,
                request.exploit_only,
                context_doc,
                scope=call_context.caller_scope(),
            )
            offered = ",".join(r.offer.offer_id for r in answer.result.ranked)
            note.detail = (
                f"decision_id={answer.decision_id} offers={offered} suppressed={len(answer.result.suppressed)}"
            )
        result = answer.result
        reply = pb.GetNextBestOfferResponse(
            offers=[
                pb.RankedOffer(
                    offer_id=r.offer.offer_id,
                    name=r.offer.name,
                    category=cv.proto_enum(pb.OfferCategory, r.offer.category),
                    campaign_id=r.campaign_id,
                    propensity=r.propensity,
                    propensity_mean=r.propensity_mean,
                    expected_value_fen=r.expected_value_fen,
                    value_fen=r.offer.value_fen,
                    cost_fen=r.offer.cost_fen,
                    retention_boost=r.retention_boost,
                    rank=r.rank,
                    reasons=list(r.reasons),
                    segment=r.segment,
                )
                for r in result.ranked
            ],
            suppressed=[
                pb.SuppressedOffer(
                    offer_id=s.offer_id,
                    reason=cv.proto_enum(pb.SuppressionReason, s.reason),
                    detail=s.detail,
                    blocking=[cv.rule_to(b) for b in s.blocking],
                )
                for s in result.suppressed
            ],
            degraded=bool(result.degraded_reasons),
            degraded_reasons=list(result.degraded_reasons),
            decision_id=answer.decision_id,
            risk_band=cv.proto_enum(common_pb2.RiskBand, answer.context_band),
            churn_probability=answer.context_churn or 0.0,
            predicted_value_fen=answer.context_value or 0,
            policy_versions=list(result.policy_versions),
        )
        for item, message in zip(result.suppressed, reply.suppressed, strict=False):
            cv.put_ts(message.next_allowed_at, item.next_allowed_at)
        return reply

    # -- campaigns ---------------------------------------------------------------------

    async def CreateCampaign(self, request, context):
        errors = checked(request)
        campaign = cv.campaign_from(request.campaign, errors)
        with self.audit.recording("campaign.create", detail=f"campaign_id={request.campaign.campaign_id}") as note:
            created = await self.catalogue.create_campaign(campaign, errors)
            note.detail += f" version={created.version} state={created.state.name}"
        return cv.campaign_to(created)

    async def UpdateCampaign(self, request, context):
        errors = checked(request)
        campaign = cv.campaign_from(request.campaign, errors)
        with self.audit.recording("campaign.update", detail=f"campaign_id={request.campaign.campaign_id}") as note:
            updated = await self.catalogue.update_campaign(campaign, request.expected_version, errors)
            note.detail += f" version={updated.version} state={updated.state.name}"
        return cv.campaign_to(updated)

    async def PauseCampaign(self, request, context):
        with self.audit.recording("campaign.pause", detail=f"campaign_id={request.campaign_id}"):
            paused = await self.catalogue.set_state(request.campaign_id, CampaignState.PAUSED)
        return cv.campaign_to(paused)

    async def ResumeCampaign(self, request, context):
        with self.audit.recording("campaign.resume", detail=f"campaign_id={request.campaign_id}"):
            resumed = await self.catalogue.set_state(request.campaign_id, CampaignState.ACTIVE)
        return cv.campaign_to(resumed)

    async def GetCampaign(self, request, context):
        return cv.campaign_to(await self.catalogue.get_campaign(request.campaign_id))

    async def ListCampaigns(self, request, context):
        asked = page(request.page, "ListCampaigns", request.state)
        state = CampaignState(request.state) if request.state else None
        items, total = await self.catalogue.list_campaigns(state, asked.after, asked.size + 1)
        sent, cut = fit([cv.campaign_to(c) for c in items[: asked.size]])
        return pb.ListCampaignsResponse(
            campaigns=sent, page=page_out(asked, items, len(sent), lambda c: c.campaign_id, total, cut)
        )

    async def SubmitAccountEvent(self, request, context):
        errors = checked(request)
        event = cv.event_from(request.event, self._now(), errors)
        validation.raise_all(errors)
        proposals, replayed, degraded = await self.offers.handle_event(event)
        return pb.SubmitAccountEventResponse(
            proposals=[cv.proposal_to(p) for p in proposals], replayed=replayed, degraded=degraded
        )

    async def ListProposals(self, request, context):
        asked = page(request.page, "ListProposals", request.campaign_id, request.customer_id, request.state)
        state = ProposalState(request.state) if request.state else None
        items = await self.offers.list_proposals(
            request.campaign_id,
            request.customer_id,
            state,
            time_after(asked),
            asked.size + 1,
            call_context.caller_scope(),
        )
        sent, cut = fit([cv.proposal_to(p) for p in items[: asked.size]])
        return pb.ListProposalsResponse(
            proposals=sent,
            page=page_out(asked, items, len(sent), lambda p: time_key(p.proposed_at, p.proposal_id), truncated=cut),
        )

    async def GetCampaignMetrics(self, request, context):
        m = await self.analysis.campaign_metrics(
            request.campaign_id, cv.ts(request.period_start), cv.ts(request.period_end)
        )
        return pb.CampaignMetrics(
            campaign_id=m.campaign_id,
            accounts_targeted=m.accounts_targeted,
            accounts_contacted=m.accounts_contacted,
            contacts=m.contacts,
            suppressed_by_reason=[
                pb.LabelledCount(label=k, count=v) for k, v in sorted(m.suppressed_by_reason.items())
            ],
            accepted=m.accepted,
            conversion_rate=m.conversion_rate,
            control_accounts=m.control_accounts,
            control_accepted=m.control_accepted,
            uplift=m.uplift,
            contacts_per_account_month=m.contacts_per_account_month,
            cost_fen=m.cost_fen,
            value_fen=m.value_fen,
            treatment_accounts=m.treatment_accounts,
        )

    # -- erasure (issue #15) -----------------------------------------------------------

    async def ApplyErasure(self, request, context):
        with self.audit.recording("customer.erase", [request.customer_id]) as note:
            erasure = await self.erasure.apply_erasure(request.erasure_id, request.customer_id)
            note.detail = f"erasure_id={erasure.erasure_id} repeated={erasure.repeated}"
        reply = common_pb2.ApplyErasureResponse(customer_id=erasure.customer_id, removed=erasure.removed)
        cv.put_ts(reply.erased_at, erasure.erased_at)
        return reply

    async def LiftErasure(self, request, context):
        # The reason is free text from the request: it stays off the trail (profile keeps it).
        with self.audit.recording("customer.reactivate", [request.customer_id]) as note:
            lifted = await self.erasure.lift_erasure(request.customer_id, request.reason)
            note.detail = f"lifted={lifted}"
        return common_pb2.LiftErasureResponse(customer_id=request.customer_id, lifted=lifted)

    # -- simulation and jobs -----------------------------------------------------------

    async def SimulatePolicy(self, request, context):
        draft = self._policy(request.draft, checked(request), "draft")
        result, job_id = await self.analysis.simulate(
            draft,
            list(request.replaces_policy_ids),
            cv.ts(request.period_start),
            cv.ts(request.period_end),
            request.run_as_job,
        )
        if result is not None:
            return pb.SimulatePolicyResponse(result=simulation_to(result))
        view = await self.analysis.deps.db.run(self.analysis.deps.jobs.get, job_id)
        return pb.SimulatePolicyResponse(job=job_to_proto(view))

    async def GetSimulationResult(self, request, context):
        return simulation_to(await self.analysis.simulation_result(request.job_id))

    async def GetJob(self, request, context):
        return job_to_proto(await self.analysis.deps.db.run(self.analysis.deps.jobs.get, request.job_id))


WHOLE_REQUEST = frozenset(
    {
        "CreatePolicy",
        "UpdatePolicy",
        "SimulatePolicy",
        "CreateOffer",
        "UpdateOffer",
        "CreateCampaign",
        "UpdateCampaign",
        "SetOptOut",
        "SetConsent",
        "CheckContact",
        "ReserveContact",
        "RecordOutcome",
        "AdjustCounter",
        "GetNextBestOffer",
        "SubmitAccountEvent",
    }
)
"""Rpcs whose handler checks the field bounds itself, together with the domain's rules."""


def _bounded(method):
    """Check the request's field bounds before the handler does any work."""

    @functools.wraps(method)
    async def handler(self, request, context):
        validation.raise_all(request_checks.collect(request))
        return await method(self, request, context)

    return handler


for _rpc in pb.DESCRIPTOR.services_by_name["ContactService"].methods:
    if _rpc.name not in WHOLE_REQUEST and _rpc.name in ContactServicer.__dict__:
        setattr(ContactServicer, _rpc.name, _bounded(ContactServicer.__dict__[_rpc.name]))


def simulation_to(result) -> pb.SimulationResult:
    """The message of a simulation result."""
    msg = pb.SimulationResult(
        draft=result.draft,
        contacts_replayed=result.contacts_replayed,
        contacts_allowed=result.contacts_allowed,
        contacts_suppressed=result.contacts_suppressed,
        suppressed_by_channel=[
            pb.LabelledCount(label=k, count=v) for k, v in sorted(result.suppressed_by_channel.items())
        ],
        suppressed_by_rule=[
            pb.RuleSuppression(kind=cv.proto_enum(pb.RuleKind, r.kind), rule_id=r.rule_id, count=r.count)
            for r in result.suppressed_by_rule
        ],
        months=[
            pb.MonthFigures(
                month=m.month,
                accounts=m.accounts,
                contacts_before=m.contacts_before,
                contacts_after=m.contacts_after,
                per_account_before=m.per_account_before,
                per_account_after=m.per_account_after,
            )
            for m in result.months
        ],
        per_account_month_before=result.per_account_month_before,
        per_account_month_after=result.per_account_month_after,
        accounts=result.accounts,
    )
    cv.put_ts(msg.period_start, result.period_start)
    cv.put_ts(msg.period_end, result.period_end)
    return msg
