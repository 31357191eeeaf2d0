"""Use case: count and page the accounts matching a checked segment expression."""

from __future__ import annotations

from services.profile.store.segments import page_token, query_segment
from services.profile.store.tagdefs import expression_types
from services.profile.usecases.base import ProfileBase
from telco360_expr.checker import CheckedExpression


class SegmentCases(ProfileBase):
    """QuerySegment over the in-memory feature snapshot."""

    def query_segment(
        self,
        checked: CheckedExpression | None,
        include_terminated: bool,
        size: int,
        token: str,
        count_only: bool,
        feature_names: list[str],
    ) -> dict:
        """{count, members, next_page_token} of a segment (see store/segments.query_segment)."""
        with self.db.session() as s:
            return query_segment(
                s,
                self.snapshot,
                checked,
                expression_types(s),
                include_terminated,
                size,
                token,
                count_only,
                feature_names,
            )

    @staticmethod
    def page_token(checked: CheckedExpression | None, after: str) -> str:
        """The token of the page starting after customer `after`."""
        return page_token(checked.text if checked else "", after)
