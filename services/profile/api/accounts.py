"""API layer: Customer360 and erasure handlers."""

from __future__ import annotations

from services.profile.api import converters as cv
from services.profile.api.common import HandlerBase, required
from services.profile.api.erasures import erasure_status_pb
from services.profile.domain import erasure as er
from services.profile.usecases.accounts import RECENT_LIMIT, TREND_MONTHS
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.context import caller_scope
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound
from telco360_runtime.workers import role


class AccountHandlers(HandlerBase):
    """GetCustomer360 and EraseCustomer."""

    async def GetCustomer360(self, request, context):
        cid = required(request.customer_id, "customer_id")
        if not 0 <= request.trend_months <= 60:
            raise InvalidArgument(FieldViolation("trend_months", "must be 0-60", "OUT_OF_RANGE"))
        if not 0 <= request.recent_limit <= 200:
            raise InvalidArgument(FieldViolation("recent_limit", "must be 0-200", "OUT_OF_RANGE"))
        group = request.level == pb.VIEW_LEVEL_GROUP
        months = request.trend_months or TREND_MONTHS
        recent = request.recent_limit or RECENT_LIMIT
        # The common request (account level, default limits) is served from the read model.
        stored = not group and months == TREND_MONTHS and recent == RECENT_LIMIT
        # Account managers: only their team's accounts (PERMISSION_DENIED otherwise), group parts included.
        scope = caller_scope()
        with self.audit.recording("customer360.read", [cid], f"level={'group' if group else 'account'}"):
            out = await self.db.run(self._read_stored if stored else self._read_live, cid, group, months, recent, scope)
            if out is None:
                raise NotFound("customer", cid)
        # Known from the last recompute (no thread hop on the hot read); looked up once otherwise.
        # With several worker processes a period may close in another worker (the leader's
        # rounds, a follower's CloseBillingPeriod), so the answer is looked up each time.
        out.billing_closed_month = (
            self.store.billing_closed_month(cached=True)
            if self.store.periods.known_closed_now is not None and role().count == 1
            else await self.db.run(self.store.billing_closed_month)
        )
        await self.peers.enrich(out, cid, recent)
        cv.mask_customer360_attributes(out, self.personal_attributes, self.personal_features)
        return out

    def _read_stored(
        self, cid: str, group: bool, months: int, recent: int, scope: frozenset[str] | None
    ) -> pb.Customer360 | None:
        found = self.store.stored_view(cid, scope)
        if found is None:  # not rendered (yet): an account from before the read model, or unknown
            return self._read_live(cid, group, months, recent, scope)
        return cv.stored_view_to_pb(*found)

    def _read_live(
        self, cid: str, group: bool, months: int, recent: int, scope: frozenset[str] | None
    ) -> pb.Customer360 | None:
        data = self.store.live_view(cid, group, months, recent, scope)
        if data is None:
            return None
        return cv.customer360_to_pb(data, pb.VIEW_LEVEL_GROUP if group else pb.VIEW_LEVEL_ACCOUNT)

    async def EraseCustomer(self, request, context):
        cid = required(request.customer_id, "customer_id")
        required(request.reason.strip(), "reason")
        services = self.erasure.services if self.erasure is not None else []
        # Ids, flags and the erasure's id only: the reason may name people, it stays in profile's store.
        with self.audit.recording("customer.erase", [cid], f"purge_facts={request.purge_facts}") as note:
            found = await self.db.run(
                self.store.request_erasure, cid, request.reason, request.purge_facts, er.TRIGGER_REQUEST, services
            )
            if found is None:
                raise NotFound("customer", cid)
            view, created = found
            note.detail = (
                f"purge_facts={request.purge_facts} erasure_id={view.erasure_id} {'new' if created else 'repeat'}"
            )
        if self.erasure is not None and (created or not view.complete):
            self.erasure.nudge()  # the other services now, not at the next round
        return pb.EraseCustomerResponse(
            customer_id=cid, removed=view.removed, erased_at=cv.ts(view.erased_at), status=erasure_status_pb(view)
        )
