"""Use cases of the quarantine (usecases layer): list entries page by page, replay entries.

Both bound their answer in bytes: the caller passes `encode` (a stored item or a result ->
its message), `cost` (the encoded size of one message in the answer) and the byte `budget`
of one answer, so the rules stay here and the protobuf in api/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from services.ingest.domain.entries import QuarantineFilter, QuarantineItem
from services.ingest.domain.erasure import REFUSED
from services.ingest.domain.ingest import REJECTED, Outcome, Prepared
from services.ingest.domain.records import Record
from services.ingest.domain.violations import INCONSISTENT, reported
from services.ingest.usecases.ingest_records import IngestRecords
from telco360_runtime import bounds
from telco360_runtime.db import Database
from telco360_runtime.errors import FieldViolation, InvalidArgument, NotFound

E = TypeVar("E")
R = TypeVar("R")

QUARANTINE_CHUNK = 100
"""Quarantine rows read per store query while filling one page (bounds memory per call)."""


class QuarantineStore(Protocol):
    """What the quarantine use cases need from a store."""

    def list_quarantine(
        self, flt: QuarantineFilter, after: tuple[int, int] | None, limit: int, count_total: bool = True
    ) -> tuple[list[QuarantineItem], int]: ...

    def quarantine_ids(self, flt: QuarantineFilter, limit: int) -> list[int]: ...

    def quarantine_keys(self, ids: list[int]) -> dict[int, tuple[str, str]]: ...

    def get_quarantine(self, ids: list[int]) -> dict[int, QuarantineItem]: ...


@dataclass
class QuarantinePage(Generic[E]):
    """One page of a listing: its entries, the cursor to resume after (None: last page), the total."""

    entries: list[E]
    resume_after: tuple[int, int] | None
    total: int


@dataclass
class Replay:
    """A checked ReplayQuarantine request: entries to replay, in order of first mention."""

    wanted: dict[int, Record | None] = field(default_factory=dict)
    """Quarantine id -> corrected record (None: replay as stored)."""
    correction_paths: dict[int, str] = field(default_factory=dict)
    """Quarantine id -> the request field of its correction (for violations)."""
    filter: QuarantineFilter | None = None


@dataclass
class Replayed(Generic[R]):
    """What a replay did: the results that fit the answer, and counts of all."""

    results: list[R] = field(default_factory=list)
    moved: int = 0
    still_rejected: int = 0
    omitted: int = 0


class Quarantine:
    """Listing and replaying quarantine entries."""

    def __init__(
        self,
        db: Database,
        store: QuarantineStore,
        ingest: IngestRecords,
        *,
        replay_max_records: int,
        batch_max_records: int,
    ) -> None:
        self.db = db
        self.store = store
        self.ingest = ingest
        self.replay_max_records = replay_max_records
        self.batch_max_records = batch_max_records

    async def list_page(
        self,
        flt: QuarantineFilter,
        after: tuple[int, int] | None,
        size: int,
        encode: Callable[[QuarantineItem], E],
        cost: Callable[[E], int],
        budget: int,
    ) -> QuarantinePage[E]:
        """Up to `size` entries after the cursor whose encoded answer stays within `budget`
        bytes (at least one entry); the page resumes after the last entry sent."""
        return await self.db.run(self._page, flt, after, size, encode, cost, budget)

    def _page(
        self,
        flt: QuarantineFilter,
        after: tuple[int, int] | None,
        size: int,
        encode: Callable[[QuarantineItem], E],
        cost: Callable[[E], int],
        budget: int,
    ) -> QuarantinePage[E]:
        entries: list[E] = []
        used, total, cursor, more = 0, -1, after, False
        while True:
            want = min(size - len(entries), QUARANTINE_CHUNK)
            items, count = self.store.list_quarantine(flt, cursor, want + 1, count_total=total < 0)
            total = count if total < 0 else total
            for item in items[:want]:
                entry = encode(item)
                item_cost = cost(entry)
                if entries and used + item_cost > budget:
                    more = True
                    break
                entries.append(entry)
                used += item_cost
                cursor = (item.received_at_us, item.id)
            if more or len(items) <= want:
                break  # page full by bytes, or no rows beyond these
            if len(entries) >= size:
                more = True
                break
        return QuarantinePage(entries, cursor if more else None, total)

    async def replay(
        self,
        plan: Replay,
        stored_record: Callable[[str], Record],
        encode: Callable[[int, Prepared, Outcome], R],
        cost: Callable[[R], int],
        budget: int,
    ) -> Replayed[R]:
        """Replay the planned entries (and those the filter names), at most replay_max_records.

        NotFound for an unknown id, InvalidArgument when a correction changes the identity of
        its entry or the filter names too many. `stored_record` reads a stored record (its
        JSON as received) into a domain record.
        """
        limit = self.replay_max_records
        wanted = plan.wanted
        if plan.filter is not None:
            for qid in await self.db.run(self.store.quarantine_ids, plan.filter, limit + 1):
                wanted.setdefault(qid, None)
        if len(wanted) > limit:
            raise InvalidArgument(
                FieldViolation("filter", f"more than {limit} entries; narrow the filter", bounds.TOO_MANY)
            )
        ids = list(wanted)
        keys = await self.db.run(self.store.quarantine_keys, ids)
        missing = [qid for qid in ids if qid not in keys]
        if missing:
            raise NotFound("quarantine entry", str(missing[0]))
        violations: list[FieldViolation] = []
        for qid, path in plan.correction_paths.items():
            correction = wanted[qid]
            assert correction is not None
            for name, kept in zip(("source", "source_record_id"), keys[qid], strict=False):
                if kept and correction.get(name, "") != kept:
                    described = f"must match the quarantined record ({bounds.preview(kept)})"
                    violations.append(FieldViolation(f"{path}.{name}", described, INCONSISTENT))
        if violations:
            raise InvalidArgument(reported(violations))
        return await self._replay(ids, wanted, stored_record, encode, cost, budget)

    async def _replay(
        self,
        ids: list[int],
        wanted: dict[int, Record | None],
        stored_record: Callable[[str], Record],
        encode: Callable[[int, Prepared, Outcome], R],
        cost: Callable[[R], int],
        budget: int,
    ) -> Replayed[R]:
        """Replay entries in chunks; the answer keeps results while they stay within `budget`
        and counts the rest (`omitted`), so it can always be sent."""
        answer: Replayed[R] = Replayed()
        used = 0
        step = self.batch_max_records
        for start in range(0, len(ids), step):
            chunk_ids = ids[start : start + step]
            stored_ids = [qid for qid in chunk_ids if wanted[qid] is None]
            stored = await self.db.run(self.store.get_quarantine, stored_ids) if stored_ids else {}
            raws: list[Record] = []
            for qid in chunk_ids:
                record = wanted[qid]
                raws.append(stored_record(stored[qid].record) if record is None else record)

            def encode_chunk(
                prepared: Sequence[Prepared], outcomes: Sequence[Outcome], first: int = start
            ) -> list[tuple[bool, R]]:
                pairs = enumerate(zip(prepared, outcomes, strict=False))
                # A refused record (its account is erased) is not moved: counted as still rejected.
                return [(o.status in (REJECTED, REFUSED), encode(first + i, p, o)) for i, (p, o) in pairs]

            def decode(chunk_raws: list[Record] = raws) -> list[Record]:
                return chunk_raws

            chunk = await self.ingest.apply(decode, encode_chunk, chunk_ids)
            for rejected, result in chunk:
                if rejected:
                    answer.still_rejected += 1
                else:
                    answer.moved += 1
                result_cost = cost(result)
                if answer.omitted or used + result_cost > budget:
                    answer.omitted += 1
                    continue
                answer.results.append(result)
                used += result_cost
        return answer
