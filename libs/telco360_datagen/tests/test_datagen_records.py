"""The generated records: determinism, coverage of the contract, validity, ordering."""

from __future__ import annotations

import collections

import pytest

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import credit_code, generate
from telco360_datagen.tests.helpers import MOBILE, mobile_digits, problems


@pytest.fixture(scope="module")
def base():
    return generate(400, 24, seed=11)


@pytest.fixture(scope="module")
def records(base):
    return list(base.records())


def test_same_seed_gives_same_records_and_other_seed_differs() -> None:
    first = [r.SerializeToString(deterministic=True) for r in generate(40, 8, seed=5).records()]
    again = [r.SerializeToString(deterministic=True) for r in generate(40, 8, seed=5).records()]
    other = [r.SerializeToString(deterministic=True) for r in generate(40, 8, seed=6).records()]
    assert first == again
    assert first != other


def test_iterating_twice_yields_the_same_records(base) -> None:
    head = [r.SerializeToString(deterministic=True) for _, r in zip(range(2000), base.records(), strict=False)]
    again = [r.SerializeToString(deterministic=True) for _, r in zip(range(2000), base.records(), strict=False)]
    assert head == again


def test_every_record_type_and_enum_value_is_present(records) -> None:
    kinds = collections.Counter(r.WhichOneof("payload") for r in records)
    assert set(kinds) == {
        "account",
        "contact",
        "billing",
        "subscription",
        "service_event",
        "interaction",
        "competitor",
        "opportunity",
        "lifecycle",
    }
    assert {r.service_event.type for r in records if r.HasField("service_event")} == {1, 2, 3, 4}
    assert {r.interaction.channel for r in records if r.HasField("interaction")} == set(range(1, 8))
    assert {r.billing.product_line for r in records if r.HasField("billing")} == set(range(1, 8))
    assert {r.subscription.action for r in records if r.HasField("subscription")} == {1, 2, 3}
    assert {r.lifecycle.action for r in records if r.HasField("lifecycle")} == {1, 2}
    assert {r.contact.level for r in records if r.HasField("contact")} == {1, 2, 3, 4}
    assert {r.opportunity.stage for r in records if r.HasField("opportunity")} == set(range(1, 7))
    assert {r.billing.payment_status for r in records if r.HasField("billing")} >= {1, 2, 3}
    assert {r.account.tier for r in records if r.HasField("account")} == set(range(1, 7))


def test_records_are_in_ingest_order_inside_the_period(base, records) -> None:
    times = [r.occurred_at.seconds for r in records]
    assert times == sorted(times)
    months = {r.occurred_at.ToDatetime().strftime("%Y-%m") for r in records}
    assert months <= set(base.months)
    assert {r.billing.month for r in records if r.HasField("billing")} == set(base.months)


def test_no_record_breaks_a_validation_rule_when_no_bad_records_are_asked(base, records) -> None:
    assert [r.source_record_id for r in records if problems(r)] == []
    assert base.truth.bad_records == {}
    for r in records:
        if r.HasField("billing") and r.billing.days_overdue:
            assert r.billing.payment_status in (
                ingest_pb2.PAYMENT_STATUS_OVERDUE,
                ingest_pb2.PAYMENT_STATUS_WRITTEN_OFF,
            )


def test_record_identities_are_unique_except_crm_versions(records) -> None:
    ids = collections.Counter((r.source, r.source_record_id) for r in records)
    repeated = {key for key, n in ids.items() if n > 1}
    assert all(srid.startswith(("ACC-", "CON-")) for _, srid in repeated)


def test_master_data_is_valid_and_realistic(base, records) -> None:
    masters = {r.customer_id: r.account for r in records if r.HasField("account")}
    assert set(masters) == set(base.truth.accounts)
    codes = [m.credit_code for m in masters.values()]
    assert all(credit_code.is_valid(c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert len({m.name for m in masters.values()}) == len(masters)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in m.name) for m in masters.values())
    assert all(m.attributes["name_en"].string_value.isascii() for m in masters.values())
    kinds = {m.attributes[k].WhichOneof("kind") for m in masters.values() for k in m.attributes}
    assert kinds == {"string_value", "number_value", "bool_value"}
    for cid, m in masters.items():
        assert "/" in m.region
        assert m.contract_start_month <= m.contract_end_month
        assert m.parent_customer_id != cid
        if m.parent_customer_id:
            assert m.parent_customer_id in masters


def test_contacts_have_valid_mobiles_and_emails(records) -> None:
    contacts = [r.contact for r in records if r.HasField("contact")]
    phones = [c.phone for c in contacts if c.phone]
    assert len(phones) > 0.8 * len(contacts)
    assert all(MOBILE.match(mobile_digits(p)) for p in phones)
    assert all("@" in c.email and c.email == c.email.lower() for c in contacts if c.email)


def test_truth_totals_match_the_billing_records(base, records) -> None:
    totals: dict[tuple[str, str], int] = collections.Counter()
    for r in records:
        if r.HasField("billing"):
            totals[(r.customer_id, r.billing.month)] += r.billing.fee_fen
    expected = {(cid, m): v for cid, by_month in base.truth.monthly_totals.items() for m, v in by_month.items()}
    assert dict(totals) == expected


def test_terminations_match_truth_and_billing_stops(base, records) -> None:
    terminated = {
        r.customer_id: r.occurred_at.ToDatetime().strftime("%Y-%m")
        for r in records
        if r.HasField("lifecycle") and r.lifecycle.action == ingest_pb2.LIFECYCLE_ACTION_TERMINATED
    }
    assert terminated == base.truth.churned()
    assert all(
        r.lifecycle.reason
        for r in records
        if r.HasField("lifecycle") and r.lifecycle.action == ingest_pb2.LIFECYCLE_ACTION_TERMINATED
    )
    for r in records:
        if r.HasField("billing"):
            assert base.truth.is_customer(r.customer_id, r.billing.month)
