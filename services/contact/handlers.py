"""gRPC servicer of telco360.contact.v1.ContactService: protobuf <-> domain, then delegate.

Authorisation that depends on the caller's role (AdjustCounter needs `admin`) is checked
here, from the role the shared interceptor bound to the call. Audited records name the
caller by identity and role ("alice (admin)", from the token; see telco360_runtime.auth).
"""

from __future__ import annotations

import datetime as dt

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360.contact.v1 import contact_pb2_grpc
from telco360_runtime import context as call_context
from telco360_runtime.errors import FieldViolation, InvalidArgument, PermissionDenied
from telco360_runtime.proto_jobs import job_to_proto

from services.contact import converters as cv
from services.contact.app.analysis import AnalysisUseCases
from services.contact.app.catalogue import CatalogueUseCases
from services.contact.app.ledger import LedgerUseCases
from services.contact.app.offers import OfferUseCases
from services.contact.domain.model import CampaignState, Channel, OfferCategory, ProposalState

DEFAULT_PAGE, MAX_PAGE = 100, 1000


def page(request: common_pb2.PageRequest) -> tuple[int, int]:
    """(offset, limit) from a page request (the token is the offset)."""
    size = request.page_size or DEFAULT_PAGE
    if not 1 <= size <= MAX_PAGE:
        raise InvalidArgument([FieldViolation("page.page_size", f"page_size must be 1-{MAX_PAGE}", "OUT_OF_RANGE")])
    token = request.page_token or "0"
    if not token.isdigit():
        raise InvalidArgument([FieldViolation("page.page_token", "not a token from this listing", "BAD_TOKEN")])
    return int(token), size


def page_out(offset: int, limit: int, returned: int, total: int = -1) -> common_pb2.PageResponse:
    """The paging answer: a next token when the page was full."""
    more = returned == limit and (total < 0 or offset + returned < total)
    return common_pb2.PageResponse(next_page_token=str(offset + returned) if more else "", total_count=total)


class ContactServicer(contact_pb2_grpc.ContactServiceServicer):
    """Converts and delegates every rpc of the contact service."""

    def __init__(
        self, catalogue: CatalogueUseCases, ledger: LedgerUseCases, offers: OfferUseCases, analysis: AnalysisUseCases
    ) -> None:
        self.catalogue, self.ledger, self.offers, self.analysis = catalogue, ledger, offers, analysis

    def _now(self) -> dt.datetime:
        return self.ledger.deps.clock()

    # -- policies ----------------------------------------------------------------------

    async def CreatePolicy(self, request, context):
        policy = await self.catalogue.create_policy(cv.policy_from(request.policy), call_context.caller_identity())
        return cv.policy_to(policy)

    async def UpdatePolicy(self, request, context):
        policy = await self.catalogue.update_policy(
            cv.policy_from(request.policy), request.expected_version, call_context.caller_identity()
        )
        return cv.policy_to(policy)

    async def GetPolicy(self, request, context):
        return cv.policy_to(await self.catalogue.get_policy(request.policy_id, request.version))

    async def ListPolicies(self, request, context):
        offset, limit = page(request.page)
        items, total = await self.catalogue.list_policies(request.active_only, offset, limit)
        return pb.ListPoliciesResponse(policies=[cv.policy_to(p) for p in items], page=page_out(offset, limit, len(items), total))

    # -- offers ------------------------------------------------------------------------

    async def CreateOffer(self, request, context):
        return cv.offer_to(await self.catalogue.create_offer(cv.offer_from(request.offer)))

    async def UpdateOffer(self, request, context):
        return cv.offer_to(await self.catalogue.update_offer(cv.offer_from(request.offer), request.expected_version))

    async def GetOffer(self, request, context):
        return cv.offer_to(await self.catalogue.get_offer(request.offer_id))

    async def ListOffers(self, request, context):
        offset, limit = page(request.page)
        category = OfferCategory(request.category) if request.category else None
        items, total = await self.catalogue.list_offers(request.active_only, category, offset, limit, cv.ts(request.valid_at))
        return pb.ListOffersResponse(offers=[cv.offer_to(o) for o in items], page=page_out(offset, limit, len(items), total))

    # -- opt-outs and consent ----------------------------------------------------------

    async def SetOptOut(self, request, context):
        return cv.opt_out_to(await self.ledger.set_opt_out(cv.opt_out_from(request.opt_out)))

    async def RemoveOptOut(self, request, context):
        return cv.opt_out_to(await self.ledger.remove_opt_out(request.opt_out_id, request.reason))

    async def ListOptOuts(self, request, context):
        offset, limit = page(request.page)
        items = await self.ledger.list_opt_outs(request.customer_id, request.include_inactive, offset, limit)
        return pb.ListOptOutsResponse(opt_outs=[cv.opt_out_to(o) for o in items], page=page_out(offset, limit, len(items)))

    async def SetConsent(self, request, context):
        return cv.consent_to(await self.ledger.set_consent(cv.consent_from(request.consent, self._now())))

    async def ListConsents(self, request, context):
        offset, limit = page(request.page)
        items = await self.ledger.list_consents(request.customer_id, request.include_history, offset, limit)
        return pb.ListConsentsResponse(consents=[cv.consent_to(c) for c in items], page=page_out(offset, limit, len(items)))

    # -- decisions and ledger ----------------------------------------------------------

    async def CheckContact(self, request, context):
        return cv.decision_to(await self.ledger.check(cv.request_from(request)))

    async def ReserveContact(self, request, context):
        result = await self.ledger.reserve(
            request.idempotency_key, cv.request_from(request.contact, "contact."), request.hold_seconds
        )
        reply = pb.ReserveContactResponse(
            granted=result.reservation is not None, decision=cv.decision_to(result.decision), replayed=result.replayed
        )
        if result.reservation is not None:
            reply.reservation.CopyFrom(cv.reservation_to(result.reservation, self._now()))
        return reply

    async def ConfirmContact(self, request, context):
        reservation = await self.ledger.confirm(request.reservation_id, cv.ts(request.delivered_at), request.external_ref)
        return cv.reservation_to(reservation, self._now())

    async def CancelContact(self, request, context):
        reservation = await self.ledger.cancel(request.reservation_id, request.reason)
        return cv.reservation_to(reservation, self._now())

    async def RecordOutcome(self, request, context):
        return cv.outcome_to(await self.ledger.record_outcome(cv.outcome_from(request.outcome)))

    async def AdjustCounter(self, request, context):
        role = call_context.caller_role()
        if role != "admin":
            raise PermissionDenied(f"role {role!r} may not adjust counters; admin only")
        adjustment = await self.ledger.adjust(
            cv.request_from(request.scope, "scope."), request.delta, request.reason,
            f"{call_context.caller_identity()}, request {call_context.request_id()}",
        )
        return cv.ledger_entry_to(adjustment, self._now())

    async def ListLedger(self, request, context):
        offset, limit = page(request.page)
        entries = await self.ledger.list_ledger(
            request.customer_id, cv.ts(request.since), cv.ts(request.until), offset, limit
        )
        now = self._now()
        return pb.ListLedgerResponse(entries=[cv.ledger_entry_to(e, now) for e in entries],
                                     page=page_out(offset, limit, len(entries)))

    async def GetDecisionTrace(self, request, context):
        return cv.decision_to(await self.ledger.get_decision(request.decision_id))

    async def ListDecisions(self, request, context):
        offset, limit = page(request.page)
        items, total = await self.ledger.list_decisions(
            request.customer_id, cv.ts(request.since), request.blocked_only, offset, limit
        )
        return pb.ListDecisionsResponse(decisions=[cv.decision_to(d) for d in items],
                                        page=page_out(offset, limit, len(items), total))

    # -- next-best-offer ---------------------------------------------------------------

    async def GetNextBestOffer(self, request, context):
        channel = cv.enum(Channel, request.channel, "channel")
        max_offers = request.max_offers or 3
        if not 1 <= max_offers <= 20:
            raise InvalidArgument([FieldViolation("max_offers", "max_offers must be 0-20", "OUT_OF_RANGE")])
        ctx = request.context
        context_doc = {"kind": int(ctx.kind), "reason": ctx.reason, "event_id": ctx.triggering_event.event_id,
                       "event_kind": int(ctx.triggering_event.kind)}
        answer = await self.offers.next_best_offer(
            request.customer_id, channel, request.person_id, cv.ts(request.at), max_offers,
            request.exploit_only, context_doc,
        )
        result = answer.result
        reply = pb.GetNextBestOfferResponse(
            offers=[
                pb.RankedOffer(
                    offer_id=r.offer.offer_id, name=r.offer.name, category=int(r.offer.category),
                    campaign_id=r.campaign_id, propensity=r.propensity, propensity_mean=r.propensity_mean,
                    expected_value_fen=r.expected_value_fen, value_fen=r.offer.value_fen, cost_fen=r.offer.cost_fen,
                    retention_boost=r.retention_boost, rank=r.rank, reasons=list(r.reasons), segment=r.segment,
                )
                for r in result.ranked
            ],
            suppressed=[
                pb.SuppressedOffer(offer_id=s.offer_id, reason=int(s.reason), detail=s.detail,
                                   blocking=[cv.rule_to(b) for b in s.blocking])
                for s in result.suppressed
            ],
            degraded=bool(result.degraded_reasons), degraded_reasons=list(result.degraded_reasons),
            decision_id=answer.decision_id, risk_band=int(answer.context_band),
            churn_probability=answer.context_churn or 0.0, predicted_value_fen=answer.context_value or 0,
            policy_versions=list(result.policy_versions),
        )
        for item, message in zip(result.suppressed, reply.suppressed):
            cv.put_ts(message.next_allowed_at, item.next_allowed_at)
        return reply

    # -- campaigns ---------------------------------------------------------------------

    async def CreateCampaign(self, request, context):
        return cv.campaign_to(await self.catalogue.create_campaign(cv.campaign_from(request.campaign)))

    async def UpdateCampaign(self, request, context):
        campaign = cv.campaign_from(request.campaign)
        return cv.campaign_to(await self.catalogue.update_campaign(campaign, request.expected_version))

    async def PauseCampaign(self, request, context):
        return cv.campaign_to(await self.catalogue.set_state(request.campaign_id, CampaignState.PAUSED))

    async def ResumeCampaign(self, request, context):
        return cv.campaign_to(await self.catalogue.set_state(request.campaign_id, CampaignState.ACTIVE))

    async def GetCampaign(self, request, context):
        return cv.campaign_to(await self.catalogue.get_campaign(request.campaign_id))

    async def ListCampaigns(self, request, context):
        offset, limit = page(request.page)
        state = CampaignState(request.state) if request.state else None
        items, total = await self.catalogue.list_campaigns(state, offset, limit)
        return pb.ListCampaignsResponse(campaigns=[cv.campaign_to(c) for c in items],
                                        page=page_out(offset, limit, len(items), total))

    async def SubmitAccountEvent(self, request, context):
        event = cv.event_from(request.event, self._now())
        proposals, replayed, degraded = await self.offers.handle_event(event)
        return pb.SubmitAccountEventResponse(proposals=[cv.proposal_to(p) for p in proposals],
                                             replayed=replayed, degraded=degraded)

    async def ListProposals(self, request, context):
        offset, limit = page(request.page)
        state = ProposalState(request.state) if request.state else None
        items = await self.offers.list_proposals(request.campaign_id, request.customer_id, state, offset, limit)
        return pb.ListProposalsResponse(proposals=[cv.proposal_to(p) for p in items],
                                        page=page_out(offset, limit, len(items)))

    async def GetCampaignMetrics(self, request, context):
        m = await self.analysis.campaign_metrics(request.campaign_id, cv.ts(request.period_start), cv.ts(request.period_end))
        return pb.CampaignMetrics(
            campaign_id=m.campaign_id, accounts_targeted=m.accounts_targeted, accounts_contacted=m.accounts_contacted,
            contacts=m.contacts,
            suppressed_by_reason=[pb.LabelledCount(label=k, count=v) for k, v in sorted(m.suppressed_by_reason.items())],
            accepted=m.accepted, conversion_rate=m.conversion_rate, control_accounts=m.control_accounts,
            control_accepted=m.control_accepted, uplift=m.uplift,
            contacts_per_account_month=m.contacts_per_account_month, cost_fen=m.cost_fen, value_fen=m.value_fen,
            treatment_accounts=m.treatment_accounts,
        )

    # -- simulation and jobs -----------------------------------------------------------

    async def SimulatePolicy(self, request, context):
        result, job_id = await self.analysis.simulate(
            cv.policy_from(request.draft, "draft"), list(request.replaces_policy_ids),
            cv.ts(request.period_start), cv.ts(request.period_end), request.run_as_job,
        )
        if result is not None:
            return pb.SimulatePolicyResponse(result=simulation_to(result))
        view = await self.analysis.deps.db.run(self.analysis.deps.jobs.get, job_id)
        return pb.SimulatePolicyResponse(job=job_to_proto(view))

    async def GetSimulationResult(self, request, context):
        return simulation_to(await self.analysis.simulation_result(request.job_id))

    async def GetJob(self, request, context):
        return job_to_proto(await self.analysis.deps.db.run(self.analysis.deps.jobs.get, request.job_id))


def simulation_to(result) -> pb.SimulationResult:
    """The message of a simulation result."""
    msg = pb.SimulationResult(
        draft=result.draft, contacts_replayed=result.contacts_replayed, contacts_allowed=result.contacts_allowed,
        contacts_suppressed=result.contacts_suppressed,
        suppressed_by_channel=[pb.LabelledCount(label=k, count=v) for k, v in sorted(result.suppressed_by_channel.items())],
        suppressed_by_rule=[pb.RuleSuppression(kind=int(r.kind), rule_id=r.rule_id, count=r.count)
                            for r in result.suppressed_by_rule],
        months=[
            pb.MonthFigures(month=m.month, accounts=m.accounts, contacts_before=m.contacts_before,
                            contacts_after=m.contacts_after, per_account_before=m.per_account_before,
                            per_account_after=m.per_account_after)
            for m in result.months
        ],
        per_account_month_before=result.per_account_month_before,
        per_account_month_after=result.per_account_month_after, accounts=result.accounts,
    )
    cv.put_ts(msg.period_start, result.period_start)
    cv.put_ts(msg.period_end, result.period_end)
    return msg
