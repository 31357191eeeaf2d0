"""gRPC servicer of ProfileService: protobuf <-> domain conversion, delegating to the store."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

from services.profile import converters as cv
from services.profile.domain import events as ev
from telco360_expr import ExpressionError, check
from services.profile.domain.schema import BUILTIN_FEATURES
from services.profile.peers import Peers
from services.profile.store import tagops, views
from services.profile.store.facade import ProfileStore
from services.profile.store.segments import FeatureSnapshot, query_segment
from services.profile.store.tagdefs import (attribute_types, compile_view, expression_types, get_definition,
                                            latest_definitions)
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360.profile.v1 import profile_pb2_grpc
from telco360_runtime.auth import may_see_personal_data, require_role
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound
from telco360_runtime.jobs import JobRunner
from telco360_runtime.proto_jobs import job_to_proto

class ViewCache:
    """A small thread-safe LRU of built Customer360 views."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The cached value or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Store a value, evicting the least recently used."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


TYPES = {"number": pb.FEATURE_TYPE_NUMBER, "string": pb.FEATURE_TYPE_STRING, "bool": pb.FEATURE_TYPE_BOOL}


def _page_size(page: common_pb2.PageRequest, default: int = 100) -> int:
    if page.page_size < 0:
        raise InvalidArgument(FieldViolation("page.page_size", "must not be negative", "OUT_OF_RANGE"))
    return min(page.page_size or default, 1000)


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(FieldViolation(field, "is required", "REQUIRED"))
    return value


class ProfileServicer(profile_pb2_grpc.ProfileServiceServicer):
    """The ProfileService implementation."""

    def __init__(self, store: ProfileStore, jobs: JobRunner, peers: Peers, consumer=None) -> None:
        self.store = store
        self.db = store.db
        self.jobs = jobs
        self.peers = peers
        self.consumer = consumer
        self.snapshot = FeatureSnapshot()
        self._views = ViewCache(20_000)

    # -- Customer360 -----------------------------------------------------------------
    async def GetCustomer360(self, request, context):
        cid = _required(request.customer_id, "customer_id")
        if not 0 <= request.trend_months <= 60:
            raise InvalidArgument(FieldViolation("trend_months", "must be 0-60", "OUT_OF_RANGE"))
        if not 0 <= request.recent_limit <= 200:
            raise InvalidArgument(FieldViolation("recent_limit", "must be 0-200", "OUT_OF_RANGE"))
        group = request.level == pb.VIEW_LEVEL_GROUP
        recent = request.recent_limit or 20
        key = (cid, group, request.trend_months or 12, recent, may_see_personal_data())

        def read():
            # Every change to an account (facts, tags, scores, erasure) bumps its change number,
            # so an account-level view cached under the same number is still exact.
            with self.db.session() as s:
                seq = views.change_seq(s, cid)
                if seq is None:
                    return None
                cached = self._views.get(key)
                if cached is not None and cached[0] == seq and not group:
                    return cached[1]
                data = views.customer360(s, cid, group, request.trend_months or 12, recent)
            if data is None:
                return None
            view = cv.customer360_to_pb(data, pb.VIEW_LEVEL_GROUP if group else pb.VIEW_LEVEL_ACCOUNT)
            if not group:
                self._views.put(key, (seq, view))
            return view
        local = await self.db.run(read)
        if local is None:
            raise NotFound("customer", cid)
        out = pb.Customer360()
        out.CopyFrom(local)
        await self.peers.enrich(out, cid, recent)
        return out

    # -- features --------------------------------------------------------------------
    async def GetFeatures(self, request, context):
        ids = list(request.customer_ids)
        if not 1 <= len(ids) <= 1000:
            raise InvalidArgument(FieldViolation("customer_ids", "must name 1-1000 accounts", "OUT_OF_RANGE"))
        as_of = cv.opt_time(request.as_of)
        results, found = await self.db.run(self.store.features, ids, as_of)
        by_id = {r.customer_id: r for r in results}
        only = set(request.feature_names) or None
        out = pb.GetFeaturesResponse(as_of=cv.ts(as_of or self.store.clock()))
        for cid in ids:
            self._vector(out.vectors.add(), cid, by_id.get(cid), only)
        return out

    @staticmethod
    def _vector(vec: pb.FeatureVector, cid: str, result, only) -> None:
        vec.customer_id = cid
        if result is None:
            return
        vec.found = True
        vec.status = pb.ACCOUNT_STATUS_TERMINATED if result.features.get("status") == "TERMINATED" \
            else pb.ACCOUNT_STATUS_ACTIVE
        cv.fill_values(vec.features, result.features, only)

    def _schema(self) -> pb.FeatureSchema:
        with self.db.session() as s:
            attrs = attribute_types(s)
        schema = pb.FeatureSchema()
        for spec in BUILTIN_FEATURES:
            schema.features.add(name=spec.name, type=TYPES[spec.type], description=spec.description, builtin=True)
        for name in sorted(attrs):
            schema.features.add(name=f"attr.{name}", type=TYPES[attrs[name]],
                                description="operator attribute", builtin=False)
        return schema

    async def GetFeatureSchema(self, request, context):
        return await self.db.run(self._schema)

    async def ExportFeatures(self, request, context):
        if not cv.opt_time(request.as_of):
            raise InvalidArgument(FieldViolation("as_of", "is required", "REQUIRED"))
        if not 0 <= request.batch_size <= 5000:
            raise InvalidArgument(FieldViolation("batch_size", "must be 0-5000", "OUT_OF_RANGE"))
        as_of = cv.opt_time(request.as_of)
        size = request.batch_size or 500
        checked = await self._checked(request.filter_expression, "filter_expression") if request.filter_expression else None
        only = set(request.feature_names) or None

        def candidates():
            with self.db.session() as s:
                ids = list(request.customer_ids) or tagops.all_account_ids(s)
            return sorted(set(ids))
        ids = await self.db.run(candidates)
        first = True
        from telco360_expr.vector import evaluate, frame_resolver
        for start in range(0, len(ids), size):
            results, _ = await self.db.run(self.store.features, ids[start:start + size], as_of)
            if checked is not None:
                types = await self.db.run(self._types)
                mask = evaluate(checked.tree, len(results), frame_resolver([r.features for r in results], types))
                results = [r for r, keep in zip(results, mask) if keep]
            if not request.include_terminated:
                results = [r for r in results if r.features.get("status") != "TERMINATED"]
            batch = pb.FeatureBatch(as_of=cv.ts(as_of))
            if first:
                batch.schema.CopyFrom(await self.db.run(self._schema))
                first = False
            for r in results:
                self._vector(batch.vectors.add(), r.customer_id, r, only)
            yield batch
        if first:
            yield pb.FeatureBatch(as_of=cv.ts(as_of), schema=await self.db.run(self._schema))

    def _types(self) -> dict[str, str]:
        with self.db.session() as s:
            return expression_types(s)

    async def ExportOutcomes(self, request, context):
        from telco360_runtime.timeconv import parse_month
        for field in ("from_month", "to_month"):
            if parse_month(getattr(request, field)) is None:
                raise InvalidArgument(FieldViolation(field, "must be a month YYYY-MM", "INVALID_FORMAT"))
        if request.from_month > request.to_month:
            raise InvalidArgument(FieldViolation("to_month", "must not be before from_month", "OUT_OF_RANGE"))

        def read():
            with self.db.session() as s:
                return views.outcomes(s, request.from_month, request.to_month, list(request.customer_ids))
        rows = await self.db.run(read)
        size = request.batch_size or 500
        for start in range(0, max(len(rows), 1), size):
            batch = pb.OutcomeBatch()
            for row in rows[start:start + size]:
                o = batch.outcomes.add(customer_id=row["customer_id"], status_at_end=row["status"])
                for month, total, lines in row["months"]:
                    o.months.add(month=month, total_fee_fen=total, product_lines=lines)
                for at, payload in row["lifecycle"]:
                    o.lifecycle.add(occurred_at=cv.ts(at), action=int(payload.get("action") or 0),
                                    reason=int(payload.get("reason") or 0))
            yield batch

    # -- tag definitions -------------------------------------------------------------
    async def _checked(self, expression: str, field: str, segment: bool = False):
        def run():
            with self.db.session() as s:
                types = expression_types(s)
                tags = {d.tag_id for d in latest_definitions(s)} if segment else None
            try:
                return check(expression, types, allow_tags=segment, known_tags=tags)
            except ExpressionError as error:
                raise tagops.expression_violation(error, field) from None
        return await self.db.run(run)

    def _start_reevaluation(self, tag_id: str) -> str:
        return self.jobs.start("reevaluate_tag", lambda progress: (
            self.store.reevaluate({tag_id}, ev.CAUSE_DEFINITION_CHANGE, progress), tag_id)[1])

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
        return await self._change(tagops.create_definition, cv.definition_from_pb(request.definition, self.store.clock()))

    async def UpdateTagDefinition(self, request, context):
        require_role(("analyst",))
        _required(request.definition.tag_id, "definition.tag_id")
        return await self._change(tagops.update_definition,
                                  cv.definition_from_pb(request.definition, self.store.clock()),
                                  request.expected_version)

    async def DeleteTagDefinition(self, request, context):
        require_role(("analyst",))
        return await self._change(tagops.delete_definition, _required(request.tag_id, "tag_id"))

    async def GetTagDefinition(self, request, context):
        def run():
            with self.db.session() as s:
                return get_definition(s, request.tag_id, request.version)
        view = await self.db.run(run)
        if view is None or (view.deleted and not request.version):
            raise NotFound("tag definition", request.tag_id)
        return await self._definition_pb(view)

    async def ListTagDefinitions(self, request, context):
        size = _page_size(request.page)

        def run():
            with self.db.session() as s:
                return latest_definitions(s)
        views_ = [v for v in await self.db.run(run) if (request.include_disabled or v.enabled)
                  and (not request.category or v.category == request.category)
                  and (not request.page.page_token or v.tag_id > request.page.page_token)]
        out = pb.ListTagDefinitionsResponse()
        for view in views_[:size]:
            out.definitions.append(await self._definition_pb(view))
        out.page.total_count = -1
        if len(views_) > size:
            out.page.next_page_token = views_[size - 1].tag_id
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
                return pb.ValidateExpressionResponse(valid=False, error_position=error.position,
                                                     error_message=str(error))
            from services.profile.domain.schema import time_kind
            return pb.ValidateExpressionResponse(valid=True, error_position=-1, referenced_names=list(checked.names),
                                                 time_dependent=any(time_kind(n) for n in checked.names))
        return await self.db.run(run)

    async def ListTagHistory(self, request, context):
        size = _page_size(request.page)
        before_id = None
        if request.page.page_token:
            try:
                before_id = int(request.page.page_token)
            except ValueError:
                raise InvalidArgument(FieldViolation("page.page_token", "is not a valid page token",
                                                     "INVALID_FORMAT")) from None

        def run():
            with self.db.session() as s:
                return tagops.tag_history(s, request.customer_id, request.tag_id, cv.opt_time(request.changed_after),
                                          cv.opt_time(request.changed_before), size, before_id)
        entries, cursor = await self.db.run(run)
        out = pb.ListTagHistoryResponse()
        for e in entries:
            change = out.changes.add(change_id=e["change_id"], customer_id=e["customer_id"], tag_id=e["tag_id"],
                                     assigned=e["assigned"], rule_version=e["rule_version"],
                                     changed_at=cv.ts(e["changed_at"]), cause=e["cause"])
            cv.fill_values(change.trigger_values, e["trigger_values"])
        out.page.total_count = -1
        out.page.next_page_token = str(cursor) if cursor else ""
        return out

    # -- segments --------------------------------------------------------------------
    async def QuerySegment(self, request, context):
        size = _page_size(request.page)
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

    # -- scores and events -----------------------------------------------------------
    async def RecordScores(self, request, context):
        require_role(("service",))
        now = self.store.clock()
        for i, score in enumerate(request.scores):
            if not score.customer_id:
                raise InvalidArgument(FieldViolation(f"scores[{i}].customer_id", "is required", "REQUIRED"))
            if not 0.0 <= score.churn_probability <= 1.0:
                raise InvalidArgument(FieldViolation(f"scores[{i}].churn_probability", "must be 0-1", "OUT_OF_RANGE"))
        result = await self.db.run(self.store.record_scores, [cv.score_from_pb(s, now) for s in request.scores])
        return pb.RecordScoresResponse(accepted=result["accepted"], ignored=result["ignored"],
                                       unknown_customer_ids=result["unknown"], risk_band_changes=result["changed"])

    async def WatchAccountEvents(self, request, context):
        after, sent = request.after_sequence, 0
        types = list(request.types)

        def read(limit: int):
            with self.db.session() as s:
                return views.read_events(s, after, limit, types, request.customer_id)
        while True:
            want = 500 if not request.limit else min(500, request.limit - sent)
            rows = await self.db.run(read, want)
            for row in rows:
                yield cv.event_to_pb(row)
                after = row.sequence
                sent += 1
            if request.limit and sent >= request.limit:
                return
            if not rows:
                if not request.follow:
                    return
                await asyncio.sleep(0.2)

    # -- erasure, jobs, status -------------------------------------------------------
    async def EraseCustomer(self, request, context):
        require_role(())
        cid = _required(request.customer_id, "customer_id")
        _required(request.reason.strip(), "reason")
        removed = await self.db.run(self.store.erase, cid, request.reason, request.purge_facts)
        if removed is None:
            raise NotFound("customer", cid)
        return pb.EraseCustomerResponse(customer_id=cid, removed=removed, erased_at=cv.ts(self.store.clock()))

    async def GetJob(self, request, context):
        return job_to_proto(await self.db.run(self.jobs.store.get, _required(request.job_id, "job_id")))

    async def GetSyncStatus(self, request, context):
        status = await self.db.run(self.store.sync_status)
        ingest_last = max(status["ingest_last_sequence"], self.consumer.ingest_last if self.consumer else 0)
        out = pb.SyncStatus(applied_sequence=status["applied_sequence"], ingest_last_sequence=ingest_last,
                            lag_entries=max(0, ingest_last - status["applied_sequence"]),
                            connected=bool(self.consumer and self.consumer.connected), accounts=status["accounts"],
                            last_event_sequence=status["last_event_sequence"])
        if status["last_applied_at"]:
            out.last_applied_at.CopyFrom(cv.ts(status["last_applied_at"]))
        return out



