"""Segment handler: count and page the accounts matching an expression over tags, features and attributes."""

from __future__ import annotations

from services.profile import converters as cv
from services.profile.handlers.common import HandlerBase, page_size
from services.profile.store.segments import query_segment
from services.profile.store.tagdefs import expression_types
from telco360.profile.v1 import profile_pb2 as pb


class SegmentHandlers(HandlerBase):
    """QuerySegment (expressions are checked as tag rules are, with tag() allowed)."""

    async def QuerySegment(self, request, context):
        size = page_size(request.page)
        checked = await self._checked(request.expression, "expression", segment=True) if request.expression.strip() else None

        def run():
            with self.db.session() as s:
                return query_segment(s, self.snapshot, checked, expression_types(s), request.include_terminated,
                                     size, request.page.page_token, request.count_only, list(request.feature_names))
        result = await self.db.run(run)
        out = pb.QuerySegmentResponse(count=result["count"])
        for member in result["members"]:
            m = out.members.add(customer_id=member["customer_id"], name=cv.personal(member["name"]),
                                tier=member["tier"])
            cv.fill_values(m.features, member["features"])
        out.page.total_count = result["count"]
        out.page.next_page_token = result["next_page_token"]
        return out
