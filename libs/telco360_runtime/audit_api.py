"""The AuditService servicer every service registers next to its own (telco360.audit.v1).

`registration(trail)` is what a composition root adds to its GrpcService: the servicer over
the service's `AuditTrail`, admin only (`AUDIT_ACCESS`). Filters are checked field by field
(INVALID_ARGUMENT with every violation at once), paging follows telco360_runtime.paging
(keyset on the entry id, newest first; a token from other filters is STALE).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360_runtime import bounds
from telco360_runtime.access import ADMIN_ONLY, Access
from telco360_runtime.audit import AuditEntry, AuditTrail
from telco360_runtime.errors import ViolationCollector
from telco360_runtime.paging import Page, check_page, page_violation, scope_of
from telco360_runtime.reasons import OUT_OF_RANGE
from telco360_runtime.server import Registration
from telco360_runtime.timeconv import time_field, to_timestamp

SERVICE_NAME = audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name
#: Only admin lists the trail.
AUDIT_ACCESS: dict[str, Access] = {"ListAuditEntries": ADMIN_ONLY}
SUBJECT_MAX = 200


@dataclass(frozen=True)
class AuditQuery:
    """A checked ListAuditEntries request."""

    account_id: str
    subject: str
    since: dt.datetime | None
    until: dt.datetime | None
    page: Page
    before_id: int | None


def read_query(request: audit_pb2.ListAuditEntriesRequest) -> AuditQuery:
    """The request's filters and page, or InvalidArgument naming every bad field."""
    out = ViolationCollector()
    bounds.check_text(out, "account_id", request.account_id, max_len=bounds.ID_MAX)
    bounds.check_text(out, "subject", request.subject, max_len=SUBJECT_MAX)
    since = time_field(out, "since", request.since)
    until = time_field(out, "until", request.until)
    if since is not None and until is not None and until <= since:
        out.add("until", "must be after since", OUT_OF_RANGE)
    scope = scope_of("audit", request.account_id, request.subject, since, until)
    page = check_page(out, request.page, scope=scope)
    out.raise_if_any()
    before_id: int | None = None
    if page.after:
        try:
            before_id = int(page.after)
        except ValueError:
            raise page_violation("is not a page token from this listing") from None
    return AuditQuery(request.account_id, request.subject, since, until, page, before_id)


def entry_to_pb(entry: AuditEntry) -> audit_pb2.AuditEntry:
    """The wire form of a stored entry."""
    return audit_pb2.AuditEntry(
        id=entry.id,
        at=to_timestamp(entry.at),
        method=entry.method,
        action=entry.action,
        subject=entry.subject,
        role=entry.role,
        request_id=entry.request_id,
        account_ids=list(entry.account_ids),
        account_count=entry.account_count,
        detail=entry.detail,
        outcome=entry.outcome,
    )


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """ListAuditEntries over one service's trail."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def ListAuditEntries(self, request, context):
        query = read_query(request)
        rows = await self.trail.db.run(
            self.trail.list,
            account_id=query.account_id,
            subject=query.subject,
            since=query.since,
            until=query.until,
            before_id=query.before_id,
            limit=query.page.size + 1,
        )
        more = len(rows) > query.page.size
        entries: list[audit_pb2.AuditEntry] = []
        size = 0
        for row in rows[: query.page.size]:
            item = entry_to_pb(row)
            size += item.ByteSize() + 8
            if entries and size > bounds.PAGE_MAX_BYTES:  # stay under clients' 4 MiB default
                more = True
                break
            entries.append(item)
        token = query.page.next_token(entries[-1].id) if more and entries else ""
        return audit_pb2.ListAuditEntriesResponse(
            entries=entries, page=common_pb2.PageResponse(next_page_token=token, total_count=-1)
        )


def registration(trail: AuditTrail) -> Registration:
    """The AuditService registration a composition root adds next to its own servicer."""
    return Registration(
        audit_pb2_grpc.add_AuditServiceServicer_to_server,
        AuditServicer(trail),
        SERVICE_NAME,
        access=AUDIT_ACCESS,
    )
