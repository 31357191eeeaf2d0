"""Use cases: tag definitions (create/update/delete, reads, dry runs), expression checks and tag history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from services.profile.domain.tags import TagDefinitionView, TagRule
from services.profile.store import tagops
from services.profile.store.scope import Scope
from services.profile.store.tagdefs import compile_view, expression_types, get_definition, latest_definitions
from services.profile.usecases.base import ProfileBase, require_in_scope
from telco360_expr import ExpressionError, check
from telco360_expr.checker import CheckedExpression

Change = Callable[..., TagDefinitionView]

create_definition: Change = tagops.create_definition
update_definition: Change = tagops.update_definition
delete_definition: Change = tagops.delete_definition


class TagCases(ProfileBase):
    """Tag definitions, expressions and tag history."""

    def change_definition(self, fn: Change, *args: Any) -> TagDefinitionView:
        """Apply one definition change (create_definition, update_definition, delete_definition) in a write."""
        with self.db.write_session() as s:
            return fn(s, self.clock(), *args)

    def compiled(self, view: TagDefinitionView) -> TagRule | None:
        """The compiled rule of a live definition (None when deleted or no longer compiling)."""
        with self.db.session() as s:
            types = expression_types(s)
        try:
            return compile_view(view, types) if not view.deleted else None
        except ExpressionError:
            return None

    def get_definition(self, tag_id: str, version: int) -> TagDefinitionView | None:
        """One version (0 = latest) of a definition, deleted ones included."""
        with self.db.session() as s:
            return get_definition(s, tag_id, version)

    def latest_definitions(self) -> list[TagDefinitionView]:
        """The latest version of every definition."""
        with self.db.session() as s:
            return latest_definitions(s)

    def dry_run(self, draft: TagDefinitionView, sample: int) -> dict:
        """How a draft definition would tag the base (counts and a sample)."""
        with self.db.session() as s:
            return tagops.dry_run(s, draft, sample)

    def _check_context(self, segment: bool) -> tuple[dict[str, str], set[str] | None]:
        s: Session
        with self.db.session() as s:
            types = expression_types(s)
            tags = {d.tag_id for d in latest_definitions(s)} if segment else None
        return types, tags

    def check_expression(self, expression: str, segment: bool) -> CheckedExpression:
        """The checked expression (raises ExpressionError); `segment` allows tag() of known tags."""
        types, tags = self._check_context(segment)
        return check(expression, types, allow_tags=segment, known_tags=tags)

    def checked(self, expression: str, field: str, segment: bool = False) -> CheckedExpression:
        """The checked expression, or INVALID_ARGUMENT naming `field`."""
        try:
            return self.check_expression(expression, segment)
        except ExpressionError as error:
            raise tagops.expression_violation(error, field) from None

    def tag_history(
        self,
        customer_id: str,
        tag_id: str,
        changed_after: dt.datetime | None,
        changed_before: dt.datetime | None,
        size: int,
        before_id: int | None,
        scope: Scope = None,
    ) -> tuple[list[dict], int | None]:
        """A page of tag changes, newest first, and the cursor of the next page.

        `scope` (account-team scoping, None: every account): a named account must be one of
        the scope's (else PERMISSION_DENIED); without one, only the scope's accounts are listed.
        """
        with self.db.session() as s:
            if customer_id:
                require_in_scope(s, [customer_id], scope)
            return tagops.tag_history(s, customer_id, tag_id, changed_after, changed_before, size, before_id, scope)
