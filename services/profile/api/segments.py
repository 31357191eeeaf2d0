"""API layer: segment handler: count and page the accounts matching an expression over tags, features and attributes."""

from __future__ import annotations

from services.profile.api import converters as cv
from services.profile.api import validation
from services.profile.api.common import HandlerBase, expression_digest
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import masking
from telco360_runtime.context import caller_scope
from telco360_runtime.paging import read_page


class SegmentHandlers(HandlerBase):
    """QuerySegment (expressions are checked as tag rules are, with tag() allowed)."""

    async def QuerySegment(self, request, context):
        size = read_page(common_pb2.PageRequest(page_size=request.page.page_size)).size  # token: store/segments.py
        checked = (
            await self._checked(request.expression, "expression", segment=True) if request.expression.strip() else None
        )

        scope = caller_scope()  # account managers: only their team's accounts are members
        with self.audit.recording("segment.query") as note:
            result = await self.db.run(
                self.store.query_segment,
                checked,
                request.include_terminated,
                size,
                request.page.page_token,
                request.count_only,
                list(request.feature_names),
                scope,
            )
            note.add(member["customer_id"] for member in result["members"])
            note.count = result["count"]
            note.detail = f"expression={expression_digest(request.expression)} count={result['count']}"
            note.detail += f" count_only={request.count_only}"
        out = pb.QuerySegmentResponse(count=result["count"])
        out.page.total_count = result["count"]
        out.page.next_page_token = result["next_page_token"]
        room = validation.PageBytes(out)
        for i, member in enumerate(result["members"]):
            m = pb.SegmentMember(
                customer_id=member["customer_id"],
                name=cv.personal(member["name"], masking.ACCOUNT_NAME),
                tier=member["tier"],
            )
            cv.fill_values(m.features, member["features"])
            cv.mask_personal_values(m.features, self.personal_features)
            if not room.take(m):  # full in bytes: the next page starts at this member
                after = result["members"][i - 1]["customer_id"]
                out.page.next_page_token = self.store.page_token(checked, after, scope)
                break
            out.members.append(m)
        return out
