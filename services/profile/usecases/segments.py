"""Use case: count and page the accounts matching a checked segment expression."""

from __future__ import annotations

from services.profile.store.scope import Scope
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
        scope: Scope = None,
    ) -> dict:
        """{count, members, next_page_token} of a segment (see store/segments.query_segment);
        with `scope` (account-team scoping) only the scope's accounts are members."""
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
                scope,
            )

    @staticmethod
    def page_token(checked: CheckedExpression | None, after: str, scope: Scope = None) -> str:
        """The token of the page starting after customer `after` (of the listing `scope` sees)."""
        return page_token(checked.text if checked else "", after, scope)
