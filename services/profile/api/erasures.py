"""API layer: the erasure's status, listing and reactivation (EraseCustomer itself is in accounts.py)."""

from __future__ import annotations

from services.profile.api import converters as cv
from services.profile.api.common import HandlerBase, required
from services.profile.domain import erasure as er
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.errors import FailedPrecondition, NotFound
from telco360_runtime.paging import read_page, scope_of

DEFAULT_PAGE, MAX_PAGE = 100, 1000


def erasure_status_pb(view: er.ErasureView) -> pb.ErasureStatus:
    """The protobuf form of an erasure's status."""
    out = pb.ErasureStatus(
        erasure_id=view.erasure_id,
        customer_id=view.customer_id,
        trigger=view.trigger,
        purge_facts=view.purge_facts,
        requested_at=cv.ts(view.requested_at),
        complete=view.complete,
        reactivated=view.reactivated_at is not None,
        reactivated_at=cv.ts(view.reactivated_at),
    )
    for p in view.services:
        out.services.add(
            service=p.service,
            state=p.state,
            removed=p.removed,
            done_at=cv.ts(p.done_at),
            attempts=p.attempts,
            last_error=p.last_error,
            last_attempt_at=cv.ts(p.last_attempt_at),
            lifted_at=cv.ts(p.lifted_at),
        )
    return out


class ErasureHandlers(HandlerBase):
    """GetErasureStatus, ListErasures and ReactivateCustomer."""

    def erasure_services(self) -> list[str]:
        """The other services an erasure is sent to."""
        return self.erasure.services if self.erasure is not None else []

    async def GetErasureStatus(self, request, context):
        cid = required(request.customer_id, "customer_id")
        view = await self.db.run(self.store.erasure_status, cid)
        if view is None:
            raise NotFound("erasure", cid)
        return erasure_status_pb(view)

    async def ListErasures(self, request, context):
        asked = read_page(
            request.page,
            scope=scope_of("profile.erasures", request.incomplete_only),
            default=DEFAULT_PAGE,
            maximum=MAX_PAGE,
        )
        views = await self.db.run(self.store.list_erasures, asked.after, asked.size, request.incomplete_only)
        out = pb.ListErasuresResponse(erasures=[erasure_status_pb(v) for v in views[: asked.size]])
        out.page.total_count = -1
        if len(views) > asked.size:
            out.page.next_page_token = asked.next_token(views[asked.size - 1].erasure_id)
        return out

    async def ReactivateCustomer(self, request, context):
        cid = required(request.customer_id, "customer_id")
        reason = required(request.reason.strip(), "reason")
        with self.audit.recording("customer.reactivate", [cid]) as note:
            view = await self.db.run(self.store.reactivate, cid, reason)
            if view is None:
                raise FailedPrecondition(f"account {cid} is not erased")
            note.detail = f"erasure_id={view.erasure_id}"
        if self.erasure is not None:
            self.erasure.nudge()
        return erasure_status_pb(view)
