"""Tag definition handlers: create/update/delete (with re-evaluation jobs), dry runs, validation, history."""

from __future__ import annotations

from services.profile import converters as cv
from services.profile.domain import events as ev
from services.profile.domain.schema import time_kind
from services.profile.handlers import validation
from services.profile.handlers.common import HandlerBase, page_size, required
from services.profile.store import tagops
from services.profile.store.tagdefs import compile_view, expression_types, get_definition, latest_definitions
from telco360.profile.v1 import profile_pb2 as pb
from telco360_expr import ExpressionError, check
from telco360_runtime.auth import require_role
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound
from telco360_runtime.proto_jobs import job_to_proto


class TagHandlers(HandlerBase):
    """Tag definitions, expression validation and tag history."""

    def _start_reevaluation(self, tag_id: str) -> str:
        return self.jobs.start(
            "reevaluate_tag",
            lambda progress: (self.store.reevaluate({tag_id}, ev.CAUSE_DEFINITION_CHANGE, progress), tag_id)[1],
        )

    async def _change(self, fn, *args) -> pb.TagDefinitionChange:
        def run():
            with self.db.write_session() as s:
                return fn(s, self.store.clock(), *args)

        view = await self.db.run(run)
        job_id = await self.db.run(self._start_reevaluation, view.tag_id)
        job = await self.db.run(self.jobs.store.get, job_id)
        return pb.TagDefinitionChange(definition=await self._definition_pb(view), job=job_to_proto(job))

    async def _definition_pb(self, view) -> pb.TagDefinition:
        def run():
            with self.db.session() as s:
                types = expression_types(s)
            try:
                rule = compile_view(view, types) if not view.deleted else None
            except ExpressionError:
                rule = None
            return cv.definition_to_pb(view, rule.names if rule else (), rule.time_dependent if rule else False)

        return await self.db.run(run)

    async def CreateTagDefinition(self, request, context):
        require_role(("analyst",))
        return await self._change(
            tagops.create_definition, cv.definition_from_pb(request.definition, self.store.clock())
        )

    async def UpdateTagDefinition(self, request, context):
        require_role(("analyst",))
        required(request.definition.tag_id, "definition.tag_id")
        return await self._change(
            tagops.update_definition,
            cv.definition_from_pb(request.definition, self.store.clock()),
            request.expected_version,
        )

    async def DeleteTagDefinition(self, request, context):
        require_role(("analyst",))
        return await self._change(tagops.delete_definition, required(request.tag_id, "tag_id"))

    async def GetTagDefinition(self, request, context):
        def run():
            with self.db.session() as s:
                return get_definition(s, request.tag_id, request.version)

        view = await self.db.run(run)
        if view is None or (view.deleted and not request.version):
            raise NotFound("tag definition", request.tag_id)
        return await self._definition_pb(view)

    async def ListTagDefinitions(self, request, context):
        size = page_size(request.page)

        def run():
            with self.db.session() as s:
                return latest_definitions(s)

        views_ = [
            v
            for v in await self.db.run(run)
            if (request.include_disabled or v.enabled)
            and (not request.category or v.category == request.category)
            and (not request.page.page_token or v.tag_id > request.page.page_token)
        ]
        out = pb.ListTagDefinitionsResponse()
        room = validation.PageBytes(out)
        for view in views_[:size]:
            definition = await self._definition_pb(view)
            if not room.take(definition):  # the page is full in bytes before it is in items
                break
            out.definitions.append(definition)
        shown = room.items
        out.page.total_count = -1
        if len(views_) > shown:
            out.page.next_page_token = views_[shown - 1].tag_id
        return out

    async def DryRunTagDefinition(self, request, context):
        draft = cv.definition_from_pb(request.definition, self.store.clock())
        sample = min(request.sample_size or 50, 1000)

        def run():
            with self.db.session() as s:
                return tagops.dry_run(s, draft, sample)

        return pb.DryRunTagDefinitionResponse(**await self.db.run(run))

    async def ValidateExpression(self, request, context):
        def run():
            with self.db.session() as s:
                types = expression_types(s)
                tags = {d.tag_id for d in latest_definitions(s)} if request.segment else None
            try:
                checked = check(request.expression, types, allow_tags=request.segment, known_tags=tags)
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
        size = page_size(request.page)
        before_id = None
        if request.page.page_token:
            try:
                before_id = int(request.page.page_token)
            except ValueError:
                raise InvalidArgument(
                    FieldViolation("page.page_token", "is not a valid page token", "INVALID_FORMAT")
                ) from None

        def run():
            with self.db.session() as s:
                return tagops.tag_history(
                    s,
                    request.customer_id,
                    request.tag_id,
                    cv.opt_time(request.changed_after),
                    cv.opt_time(request.changed_before),
                    size,
                    before_id,
                )

        entries, cursor = await self.db.run(run)
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
            if not room.take(change):  # full in bytes: the next page starts at this change
                cursor = entries[i - 1]["change_id"]
                break
            out.changes.append(change)
        out.page.total_count = -1
        out.page.next_page_token = str(cursor) if cursor else ""
        return out
