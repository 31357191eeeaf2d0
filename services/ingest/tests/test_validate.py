"""Unit tests of validation and normalisation (plain Python, no gRPC, no database)."""

from __future__ import annotations

import pytest

from services.ingest.domain import codes, formats
from services.ingest.domain.hashing import canonical_json, payload_hash
from services.ingest.domain.records import KINDS
from services.ingest.domain.validate import validate_record
from services.ingest.domain.violations import (
    CHECKSUM,
    INCONSISTENT,
    INVALID_FORMAT,
    INVALID_VALUE,
    NOT_FINITE,
    OUT_OF_RANGE,
    REQUIRED,
    TOO_LONG,
    UNKNOWN_ENUM,
)
from services.ingest.tests.samples import NOW, PAYLOADS, VALID_CREDIT_CODE, raw


@pytest.mark.parametrize("kind", KINDS)
def test_every_record_kind_is_accepted(kind: str) -> None:
    checked = validate_record(raw(kind), NOW)
    assert checked.violations == []
    assert checked.record is not None and kind in checked.record
    assert checked.normalisations == []


def test_samples_cover_every_kind() -> None:
    assert set(PAYLOADS) == set(KINDS)


def _fields(record: dict) -> list[tuple[str, str]]:
    return [(v.field, v.reason) for v in validate_record(record, NOW).violations]


def _with(record: dict, **top: object) -> dict:
    record.update(top)
    return record


FUTURE_MONTH = "2999-01"
CASES = [
    # (record, field, reason)
    (_with(raw("billing"), source=""), "source", REQUIRED),
    (_with(raw("billing"), source="CRM System"), "source", INVALID_FORMAT),
    (_with(raw("billing"), source_record_id=""), "source_record_id", REQUIRED),
    (_with(raw("billing"), source_record_id="x" * 129), "source_record_id", TOO_LONG),
    (_with(raw("billing"), source_record_id="a\nb"), "source_record_id", INVALID_FORMAT),
    (_with(raw("billing"), customer_id=""), "customer_id", REQUIRED),
    (_with(raw("billing"), customer_id="C 1/2"), "customer_id", INVALID_FORMAT),
    ({k: v for k, v in raw("billing").items() if k != "occurred_at"}, "occurred_at", REQUIRED),
    (_with(raw("billing"), occurred_at={"seconds": 100}), "occurred_at", OUT_OF_RANGE),
    (_with(raw("billing"), occurred_at={"seconds": int(NOW) + 3 * 86_400}), "occurred_at", OUT_OF_RANGE),
    (_with(raw("billing"), occurred_at={"seconds": int(NOW), "nanos": -1}), "occurred_at", INVALID_FORMAT),
    ({k: v for k, v in raw("billing").items() if k != "billing"}, "payload", REQUIRED),
    (_with(raw("billing"), contact=PAYLOADS["contact"]), "payload", INCONSISTENT),
    # account
    (raw("account", name="  "), "account.name", REQUIRED),
    (raw("account", name="n" * 201), "account.name", TOO_LONG),
    (raw("account", credit_code="91350100M000100Y44"), "account.credit_code", CHECKSUM),
    (raw("account", credit_code="91350100M000100I43"), "account.credit_code", INVALID_FORMAT),
    (raw("account", credit_code="123"), "account.credit_code", INVALID_FORMAT),
    (raw("account", parent_customer_id="C-001"), "account.parent_customer_id", INCONSISTENT),
    (raw("account", industry="space mining on mars"), "account.industry", INVALID_VALUE),
    (raw("account", region=None), "account.region", REQUIRED),
    (raw("account", tier=42), "account.tier", UNKNOWN_ENUM),
    (raw("account", contract_start_month="2023-13"), "account.contract_start_month", INVALID_FORMAT),
    (raw("account", contract_end_month="2022-12"), "account.contract_end_month", INCONSISTENT),
    (raw("account", employee_count=-5), "account.employee_count", OUT_OF_RANGE),
    (raw("account", time_zone="Mars/Olympus"), "account.time_zone", INVALID_VALUE),
    (raw("account", attributes={"Bad Name": {"string_value": "x"}}), "account.attributes[Bad Name]", INVALID_FORMAT),
    (raw("account", attributes={"empty": {}}), "account.attributes[empty]", REQUIRED),
    (raw("account", attributes={"ratio": {"number_value": float("nan")}}), "account.attributes[ratio]", NOT_FINITE),
    # contact
    (raw("contact", person_id=None), "contact.person_id", REQUIRED),
    (raw("contact", name=None), "contact.name", REQUIRED),
    (raw("contact", level=None), "contact.level", REQUIRED),
    (raw("contact", level="CONTACT_LEVEL_UNSPECIFIED"), "contact.level", REQUIRED),
    (raw("contact", phone="12345"), "contact.phone", INVALID_FORMAT),
    (raw("contact", phone="+86 12345"), "contact.phone", INVALID_FORMAT),
    (raw("contact", email="li.wei@"), "contact.email", INVALID_FORMAT),
    (raw("contact", preferred_hours="9-12"), "contact.preferred_hours", INVALID_FORMAT),
    (raw("contact", preferred_hours="12:00-09:00"), "contact.preferred_hours", INVALID_FORMAT),
    # billing
    (raw("billing", month=None), "billing.month", REQUIRED),
    (raw("billing", month="2024/05"), "billing.month", INVALID_FORMAT),
    (raw("billing", month="2024-00"), "billing.month", INVALID_FORMAT),
    (raw("billing", month=FUTURE_MONTH), "billing.month", OUT_OF_RANGE),
    (raw("billing", month="1989-12"), "billing.month", OUT_OF_RANGE),
    (raw("billing", product_line=None), "billing.product_line", REQUIRED),
    (raw("billing", product_line=99), "billing.product_line", UNKNOWN_ENUM),
    (raw("billing", fee_fen=-1), "billing.fee_fen", OUT_OF_RANGE),
    (raw("billing", usage_quantity=-0.5), "billing.usage_quantity", OUT_OF_RANGE),
    (raw("billing", usage_quantity=float("inf")), "billing.usage_quantity", NOT_FINITE),
    (raw("billing", lines=-1), "billing.lines", OUT_OF_RANGE),
    (raw("billing", days_overdue=4000), "billing.days_overdue", OUT_OF_RANGE),
    (raw("billing", payment_status="PAYMENT_STATUS_PAID"), "billing.days_overdue", INCONSISTENT),
    (raw("billing", usage_unit="u" * 33), "billing.usage_unit", TOO_LONG),
    # subscription
    (raw("subscription", product_code=None), "subscription.product_code", REQUIRED),
    (raw("subscription", action=None), "subscription.action", REQUIRED),
    (raw("subscription", product_line=None), "subscription.product_line", REQUIRED),
    (raw("subscription", quantity=-2), "subscription.quantity", OUT_OF_RANGE),
    (raw("subscription", monthly_fee_fen=-2), "subscription.monthly_fee_fen", OUT_OF_RANGE),
    # service events
    (raw("service_event", type=None), "service_event.type", REQUIRED),
    (raw("service_event", survey_answers=None), "service_event.survey_answers", REQUIRED),
    (raw("service_event", survey_answers={"q1": 6}), "service_event.survey_answers[q1]", OUT_OF_RANGE),
    (raw("service_event", survey_answers={"q1": 0}), "service_event.survey_answers[q1]", OUT_OF_RANGE),
    (raw("service_event", type="SERVICE_EVENT_TYPE_COMPLAINT"), "service_event.survey_answers", INCONSISTENT),
    (
        raw("service_event", type="SERVICE_EVENT_TYPE_COMPLAINT", survey_answers=None, severity=5),
        "service_event.severity",
        OUT_OF_RANGE,
    ),
    (raw("service_event", resolution_hours=-1.0), "service_event.resolution_hours", OUT_OF_RANGE),
    # interactions
    (raw("interaction", channel=None), "interaction.channel", REQUIRED),
    (raw("interaction", recorded_by=None), "interaction.recorded_by", REQUIRED),
    (raw("interaction", duration_minutes=-3), "interaction.duration_minutes", OUT_OF_RANGE),
    # competitor intelligence
    (raw("competitor", competitor=None), "competitor.competitor", REQUIRED),
    (raw("competitor", satisfaction=6), "competitor.satisfaction", OUT_OF_RANGE),
    (raw("competitor", product_lines=["PRODUCT_LINE_UNSPECIFIED"]), "competitor.product_lines[0]", INVALID_VALUE),
    (raw("competitor", contract_end_month="soon"), "competitor.contract_end_month", INVALID_FORMAT),
    # opportunities
    (raw("opportunity", opportunity_id=None), "opportunity.opportunity_id", REQUIRED),
    (raw("opportunity", need=None), "opportunity.need", REQUIRED),
    (raw("opportunity", stage=None), "opportunity.stage", REQUIRED),
    (raw("opportunity", budget_fen=-100), "opportunity.budget_fen", OUT_OF_RANGE),
    (raw("opportunity", decision_maker_ids=["ok", "not ok!"]), "opportunity.decision_maker_ids[1]", INVALID_FORMAT),
    (raw("opportunity", product_lines=["PRODUCT_LINE_IOT", 77]), "opportunity.product_lines[1]", UNKNOWN_ENUM),
    # lifecycle
    (raw("lifecycle", action=None), "lifecycle.action", REQUIRED),
    (raw("lifecycle", reason=None), "lifecycle.reason", REQUIRED),
    (raw("lifecycle", action="LIFECYCLE_ACTION_REACTIVATED"), "lifecycle.reason", INCONSISTENT),
]


@pytest.mark.parametrize(("record", "field", "reason"), CASES, ids=[f"{c[1]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_rejects_with_the_field_named(record: dict, field: str, reason: str) -> None:
    checked = validate_record(record, NOW)
    assert checked.record is None
    assert (field, reason) in _fields(record), checked.violations


def test_all_violations_are_reported_at_once() -> None:
    record = raw("billing", fee_fen=-1, month=FUTURE_MONTH, lines=-1)
    record["customer_id"] = ""
    fields = {f for f, _ in _fields(record)}
    assert fields == {"customer_id", "billing.fee_fen", "billing.month", "billing.lines"}


def test_current_month_and_reactivation_without_reason_are_fine() -> None:
    from services.ingest.tests.samples import THIS_MONTH

    assert validate_record(raw("billing", month=THIS_MONTH), NOW).ok
    assert validate_record(raw("lifecycle", action="LIFECYCLE_ACTION_REACTIVATED", reason=None), NOW).ok


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("(010) 6552 9988", "+861065529988"),
        ("0755-8888 8888", "+8675588888888"),
        ("400-810-0000", "+864008100000"),
        ("0044 20 7946 0958", "+442079460958"),
        ("＋86 13800138000", "+8613800138000"),
    ],
)
def test_phones_are_normalised_to_e164(given: str, expected: str) -> None:
    assert formats.normalise_phone(given) == expected
    checked = validate_record(raw("contact", phone=given), NOW)
    assert checked.record is not None and checked.record["contact"]["phone"] == expected
    assert [n.field for n in checked.normalisations] == ["contact.phone"]


@pytest.mark.parametrize("bad", ["12345", "1380013800", "+0123456789", "abc", "+86 999", "138001380001"])
def test_implausible_phones_are_rejected(bad: str) -> None:
    assert formats.normalise_phone(bad) is None


def test_email_is_lower_cased_and_trimmed() -> None:
    checked = validate_record(raw("contact", email="  Li.Wei@Example.COM "), NOW)
    assert checked.record is not None
    assert checked.record["contact"]["email"] == "li.wei@example.com"
    assert [n.field for n in checked.normalisations] == ["contact.email"]


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("government", "GOV"),
        ("Public_Sector", "GOV"),
        ("政府", "GOV"),
        ("school", "EDU"),
        ("Bank", "FINANCE"),
        ("医院", "HEALTH"),
        ("e-commerce", "RETAIL"),
        ("物流", "LOGISTICS"),
    ],
)
def test_industry_synonyms_are_normalised(given: str, code: str) -> None:
    checked = validate_record(raw("account", industry=given), NOW)
    assert checked.record is not None and checked.record["account"]["industry"] == code
    assert [n.field for n in checked.normalisations] == ["account.industry"]


def test_every_industry_code_and_synonym_maps_into_the_list() -> None:
    for code in codes.INDUSTRY_CODES:
        assert codes.normalise_industry(code) == code
    for code, words in codes.industry_synonyms().items():
        assert code in codes.INDUSTRY_CODES
        for word in words:
            assert codes.normalise_industry(word) == code, word


def test_credit_code_check_character() -> None:
    assert formats.check_credit_code(VALID_CREDIT_CODE) is None
    body = VALID_CREDIT_CODE[:17]
    assert formats.credit_code_check_char(body) == VALID_CREDIT_CODE[17]
    checked = validate_record(raw("account", credit_code=VALID_CREDIT_CODE.lower()), NOW)
    assert checked.record is not None
    assert checked.record["account"]["credit_code"] == VALID_CREDIT_CODE


def test_canonical_form_ignores_field_order_and_defaults() -> None:
    a = validate_record(raw("billing"), NOW).record
    b_raw = raw("billing")
    b_raw["billing"] = dict(reversed(list(b_raw["billing"].items())))
    b = validate_record(b_raw, NOW).record
    assert canonical_json(a) == canonical_json(b)
    assert payload_hash(canonical_json(a)) == payload_hash(canonical_json(b))
    changed = validate_record(raw("billing", fee_fen=1), NOW).record
    assert payload_hash(canonical_json(changed)) != payload_hash(canonical_json(a))


def test_enum_names_used_by_rules_exist_in_the_contract() -> None:
    from services.ingest.domain import records
    from telco360.ingest.v1 import ingest_pb2

    assert ingest_pb2.PaymentStatus.Value(records.PAYMENT_OVERDUE)
    assert ingest_pb2.PaymentStatus.Value(records.PAYMENT_WRITTEN_OFF)
    assert ingest_pb2.ServiceEventType.Value(records.SURVEY)
    assert ingest_pb2.LifecycleAction.Value(records.TERMINATED)
    oneof = ingest_pb2.Record.DESCRIPTOR.oneofs_by_name["payload"]
    assert [f.name for f in oneof.fields] == list(KINDS)
