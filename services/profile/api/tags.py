"""API layer: tag definition handlers: create/update/delete (with re-evaluation jobs), dry runs, validation, history.

Both tag listings page by keyset with the suite's one rule (telco360_runtime.paging): page
size 0 = 100, above 1000 OUT_OF_RANGE; the token holds the last item's key (tag_id for
ListTagDefinitions in tag_id order, the change id for ListTagHistory newest first) and is
scoped to the listing and its filters (STALE elsewhere, BAD_FORMAT when not a token).
"""

from __future__ import annotations

from services.profile.api import converters as cv
from services.profile.api import validation
from services.profile.api.common import HandlerBase, required
from services.profile.domain import events as ev
from services.profile.domain.schema import time_kind
from services.profile.usecases import tags as tagcases
from telco360.profile.v1 import profile_pb2 as pb
from telco360_expr import ExpressionError
from telco360_runtime.context import caller_scope
from telco360_runtime.errors import NotFound
from telco360_runtime.paging import Page, page_violation, read_page, scope_of
from telco360_runtime.proto_jobs import job_to_proto

DEFAULT_PAGE, MAX_PAGE = 100, 1000
MAX_CHANGE_ID = 2**63 - 1


def page(request, listing: str, *filters: object) -> Page:
    """The checked page request of one tag listing, its token scoped to the listing and filters."""
    return read_page(
        request.page, scope=scope_of(f"profile.{listing}", *filters), default=DEFAULT_PAGE, maximum=MAX_PAGE
    )


def change_id_after(asked: Page) -> int | None:
    """The change id a ListTagHistory page resumes below (None: from the newest)."""
    if not asked.after:
        return None
    key = asked.after
    if not (key.isascii() and key.isdigit() and 0 < int(key) <= MAX_CHANGE_ID):
        raise page_violation("is not a page token from this listing")
    return int(key)


class TagHandlers(HandlerBase):
    """Tag definitions, expression validation and tag history."""

    def _start_reevaluation(self, tag_id: str) -> str:
        return self.jobs.start(
            "reevaluate_tag",
            lambda progress: (self.store.reevaluate({tag_id}, ev.CAUSE_DEFINITION_CHANGE, progress), tag_id)[1],
        )

    async def _change(self, action: str, tag_id: str, fn, *args) -> pb.TagDefinitionChange:
        with self.audit.recording(action, detail=f"tag_id={tag_id}") as note:
            view = await self.db.run(self.store.change_definition, fn, *args)
            note.detail = f"tag_id={view.tag_id} version={view.version}"
        job_id = await self.db.run(self._start_reevaluation, view.tag_id)
        job = await self.db.run(self.jobs.store.get, job_id)
        return pb.TagDefinitionChange(definition=await self._definition_pb(view), job=job_to_proto(job))

    async def _definition_pb(self, view) -> pb.TagDefinition:
        def run():
            rule = self.store.compiled(view)
            return cv.definition_to_pb(view, rule.names if rule else (), rule.time_dependent if rule else False)

        return await self.db.run(run)

    async def CreateTagDefinition(self, request, context):
        return await self._change(
            "tag_rule.create",
            request.definition.tag_id,
            tagcases.create_definition,
            cv.definition_from_pb(request.definition, self.store.clock()),
        )

    async def UpdateTagDefinition(self, request, context):
        required(request.definition.tag_id, "definition.tag_id")
        return await self._change(
            "tag_rule.update",
            request.definition.tag_id,
            tagcases.update_definition,
            cv.definition_from_pb(request.definition, self.store.clock()),
            request.expected_version,
        )

    async def DeleteTagDefinition(self, request, context):
        tag_id = required(request.tag_id, "tag_id")
        return await self._change("tag_rule.delete", tag_id, tagcases.delete_definition, tag_id)

    async def GetTagDefinition(self, request, context):
        view = await self.db.run(self.store.get_definition, request.tag_id, request.version)
        if view is None or (view.deleted and not request.version):
            raise NotFound("tag definition", request.tag_id)
        return await self._definition_pb(view)

    async def ListTagDefinitions(self, request, context):
        asked = page(request, "ListTagDefinitions", request.include_disabled, request.category)
        views_ = sorted(
            (
                v
                for v in await self.db.run(self.store.latest_definitions)
                if (request.include_disabled or v.enabled)
                and (not request.category or v.category == request.category)
                and (not asked.after or v.tag_id > asked.after)
            ),
            key=lambda v: v.tag_id,  # the key order the token compares with (not the database's collation)
        )
        out = pb.ListTagDefinitionsResponse()
        room = validation.PageBytes(out)
        for view in views_[: asked.size]:
            definition = await self._definition_pb(view)
            if not room.take(definition):  # the page is full in bytes before it is in items
                break
            out.definitions.append(definition)
        shown = room.items
        out.page.total_count = -1
        if len(views_) > shown:
            out.page.next_page_token = asked.next_token(views_[shown - 1].tag_id)
        return out

    async def DryRunTagDefinition(self, request, context):
        draft = cv.definition_from_pb(request.definition, self.store.clock())
        sample = min(request.sample_size or 50, 1000)

        return pb.DryRunTagDefinitionResponse(**await self.db.run(self.store.dry_run, draft, sample))

    async def ValidateExpression(self, request, context):
        def run():
            try:
                checked = self.store.check_expression(request.expression, request.segment)
            except ExpressionError as error:
                return pb.ValidateExpressionResponse(
                    valid=False, error_position=error.position, error_message=str(error), error_reason=error.reason
                )
            return pb.ValidateExpressionResponse(
                valid=True,
                error_position=-1,
                referenced_names=list(checked.names),
                time_dependent=any(time_kind(n) for n in checked.names),
            )

        return await self.db.run(run)

    async def ListTagHistory(self, request, context):
        changed_after, changed_before = cv.opt_time(request.changed_after), cv.opt_time(request.changed_before)
        scope = caller_scope()  # account managers: only their team's accounts
        filters = (request.customer_id, request.tag_id, changed_after, changed_before)
        asked = page(request, "ListTagHistory", *filters, *([] if scope is None else sorted(scope)))
        entries, cursor = await self.db.run(
            self.store.tag_history,
            request.customer_id,
            request.tag_id,
            changed_after,
            changed_before,
            asked.size,
            change_id_after(asked),
            scope,
        )
        out = pb.ListTagHistoryResponse()
        room = validation.PageBytes(out)
        for i, e in enumerate(entries):
            change = pb.TagChange(
                change_id=e["change_id"],
                customer_id=e["customer_id"],
                tag_id=e["tag_id"],
                assigned=e["assigned"],
                rule_version=e["rule_version"],
                changed_at=cv.ts(e["changed_at"]),
                cause=e["cause"],
            )
            cv.fill_values(change.trigger_values, e["trigger_values"])
            cv.mask_personal_values(change.trigger_values, self.personal_features)
            if not room.take(change):  # full in bytes: the next page starts at this change
                cursor = entries[i - 1]["change_id"]
                break
            out.changes.append(change)
        out.page.total_count = -1
        out.page.next_page_token = asked.next_token(cursor) if cursor else ""
        return out
