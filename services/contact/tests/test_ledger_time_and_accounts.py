"""Time bounds of the ledger, unknown accounts and recent contacts (issues 12 and 21).

- ReserveContact only within the window around now; dates at the edges of the calendar
  (0001-01-01, 9999-12-31) answer INVALID_ARGUMENT on `contact.at`, never INTERNAL;
  hold_seconds out of range is refused, not silently changed;
- a planned contact cannot be confirmed before its moment (it would count at the wrong
  time: 3 SMS within seconds against a cap of 2), and `delivered_at` lies in
  [at - skew, now + skew];
- the rules decide at the very edges of the datetime range without overflowing;
- CheckContact, ReserveContact and GetNextBestOffer answer NOT_FOUND for an account profile
  does not know, and stay degraded (not NOT_FOUND) while profile is down;
- ListLedger(confirmed_only) gives the newest N confirmed contacts with their outcomes.
"""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from services.contact.domain import decide as decide_mod
from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    Channel,
    ContactRequest,
    CoolDown,
    CoolDownScope,
    OutcomeKind,
    Purpose,
    QuietHours,
    WindowUnit,
)
from services.contact.tests import factories as f
from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.status import field_violations
from telco360_runtime.timeconv import to_timestamp

UTC = dt.UTC
EDGES = (
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(1, 1, 2, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
)


def sms_policy(limit: int = 2) -> pb.ContactPolicy:
    return pb.ContactPolicy(
        policy_id="base",
        name="Base",
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms-7d",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[pb.CHANNEL_SMS],
                max_contacts=limit,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            ),
            pb.FrequencyCap(
                cap_id="month",
                scope=pb.CAP_SCOPE_ACCOUNT,
                max_contacts=10,
                window=pb.Window(kind=pb.WINDOW_KIND_CALENDAR, unit=pb.WINDOW_UNIT_MONTH, size=1),
            ),
        ],
        purpose_classes=[pb.PurposeClass(purpose=pb.PURPOSE_MARKETING, requires_consent=False)],
    )


def contact(customer_id: str = "C1", at: dt.datetime | None = None) -> pb.CheckContactRequest:
    request = pb.CheckContactRequest(customer_id=customer_id, channel=pb.CHANNEL_SMS, purpose=pb.PURPOSE_MARKETING)
    if at is not None:
        request.at.CopyFrom(to_timestamp(at))
    return request


@pytest.fixture
async def env(db_url):
    profile, profile_server, scoring, scoring_server = await start_peers()
    profile.accounts["C1"] = AccountFacts()
    node = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    await node.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy()))
    yield node, profile, profile_server
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def expect(call, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code, error.value.details()
    return error.value


async def test_reservations_only_within_the_window_around_now(env):
    node, _, _ = env
    now = dt.datetime.now(UTC)
    for at in (*EDGES, now + dt.timedelta(days=7, hours=1), now - dt.timedelta(days=93)):
        error = await expect(
            node.stub.ReserveContact(
                pb.ReserveContactRequest(idempotency_key=f"k{at.timestamp()}", contact=contact(at=at))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert "contact.at" in [v.field for v in field_violations(error)], at
    error = await expect(
        node.stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="neg", contact=contact(), hold_seconds=-5)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert [v.field for v in field_violations(error)] == ["hold_seconds"]
    # Inside the window: granted (past contacts being recorded, planned ones).
    for n, at in enumerate((now - dt.timedelta(days=30), now + dt.timedelta(days=6))):
        assert (
            await node.stub.ReserveContact(pb.ReserveContactRequest(idempotency_key=f"in{n}", contact=contact(at=at)))
        ).granted


async def test_a_planned_contact_is_not_confirmed_before_its_moment(env):
    node, _, _ = env
    now = dt.datetime.now(UTC)
    # One SMS now, then one planned six days ahead: granted (a 7-day window holds two).
    held = await node.stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="now", contact=contact()))
    await node.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=held.reservation.reservation_id))
    planned_at = now + dt.timedelta(days=6)
    planned = await node.stub.ReserveContact(
        pb.ReserveContactRequest(idempotency_key="planned", contact=contact(at=planned_at), hold_seconds=60)
    )
    assert planned.granted
    rid = planned.reservation.reservation_id
    # It holds its slot until hold_seconds after its moment, so it can be confirmed then.
    assert planned.reservation.expires_at.ToDatetime(UTC) > planned_at
    # Sending it now would count it six days later than it happened: refused.
    await expect(
        node.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=rid)), grpc.StatusCode.FAILED_PRECONDITION
    )
    for delivered in (dt.datetime(1, 1, 1, tzinfo=UTC), now, now + dt.timedelta(days=8)):
        error = await expect(
            node.stub.ConfirmContact(
                pb.ConfirmContactRequest(reservation_id=rid, delivered_at=to_timestamp(delivered))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert [v.field for v in field_violations(error)] == ["delivered_at"]
    ledger = await node.stub.ListLedger(pb.ListLedgerRequest(customer_id="C1"))
    states = {e.entry_id: e.reservation.state for e in ledger.entries}
    assert states[rid] == pb.RESERVATION_STATE_RESERVED


async def test_checks_at_the_edges_of_time_never_answer_internal(env):
    node, _, _ = env
    for at in EDGES:
        try:
            decision = await node.stub.CheckContact(contact(at=at))
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (at, error.details())
            assert "at" in [v.field for v in field_violations(error)]
        else:
            assert decision.allowed


@pytest.mark.parametrize("at", EDGES)
def test_rules_decide_at_the_edges_of_the_datetime_range(at):
    week, month = f.rolling(7), f.calendar(WindowUnit.MONTH)
    policy = f.policy(
        caps=(
            f.cap("w", 1, week),
            f.cap("m", 1, month),
            f.cap("d", 1, f.calendar(WindowUnit.DAY)),
            f.cap("h", 1, f.calendar(WindowUnit.HOUR)),
            f.cap("wk", 1, f.calendar(WindowUnit.WEEK)),
        ),
        cool_downs=(CoolDown("cd", frozenset({OutcomeKind.DECLINED}), CoolDownScope.ALL_COMMERCIAL, week),),
        quiet_hours=QuietHours(start=dt.time(21, 0), end=dt.time(8, 0)),
    )
    request = ContactRequest("C1", Channel.SMS, Purpose.MARKETING, at=at)
    history = AccountHistory(contacts=(f.contact(at, Channel.SMS),))
    for zone in ("Asia/Shanghai", "America/Los_Angeles", ""):
        decision = decide_mod.decide(request, at, at, [policy], history, AccountContext("C1", time_zone=zone))
        assert not decision.allowed  # the caps are full: blocked, with or without a next time
        assert decide_mod.lookback([policy]) > dt.timedelta(0)


async def test_unknown_accounts_answer_not_found(env):
    node, profile, profile_server = env
    await expect(node.stub.CheckContact(contact("NOBODY")), grpc.StatusCode.NOT_FOUND)
    await expect(
        node.stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="x", contact=contact("NOBODY"))),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect(
        node.stub.GetNextBestOffer(pb.GetNextBestOfferRequest(customer_id="NOBODY", channel=pb.CHANNEL_SMS)),
        grpc.StatusCode.NOT_FOUND,
    )
    # Known a moment later: the "unknown" answer was not cached.
    profile.accounts["NOBODY"] = AccountFacts()
    assert (await node.stub.CheckContact(contact("NOBODY"))).allowed
    # Profile down: an account contact has never seen cannot be told from an unknown one;
    # the answer stays the documented degraded one.
    await profile_server.stop()
    decision = await node.stub.CheckContact(contact("NEVER-SEEN"))
    assert decision.degraded


async def test_recent_contacts_are_the_newest_confirmed_with_outcomes(env):
    node, _, _ = env
    now = dt.datetime.now(UTC).replace(microsecond=0)
    await node.stub.UpdatePolicy(pb.UpdatePolicyRequest(policy=sms_policy(50), expected_version=1))
    confirmed = []
    for n in range(3):  # three old confirmed contacts
        at = now - dt.timedelta(days=10 - n)
        held = await node.stub.ReserveContact(pb.ReserveContactRequest(idempotency_key=f"c{n}", contact=contact(at=at)))
        await node.stub.ConfirmContact(
            pb.ConfirmContactRequest(reservation_id=held.reservation.reservation_id, delivered_at=to_timestamp(at))
        )
        confirmed.append(held.reservation.reservation_id)
    for n in range(5):  # newer reservations never confirmed: they used to fill the page
        await node.stub.ReserveContact(
            pb.ReserveContactRequest(idempotency_key=f"open{n}", contact=contact(at=now - dt.timedelta(hours=n)))
        )
    await node.stub.RecordOutcome(
        pb.RecordOutcomeRequest(
            outcome=pb.Outcome(
                customer_id="C1",
                kind=pb.OUTCOME_KIND_NO_ANSWER,
                channel=pb.CHANNEL_SMS,
                reservation_id=confirmed[2],
                occurred_at=to_timestamp(now - dt.timedelta(days=8)),
            )
        )
    )
    page = await node.stub.ListLedger(
        pb.ListLedgerRequest(customer_id="C1", confirmed_only=True, page=common_pb2.PageRequest(page_size=2))
    )
    assert [e.entry_id for e in page.entries] == [confirmed[2], confirmed[1]]
    assert [e.reservation.outcome for e in page.entries] == [pb.OUTCOME_KIND_NO_ANSWER, pb.OUTCOME_KIND_UNSPECIFIED]
