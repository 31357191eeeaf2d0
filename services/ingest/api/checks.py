"""Bounds of every ingest request (api layer), checked in one place before any work is done.

Records are checked field by field by the domain (domain/validate.py) and rejected into the
quarantine; everything else a request carries (filters, times, page sizes and tokens, ids,
list lengths) is checked here and answered INVALID_ARGUMENT naming each field, all
violations at once, never echoing more than a short prefix of a bad value. Times must lie
within telco360_runtime.bounds' range: `received_before = 2^63-1` seconds would otherwise
overflow the database's 64-bit integers in microseconds. Paging follows the suite's rule
(telco360_runtime.paging): `page_size` 0 = default, out of range refused; a keyset token of
this listing (its filter is the token's scope).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.api.converters import record_to_dict
from services.ingest.domain.entries import QuarantineFilter
from services.ingest.domain.violations import reported
from services.ingest.usecases.quarantine import Replay
from telco360.ingest.v1 import ingest_pb2
from telco360_runtime import bounds, paging
from telco360_runtime.errors import InvalidArgument, ViolationCollector

FILTER_TEXT_MAX = 256
"""Characters of ListQuarantine's source and reason filters (a reason may be a field path)."""
QUARANTINE_ID_DIGITS = 18
"""Digits of a quarantine id (a positive signed 64-bit integer)."""
INT64_MAX = 2**63 - 1

_ASCII_DIGITS = re.compile(rf"[0-9]{{1,{QUARANTINE_ID_DIGITS}}}")
_KEY = re.compile(r"([0-9]{1,19}):([0-9]{1,19})")


def raise_if_any(out: ViolationCollector) -> None:
    """Raise InvalidArgument with the collected violations (at most the reported ones)."""
    if out.violations:
        raise InvalidArgument(reported(out.violations))


def quarantine_scope(flt: QuarantineFilter) -> str:
    """The page-token scope of a quarantine listing: its filter (another filter's token is STALE)."""
    return paging.scope_of(
        "quarantine", flt.source, flt.reason, flt.received_after_us, flt.received_before_us, flt.include_resolved
    )


def page_key(received_at_us: int, qid: int) -> str:
    """The keyset key of a quarantine entry in a page token."""
    return f"{received_at_us}:{qid}"


def _cursor(out: ViolationCollector, key: str, path: str) -> tuple[int, int] | None:
    """The (received_at_us, id) cursor of a decoded token key ("" = start)."""
    if not key:
        return None
    match = _KEY.fullmatch(key)  # ASCII digits only: int() takes '１２３' (full-width) as 123
    if match is None or int(match.group(1)) > INT64_MAX or int(match.group(2)) > INT64_MAX:
        out.add(path, "is not a page token from this listing", bounds.BAD_FORMAT)
        return None
    return int(match.group(1)), int(match.group(2))


def _timestamp_us(seconds: int, nanos: int) -> int:
    return seconds * 1_000_000 + nanos // 1000


def quarantine_filter(
    out: ViolationCollector, request: ingest_pb2.ListQuarantineRequest, prefix: str = ""
) -> QuarantineFilter:
    """The store filter of a ListQuarantineRequest (also ReplayQuarantine's `filter`)."""
    bounds.check_text(out, prefix + "source", request.source, max_len=FILTER_TEXT_MAX)
    bounds.check_text(out, prefix + "reason", request.reason, max_len=FILTER_TEXT_MAX)
    after = before = None
    if request.HasField("received_after") and bounds.check_timestamp(
        out, prefix + "received_after", request.received_after
    ):
        after = _timestamp_us(request.received_after.seconds, request.received_after.nanos)
    if request.HasField("received_before") and bounds.check_timestamp(
        out, prefix + "received_before", request.received_before
    ):
        before = _timestamp_us(request.received_before.seconds, request.received_before.nanos)
    if after is not None and before is not None and before <= after:
        out.add(prefix + "received_before", "must be after received_after", "INCONSISTENT")
    return QuarantineFilter(
        source=request.source,
        reason=request.reason,
        received_after_us=after,
        received_before_us=before,
        include_resolved=request.include_resolved,
    )


@dataclass(frozen=True)
class QuarantinePage:
    """A checked ListQuarantine request."""

    filter: QuarantineFilter
    size: int
    after: tuple[int, int] | None


def list_quarantine(request: ingest_pb2.ListQuarantineRequest) -> QuarantinePage:
    """Check a ListQuarantine request; raises InvalidArgument naming every bad field."""
    out = ViolationCollector()
    flt = quarantine_filter(out, request)
    page = paging.check_page(out, request.page, scope=quarantine_scope(flt))
    after = _cursor(out, page.after, "page.page_token")
    raise_if_any(out)
    return QuarantinePage(flt, page.size, after)


def _quarantine_id(out: ViolationCollector, text: str, path: str) -> int | None:
    # ASCII digits only: str.isdigit() and int() take '１２３' (full-width) as 123.
    if _ASCII_DIGITS.fullmatch(text):
        return int(text)
    out.add(path, f"not a quarantine id (got {bounds.preview(text)})", bounds.BAD_FORMAT)
    return None


def replay_quarantine(request: ingest_pb2.ReplayQuarantineRequest, max_ids: int) -> Replay:
    """Check a ReplayQuarantine request; raises InvalidArgument naming every bad field.

    At most `max_ids` ids and bounds.LIST_MAX corrections; the records of corrections are
    validated like any record (and rejected into the quarantine), not here.
    """
    out = ViolationCollector()
    plan = Replay()
    if bounds.check_count(out, "quarantine_ids", request.quarantine_ids, max_items=max_ids):
        for i, text in enumerate(request.quarantine_ids):
            qid = _quarantine_id(out, text, f"quarantine_ids[{i}]")
            if qid is not None:
                plan.wanted.setdefault(qid, None)
    if bounds.check_count(out, "corrections", request.corrections, max_items=bounds.LIST_MAX):
        for i, correction in enumerate(request.corrections):
            qid = _quarantine_id(out, correction.quarantine_id, f"corrections[{i}].quarantine_id")
            if not correction.HasField("record"):
                out.add(f"corrections[{i}].record", "is required", bounds.REQUIRED)
            elif qid is not None:
                plan.wanted[qid] = record_to_dict(correction.record)
                plan.correction_paths[qid] = f"corrections[{i}].record"
    if request.HasField("filter"):
        plan.filter = quarantine_filter(out, request.filter, "filter.")
    if not request.quarantine_ids and not request.corrections and plan.filter is None:
        out.add("quarantine_ids", "name entries, send corrections or give a filter", bounds.REQUIRED)
    raise_if_any(out)
    return plan


def read_log(request: ingest_pb2.ReadLogRequest) -> None:
    """Check a ReadLog / ReadLogBatches request (cursor and limit are 0 or more)."""
    out = ViolationCollector()
    bounds.check_int(out, "after_sequence", request.after_sequence, lo=0, hi=INT64_MAX)
    bounds.check_int(out, "limit", request.limit, lo=0, hi=INT64_MAX)
    raise_if_any(out)


def record_batch(message: ingest_pb2.RecordBatch, max_records: int) -> None:
    """Bound the records of one RecordBatch message."""
    out = ViolationCollector()
    bounds.check_count(out, "records", message.records, max_items=max_records)
    raise_if_any(out)
