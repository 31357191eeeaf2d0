"""API layer: feature handlers: point-in-time features, the schema, feature and outcome exports."""

from __future__ import annotations

from services.profile.api import converters as cv
from services.profile.api.common import TYPES, HandlerBase, expression_digest
from telco360.profile.v1 import profile_pb2 as pb
from telco360_expr.vector import evaluate, frame_resolver
from telco360_runtime import bounds
from telco360_runtime.context import caller_scope
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.timeconv import parse_month

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class FeatureHandlers(HandlerBase):
    """GetFeatures, GetFeatureSchema, ExportFeatures and ExportOutcomes."""

    async def GetFeatures(self, request, context):
        ids = list(request.customer_ids)
        if not 1 <= len(ids) <= 1000:
            raise InvalidArgument(FieldViolation("customer_ids", "must name 1-1000 accounts", "OUT_OF_RANGE"))
        as_of = cv.opt_time(request.as_of)
        # Account managers: only their team's accounts (PERMISSION_DENIED otherwise).
        with self.audit.recording("features.read", ids, f"as_of={'set' if as_of else 'now'}"):
            results, found = await self.db.run(self.store.features, ids, as_of, caller_scope())
        by_id = {r.customer_id: r for r in results}
        only = set(request.feature_names) or None
        out = pb.GetFeaturesResponse(as_of=cv.ts(as_of or self.store.clock()))
        for cid in ids:
            vec = out.vectors.add()
            self._vector(vec, cid, by_id.get(cid), only)
            cv.mask_personal_values(vec.features, self.personal_features)
        return out

    @staticmethod
    def _vector(vec: pb.FeatureVector, cid: str, result, only) -> None:
        vec.customer_id = cid
        if result is None:
            return
        vec.found = True
        vec.status = (
            pb.ACCOUNT_STATUS_TERMINATED if result.features.get("status") == "TERMINATED" else pb.ACCOUNT_STATUS_ACTIVE
        )
        cv.fill_values(vec.features, result.features, only)

    def _schema(self) -> pb.FeatureSchema:
        builtin, attrs = self.store.schema()
        schema = pb.FeatureSchema()
        for spec in builtin:
            schema.features.add(name=spec.name, type=TYPES[spec.type], description=spec.description, builtin=True)
        for name in sorted(attrs):
            schema.features.add(
                name=f"attr.{name}", type=TYPES[attrs[name]], description="operator attribute", builtin=False
            )
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
        checked = (
            await self._checked(request.filter_expression, "filter_expression") if request.filter_expression else None
        )
        only = set(request.feature_names) or None

        with self.audit.recording("features.export") as note:
            note.detail = f"filter={expression_digest(request.filter_expression)} vectors=0"
            async for batch in self._export_batches(request, as_of, size, checked, only):
                note.add(v.customer_id for v in batch.vectors)
                note.detail = f"filter={expression_digest(request.filter_expression)} vectors={note.total}"
                yield batch

    async def _export_batches(self, request, as_of, size: int, checked, only):
        ids = await self.db.run(self.store.export_candidates, list(request.customer_ids), caller_scope())
        first = True
        for start in range(0, len(ids), size):
            results, _ = await self.db.run(self.store.features, ids[start : start + size], as_of)
            if checked is not None:
                types = await self.db.run(self.store.expression_types)
                mask = evaluate(checked.tree, len(results), frame_resolver([r.features for r in results], types))
                results = [r for r, keep in zip(results, mask, strict=False) if keep]
            if not request.include_terminated:
                results = [r for r in results if r.features.get("status") != "TERMINATED"]
            batch = pb.FeatureBatch(as_of=cv.ts(as_of))
            if first:
                batch.schema.CopyFrom(await self.db.run(self._schema))
                first = False
            # A batch also ends before it outgrows the page byte limit (clients' 4 MiB default).
            used = batch.ByteSize()
            for r in results:
                vec = pb.FeatureVector()
                self._vector(vec, r.customer_id, r, only)
                cv.mask_personal_values(vec.features, self.personal_features)
                grows = vec.ByteSize() + 8  # field tag and length prefix
                if batch.vectors and used + grows > bounds.PAGE_MAX_BYTES:
                    yield batch
                    batch, used = pb.FeatureBatch(as_of=cv.ts(as_of)), 0
                batch.vectors.append(vec)
                used += grows
            yield batch
        if first:
            yield pb.FeatureBatch(as_of=cv.ts(as_of), schema=await self.db.run(self._schema))

    async def ExportOutcomes(self, request, context):
        for field in ("from_month", "to_month"):
            if parse_month(getattr(request, field)) is None:
                raise InvalidArgument(FieldViolation(field, "must be a month YYYY-MM", "INVALID_FORMAT"))
        if request.from_month > request.to_month:
            raise InvalidArgument(FieldViolation("to_month", "must not be before from_month", "OUT_OF_RANGE"))

        with self.audit.recording("outcomes.export", detail=f"months={request.from_month}..{request.to_month}") as note:
            async for batch in self._outcome_batches(request):
                note.add(o.customer_id for o in batch.outcomes)
                yield batch

    async def _outcome_batches(self, request):
        rows = await self.db.run(
            self.store.outcomes, request.from_month, request.to_month, list(request.customer_ids), caller_scope()
        )
        size = request.batch_size or 500
        for start in range(0, max(len(rows), 1), size):
            batch, used = pb.OutcomeBatch(), 0
            for row in rows[start : start + size]:
                o = pb.AccountOutcome(customer_id=row["customer_id"], status_at_end=row["status"])
                costs = row.get("costs", {})
                billed = {month: (total, lines) for month, total, lines in row["months"]}
                for month in sorted(set(billed) | set(costs)):
                    total, lines = billed.get(month, (0, 0))
                    # One absurd stored fee must not make the whole export fail on int64.
                    o.months.add(
                        month=month,
                        total_fee_fen=max(INT64_MIN, min(INT64_MAX, int(total))),
                        product_lines=lines,
                        total_cost_fen=max(INT64_MIN, min(INT64_MAX, int(costs.get(month, 0)))),
                        costed=month in costs,
                    )
                for at, payload in row["lifecycle"]:
                    o.lifecycle.add(
                        occurred_at=cv.ts(at),
                        action=int(payload.get("action") or 0),
                        reason=int(payload.get("reason") or 0),
                    )
                grows = o.ByteSize() + 8
                if batch.outcomes and used + grows > bounds.PAGE_MAX_BYTES:
                    yield batch
                    batch, used = pb.OutcomeBatch(), 0
                batch.outcomes.append(o)
                used += grows
            yield batch
