"""Property tests of record bounds: every number, time, text, list and enum of every kind.

Hypothesis draws a record of each kind with one field set to an out-of-range, non-finite,
oversized, unknown or full-width value and asserts it is rejected with that field's path
and reason; mixed batches through the real store (SQLite and PostgreSQL) accept every good
record exactly once and quarantine every bad one, small enough to list and replay.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.domain import limits
from services.ingest.domain.ingest import ACCEPTED, DUPLICATE, REJECTED
from services.ingest.domain.records import KINDS
from services.ingest.domain.validate import validate_record
from services.ingest.domain.violations import (
    INVALID_FORMAT,
    NOT_FINITE,
    OUT_OF_RANGE,
    TOO_LONG,
    TOO_MANY,
    UNKNOWN_ENUM,
)
from services.ingest.store import IngestStore, QuarantineFilter, migrate_store
from services.ingest.tests.samples import NOW, raw
from services.ingest.usecases.ingest_records import ingest
from telco360.ingest.v1 import ingest_pb2
from telco360_runtime import bounds
from telco360_runtime.db import Database

INT64 = 2**63 - 1
INT32 = 2**31 - 1
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
LONGEST_DESCRIPTION = 300  # a violation never carries more than a short prefix of a value


def _over(hi: int | float, top: int | float) -> st.SearchStrategy:
    """Integers or floats just above to far above `hi` (up to the wire type's maximum)."""
    if isinstance(hi, float):
        return st.floats(min_value=hi, max_value=top, exclude_min=True, allow_nan=False, allow_infinity=False)
    return st.integers(min_value=hi + 1, max_value=top)


NEGATIVE64 = st.integers(min_value=-(2**63), max_value=-1)
NEGATIVE32 = st.integers(min_value=-(2**31), max_value=-1)
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
NEGATIVE_FLOAT = st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False)
HUGE_FLOAT = 1.7e308


def _text(over: int, alphabet: str = "x名 -_") -> st.SearchStrategy[str]:
    """Text longer than `over` characters (trimming cannot bring it under the limit)."""
    return st.builds(lambda n, c: "a" + c * n + "a", st.integers(over, over + 3000), st.sampled_from(alphabet))


def _full_width(text: str) -> st.SearchStrategy[str]:
    """`text` with at least one of its ASCII digits in full width."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    return st.sets(st.sampled_from(digits), min_size=1).map(
        lambda chosen: "".join(c.translate(FULL_WIDTH) if i in chosen else c for i, c in enumerate(text))
    )


# (kind, field, path, strategy of bad values, reason). `field` None: a top-level field.
Case = tuple[str, str | None, str, st.SearchStrategy, str]
NUMBERS: list[Case] = [
    ("billing", "fee_fen", "billing.fee_fen", _over(limits.MAX_MONEY_FEN, INT64), OUT_OF_RANGE),
    ("billing", "fee_fen", "billing.fee_fen", NEGATIVE64, OUT_OF_RANGE),
    ("billing", "usage_quantity", "billing.usage_quantity", _over(limits.MAX_QUANTITY, HUGE_FLOAT), OUT_OF_RANGE),
    ("billing", "usage_quantity", "billing.usage_quantity", NEGATIVE_FLOAT, OUT_OF_RANGE),
    ("billing", "usage_quantity", "billing.usage_quantity", NON_FINITE, NOT_FINITE),
    ("billing", "lines", "billing.lines", _over(limits.MAX_COUNT, INT32), OUT_OF_RANGE),
    ("billing", "lines", "billing.lines", NEGATIVE32, OUT_OF_RANGE),
    ("billing", "days_overdue", "billing.days_overdue", _over(3650, INT32), OUT_OF_RANGE),
    ("subscription", "quantity", "subscription.quantity", _over(limits.MAX_COUNT, INT32), OUT_OF_RANGE),
    (
        "subscription",
        "monthly_fee_fen",
        "subscription.monthly_fee_fen",
        _over(limits.MAX_MONEY_FEN, INT64),
        OUT_OF_RANGE,
    ),
    ("subscription", "monthly_fee_fen", "subscription.monthly_fee_fen", NEGATIVE64, OUT_OF_RANGE),
    (
        "service_event",
        "resolution_hours",
        "service_event.resolution_hours",
        _over(limits.MAX_RESOLUTION_HOURS, HUGE_FLOAT),
        OUT_OF_RANGE,
    ),
    ("service_event", "resolution_hours", "service_event.resolution_hours", NON_FINITE, NOT_FINITE),
    ("service_event", "severity", "service_event.severity", _over(4, INT32), OUT_OF_RANGE),
    ("interaction", "duration_minutes", "interaction.duration_minutes", _over(10_080, INT32), OUT_OF_RANGE),
    ("competitor", "satisfaction", "competitor.satisfaction", _over(5, INT32), OUT_OF_RANGE),
    ("opportunity", "budget_fen", "opportunity.budget_fen", _over(limits.MAX_MONEY_FEN, INT64), OUT_OF_RANGE),
    ("opportunity", "budget_fen", "opportunity.budget_fen", NEGATIVE64, OUT_OF_RANGE),
    ("account", "employee_count", "account.employee_count", _over(10_000_000, INT32), OUT_OF_RANGE),
    ("cost", "amount_fen", "cost.amount_fen", _over(limits.MAX_MONEY_FEN, INT64), OUT_OF_RANGE),
    ("cost", "amount_fen", "cost.amount_fen", NEGATIVE64, OUT_OF_RANGE),
    (
        "account",
        "attributes",
        "account.attributes[ratio]",
        NON_FINITE.map(lambda v: {"ratio": {"number_value": v}}),
        NOT_FINITE,
    ),
    (
        "account",
        "attributes",
        "account.attributes[ratio]",
        _over(limits.MAX_QUANTITY, HUGE_FLOAT).map(lambda v: {"ratio": {"number_value": -v}}),
        OUT_OF_RANGE,
    ),
    (
        "service_event",
        "survey_answers",
        "service_event.survey_answers[q1]",
        _over(5, INT32).map(lambda v: {"q1": v}),
        OUT_OF_RANGE,
    ),
]
TIMES: list[Case] = [
    (
        "billing",
        None,
        "occurred_at",
        st.integers(-(2**63), bounds.EARLIEST_SECONDS - 1).map(lambda s: {"seconds": s}),
        OUT_OF_RANGE,
    ),
    (
        "contact",
        None,
        "occurred_at",
        st.integers(int(NOW) + 2 * 86_400, INT64).map(lambda s: {"seconds": s}),
        OUT_OF_RANGE,
    ),
]
TEXTS: list[Case] = [
    (kind, name, f"{kind}.{name}", _text(limit), TOO_LONG)
    for kind, name, limit in [
        ("account", "name", 200),
        ("account", "credit_code", 72),
        ("account", "parent_customer_id", 64),
        ("account", "industry", 100),
        ("account", "region", 100),
        ("account", "account_manager_id", 64),
        ("account", "time_zone", 64),
        ("contact", "person_id", 64),
        ("contact", "name", 100),
        ("contact", "role", 100),
        ("contact", "phone", 32),
        ("contact", "email", 254),
        ("contact", "preferred_hours", 100),
        ("billing", "usage_unit", 32),
        ("subscription", "product_code", 64),
        ("service_event", "summary", 2000),
        ("interaction", "recorded_by", 64),
        ("interaction", "person_id", 64),
        ("interaction", "notes", limits.NOTES_MAX),
        ("competitor", "competitor", 100),
        ("opportunity", "opportunity_id", 64),
        ("opportunity", "need", 2000),
        ("lifecycle", "detail", 2000),
        ("cost", "note", limits.COST_NOTE_MAX),
        ("cost", "reference", limits.COST_REFERENCE_MAX),
    ]
] + [
    (
        "account",
        "attributes",
        "account.attributes[segment]",
        _text(limits.ATTRIBUTE_TEXT_MAX).map(lambda t: {"segment": {"string_value": t}}),
        TOO_LONG,
    ),
    ("billing", None, "source_record_id", _text(128, "x"), TOO_LONG),
    ("billing", None, "customer_id", _text(64, "x"), TOO_LONG),
]
LISTS: list[Case] = [
    (
        "account",
        "attributes",
        "account.attributes",
        st.integers(limits.ATTRIBUTES_MAX + 1, 400).map(lambda n: {f"a{i}": {"bool_value": True} for i in range(n)}),
        TOO_MANY,
    ),
    (
        "service_event",
        "survey_answers",
        "service_event.survey_answers",
        st.integers(limits.SURVEY_ANSWERS_MAX + 1, 400).map(lambda n: {f"q{i}": 3 for i in range(n)}),
        TOO_MANY,
    ),
    (
        "opportunity",
        "decision_maker_ids",
        "opportunity.decision_maker_ids",
        st.integers(limits.DECISION_MAKERS_MAX + 1, 400).map(lambda n: ["P-1"] * n),
        TOO_MANY,
    ),
    (
        "competitor",
        "product_lines",
        "competitor.product_lines",
        st.integers(limits.PRODUCT_LINES_MAX + 1, 200).map(lambda n: ["PRODUCT_LINE_VOICE"] * n),
        TOO_MANY,
    ),
    (
        "opportunity",
        "product_lines",
        "opportunity.product_lines",
        st.integers(limits.PRODUCT_LINES_MAX + 1, 200).map(lambda n: ["PRODUCT_LINE_IOT"] * n),
        TOO_MANY,
    ),
]
_UNKNOWN = st.integers(min_value=50, max_value=INT32) | st.integers(-(2**31), -1)
ENUMS: list[Case] = [
    (kind, name, f"{kind}.{name}", _UNKNOWN, UNKNOWN_ENUM)
    for kind, name in [
        ("account", "tier"),
        ("contact", "level"),
        ("billing", "product_line"),
        ("billing", "payment_status"),
        ("subscription", "product_line"),
        ("subscription", "action"),
        ("service_event", "type"),
        ("service_event", "product_line"),
        ("interaction", "channel"),
        ("opportunity", "stage"),
        ("lifecycle", "action"),
        ("lifecycle", "reason"),
        ("cost", "product_line"),
        ("cost", "cost_type"),
    ]
] + [
    (
        "competitor",
        "product_lines",
        "competitor.product_lines[1]",
        _UNKNOWN.map(lambda v: ["PRODUCT_LINE_VOICE", v]),
        UNKNOWN_ENUM,
    ),
]
FULL_WIDTH_DIGITS: list[Case] = [
    ("billing", "month", "billing.month", _full_width("2024-05"), INVALID_FORMAT),
    ("cost", "month", "cost.month", _full_width("2024-05"), INVALID_FORMAT),
    ("account", "contract_start_month", "account.contract_start_month", _full_width("2023-01"), INVALID_FORMAT),
    ("competitor", "contract_end_month", "competitor.contract_end_month", _full_width("2027-03"), INVALID_FORMAT),
    ("opportunity", "expected_close_month", "opportunity.expected_close_month", _full_width("2026-09"), INVALID_FORMAT),
    ("contact", "phone", "contact.phone", _full_width("+8613800138000"), INVALID_FORMAT),
    ("contact", "preferred_hours", "contact.preferred_hours", _full_width("09:00-12:00"), INVALID_FORMAT),
]
ALL_CASES = NUMBERS + TIMES + TEXTS + LISTS + ENUMS + FULL_WIDTH_DIGITS


def test_cases_cover_every_kind_and_every_number_field() -> None:
    assert {kind for kind, *_ in ALL_CASES} == set(KINDS)
    numeric = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_DOUBLE}
    record = ingest_pb2.Record.DESCRIPTOR
    wanted = {
        f"{kind}.{fd.name}"
        for kind in KINDS
        for fd in record.fields_by_name[kind].message_type.fields
        if fd.type in numeric and not fd.is_repeated
    }
    covered = {path for _, _, path, _, _ in NUMBERS}
    assert wanted <= covered, wanted - covered


def _bad_record(case: Case, value: Any, record_id: str) -> dict[str, Any]:
    kind, name, path, _, _ = case
    record = raw(kind, record_id)
    if name is None:
        # A bad source_record_id keeps the run's id as its prefix: examples share a store.
        record[path] = record_id + value if path == "source_record_id" else value
    else:
        record[kind][name] = value
    return record


def _cases(cases: list[Case]) -> st.SearchStrategy[tuple[Case, Any]]:
    return st.one_of([st.tuples(st.just(c), c[3]) for c in cases])


def _assert_rejected(violations: list, path: str, reason: str) -> None:
    assert (path, reason) in [(v.field, v.reason) for v in violations], violations
    for v in violations:  # no violation echoes the bad value whole
        assert len(v.field) <= 200 and len(v.description) <= LONGEST_DESCRIPTION, v


@pytest.mark.parametrize("group", ["numbers", "times", "texts", "lists", "enums", "digits"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_bad_value_is_rejected_with_its_path_and_reason(group: str, data: st.DataObject) -> None:
    cases = {
        "numbers": NUMBERS,
        "times": TIMES,
        "texts": TEXTS,
        "lists": LISTS,
        "enums": ENUMS,
        "digits": FULL_WIDTH_DIGITS,
    }[group]
    case, value = data.draw(_cases(cases))
    checked = validate_record(_bad_record(case, value, "r-1"), NOW)
    assert checked.record is None
    _assert_rejected(checked.violations, case[2], case[4])


@pytest.mark.parametrize("kind", KINDS)
def test_the_bounds_themselves_are_accepted(kind: str) -> None:
    edges: dict[str, dict[str, Any]] = {
        "billing": {"fee_fen": limits.MAX_MONEY_FEN, "usage_quantity": limits.MAX_QUANTITY, "lines": limits.MAX_COUNT},
        "subscription": {"quantity": limits.MAX_COUNT, "monthly_fee_fen": limits.MAX_MONEY_FEN},
        "opportunity": {
            "budget_fen": limits.MAX_MONEY_FEN,
            "decision_maker_ids": [f"P-{i}" for i in range(limits.DECISION_MAKERS_MAX)],
        },
        "service_event": {"resolution_hours": limits.MAX_RESOLUTION_HOURS},
        "interaction": {"notes": "n" * limits.NOTES_MAX},
        "account": {
            "attributes": {f"a{i}": {"number_value": -limits.MAX_QUANTITY} for i in range(limits.ATTRIBUTES_MAX)}
        },
    }
    record = raw(kind)
    record[kind].update(edges.get(kind, {}))
    assert validate_record(record, NOW).violations == []


@pytest.mark.parametrize("zone", ["Asia", "Asia/", "../etc", "Mars/Olympus"])
def test_time_zone_names_that_are_not_zones_are_rejected_not_raised(zone: str) -> None:
    checked = validate_record(raw("account", time_zone=zone), NOW)
    assert [(v.field, v.reason) for v in checked.violations] == [("account.time_zone", "INVALID_VALUE")]


def test_long_map_keys_are_cut_in_field_paths() -> None:
    key = "K" * 100_000
    checked = validate_record(raw("account", attributes={key: {"bool_value": True}}), NOW)
    [violation] = checked.violations
    assert violation.field == "account.attributes[" + "K" * limits.KEY_SHOWN + "…]"


_DB_EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def store(db_url: str):
    migrate_store(db_url)
    db = Database(db_url)
    try:
        yield IngestStore(db)
    finally:
        db.dispose()


def _good(kind: str, record_id: str) -> dict[str, Any]:
    return raw(kind, record_id, customer_id="C-good")


@_DB_EXAMPLES
@given(data=st.data())
def test_mixed_batches_accept_good_records_once_and_quarantine_bad_ones(
    store: IngestStore, data: st.DataObject
) -> None:
    run = uuid.uuid4().hex[:12]  # examples share the database: keys of their own
    bad = data.draw(st.lists(_cases(ALL_CASES), min_size=1, max_size=8))
    good_kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8))
    goods = [_good(kind, f"{run}-g{i}") for i, kind in enumerate(good_kinds)]
    bads = [_bad_record(case, value, f"{run}-b{i}") for i, (case, value) in enumerate(bad)]
    order = data.draw(st.permutations(list(range(len(goods) + len(bads)))))
    batch = [(goods + bads)[i] for i in order]
    is_good = [i < len(goods) for i in order]
    before = store.stats()

    prepared, outcomes, last = ingest(store, batch)
    for item, outcome, good in zip(prepared, outcomes, is_good, strict=False):
        assert outcome.status == (ACCEPTED if good else REJECTED), item.violations
    for position, item in zip(order, prepared, strict=False):
        if position >= len(goods):
            case = bad[position - len(goods)][0]
            _assert_rejected(item.violations, case[2], case[4])
    accepted = [o.sequence for o in outcomes if o.status == ACCEPTED]
    assert accepted == list(range(before.last_sequence + 1, last + 1))

    # The same batch again changes nothing: goods are duplicates, bads reuse their entries.
    _, again, last_again = ingest(store, batch)
    assert last_again == last
    assert [o.status for o in again] == [DUPLICATE if g else REJECTED for g in is_good]
    assert [o.quarantine_id for o in again] == [o.quarantine_id for o in outcomes]
    after = store.stats()
    assert after.log_entries - before.log_entries == len(goods)
    assert after.quarantined - before.quarantined == len(bads)

    # Every quarantined record is kept small enough to list, and as received otherwise.
    entries = store.get_quarantine([o.quarantine_id for o in outcomes if o.quarantine_id])
    assert len(entries) == len(bads)
    for entry in entries.values():
        assert len(entry.record.encode()) < 200_000
        kept = json.loads(entry.record)
        assert kept["source_record_id"].startswith(run)
    _, total = store.list_quarantine(QuarantineFilter(source="crm"), None, 1000)
    assert total >= len(bads)


def test_oversized_values_are_cut_in_the_quarantine_and_still_fail_on_replay(store: IngestStore) -> None:
    record = raw(
        "account",
        "huge",
        name="名" * 3_900_000,
        attributes={f"k{i}" + "x" * 5000: {"string_value": "v" * 5000} for i in range(300)},
    )
    prepared, [outcome], _ = ingest(store, [record])
    assert outcome.status == REJECTED
    assert {(v.field, v.reason) for v in prepared[0].violations} == {
        ("account.name", TOO_LONG),
        ("account.attributes", TOO_MANY),
    }
    [entry] = store.get_quarantine([outcome.quarantine_id]).values()
    assert len(entry.record.encode()) < 1_000_000
    kept = json.loads(entry.record)
    assert len(kept["account"]["name"]) == limits.QUARANTINE_TEXT_KEEP
    assert len(kept["account"]["attributes"]) == limits.QUARANTINE_ITEMS_KEEP
    replayed, [again], _ = ingest(store, [kept], quarantine_ids=[outcome.quarantine_id])
    assert again.status == REJECTED
    assert {(v.field, v.reason) for v in replayed[0].violations} == {
        ("account.name", TOO_LONG),
        ("account.attributes", TOO_MANY),
    }
