"""Bounds of every ingest request, checked in one place before any work is done.

Records are checked field by field by the domain (domain/validate.py) and rejected into the
quarantine; everything else a request carries (filters, times, page sizes and tokens, ids,
list lengths) is checked here and answered INVALID_ARGUMENT naming each field, all
violations at once, never echoing more than a short prefix of a bad value. Times must lie
within telco360_runtime.bounds' range: `received_before = 2^63-1` seconds would otherwise
overflow the database's 64-bit integers in microseconds.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from services.ingest.store import QuarantineFilter
from telco360.ingest.v1 import ingest_pb2
from telco360_runtime import bounds
from telco360_runtime.errors import FieldViolation, InvalidArgument, ViolationCollector

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
FILTER_TEXT_MAX = 256
"""Characters of ListQuarantine's source and reason filters (a reason may be a field path)."""
PAGE_TOKEN_MAX = 128
"""Characters of a page token (ours are about 40)."""
QUARANTINE_ID_DIGITS = 18
"""Digits of a quarantine id (a positive signed 64-bit integer)."""
INT64_MAX = 2**63 - 1
REPORTED_VIOLATIONS_MAX = 20
"""Violations one INVALID_ARGUMENT lists; the rest are summed up in one more (status details
travel in trailers, which clients refuse beyond a few KiB)."""

_ASCII_DIGITS = re.compile(rf"[0-9]{{1,{QUARANTINE_ID_DIGITS}}}")
_TOKEN = re.compile(r"q1:([0-9]{1,19}):([0-9]{1,19})")


def reported(violations: list[FieldViolation]) -> list[FieldViolation]:
    """The first REPORTED_VIOLATIONS_MAX violations, plus one that counts the others."""
    if len(violations) <= REPORTED_VIOLATIONS_MAX:
        return violations
    rest = len(violations) - REPORTED_VIOLATIONS_MAX
    return [*violations[:REPORTED_VIOLATIONS_MAX], FieldViolation("", f"and {rest} more violations", bounds.TOO_MANY)]


def raise_if_any(out: ViolationCollector) -> None:
    """Raise InvalidArgument with the collected violations (at most the reported ones)."""
    if out.violations:
        raise InvalidArgument(reported(out.violations))


def encode_token(received_at_us: int, qid: int) -> str:
    """The page token that resumes a quarantine listing after (received_at_us, qid)."""
    return base64.urlsafe_b64encode(f"q1:{received_at_us}:{qid}".encode()).decode()


def _decode_token(out: ViolationCollector, token: str, path: str) -> tuple[int, int] | None:
    if len(token) > PAGE_TOKEN_MAX:
        out.add(path, f"not a page token from this service ({len(token)} characters)", bounds.BAD_FORMAT)
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        text = ""
    match = _TOKEN.fullmatch(text)
    if match is None or int(match.group(1)) > INT64_MAX or int(match.group(2)) > INT64_MAX:
        out.add(path, "not a page token from this service", bounds.BAD_FORMAT)
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
    size = request.page.page_size
    bounds.check_int(out, "page.page_size", size, lo=0, hi=MAX_PAGE_SIZE)
    after = None
    if request.page.page_token:
        after = _decode_token(out, request.page.page_token, "page.page_token")
    raise_if_any(out)
    return QuarantinePage(flt, size or DEFAULT_PAGE_SIZE, after)


def _quarantine_id(out: ViolationCollector, text: str, path: str) -> int | None:
    # ASCII digits only: str.isdigit() and int() take '１２３' (full-width) as 123.
    if _ASCII_DIGITS.fullmatch(text):
        return int(text)
    out.add(path, f"not a quarantine id (got {bounds.preview(text)})", bounds.BAD_FORMAT)
    return None


@dataclass
class Replay:
    """A checked ReplayQuarantine request: entries to replay, in order of first mention."""

    wanted: dict[int, ingest_pb2.Record | None] = field(default_factory=dict)
    """Quarantine id -> corrected record (None: replay as stored)."""
    correction_paths: dict[int, str] = field(default_factory=dict)
    filter: QuarantineFilter | None = None


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
                plan.wanted[qid] = correction.record
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
