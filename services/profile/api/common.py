"""Helpers shared by profile's handler modules: request checks and the servicer's collaborators."""

from __future__ import annotations

from services.profile.peers import Peers
from services.profile.store import tagops
from services.profile.store.facade import ProfileStore
from services.profile.store.readmodel import Hierarchy
from services.profile.store.segments import FeatureSnapshot
from services.profile.store.tagdefs import expression_types, latest_definitions
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_expr import ExpressionError, check
from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.jobs import JobRunner

TYPES = {"number": pb.FEATURE_TYPE_NUMBER, "string": pb.FEATURE_TYPE_STRING, "bool": pb.FEATURE_TYPE_BOOL}


def page_size(page: common_pb2.PageRequest, default: int = 100) -> int:
    """The requested page size, bounded to 1000."""
    if page.page_size < 0:
        raise InvalidArgument(FieldViolation("page.page_size", "must not be negative", "OUT_OF_RANGE"))
    return min(page.page_size or default, 1000)


def required(value: str, field: str) -> str:
    """The value, or INVALID_ARGUMENT naming the missing field."""
    if not value:
        raise InvalidArgument(FieldViolation(field, "is required", "REQUIRED"))
    return value


class HandlerBase:
    """State every handler group reads: the store, jobs, peers, the consumer and in-memory indexes."""

    def __init__(self, store: ProfileStore, jobs: JobRunner, peers: Peers, consumer=None) -> None:
        self.store = store
        self.db = store.db
        self.jobs = jobs
        self.peers = peers
        self.consumer = consumer
        self.snapshot = FeatureSnapshot()
        self.hierarchy = Hierarchy()

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
