"""The ledger over real gRPC on SQLite and PostgreSQL: reserve up to the cap, idempotent
retries, cancel and expiry giving the slot back, confirmation, policy changes effective at
once, opt-outs and consent through the API, audited adjustments, stored traces."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.status import field_violations

SMS = pb.CHANNEL_SMS
MARKETING = pb.PURPOSE_MARKETING


def sms_policy(limit: int = 2, policy_id: str = "base") -> pb.ContactPolicy:
    return pb.ContactPolicy(
        policy_id=policy_id,
        name="Base policy",
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms-7d",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[SMS],
                max_contacts=limit,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            )
        ],
        purpose_classes=[pb.PurposeClass(purpose=MARKETING, requires_consent=False)],
    )


def contact(customer_id: str = "C1", channel: int = SMS, purpose: int = MARKETING, **kw) -> pb.CheckContactRequest:
    return pb.CheckContactRequest(customer_id=customer_id, channel=channel, purpose=purpose, **kw)


@pytest.fixture
async def env(db_url):
    profile, profile_server, scoring, scoring_server = await start_peers()
    profile.accounts["C1"] = AccountFacts()
    profile.accounts["C2"] = AccountFacts()
    profile.accounts["C9"] = AccountFacts(time_zone="")  # known, but profile has no time zone for it
    node = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    yield node
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def reserve(stub, key: str, hold: int = 0, **kw) -> pb.ReserveContactResponse:
    return await stub.ReserveContact(
        pb.ReserveContactRequest(idempotency_key=key, contact=contact(**kw), hold_seconds=hold)
    )


async def test_reserve_up_to_the_cap_then_blocked_with_numbers(env):
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(2)))
    first = await reserve(env.stub, "k1")
    second = await reserve(env.stub, "k2")
    third = await reserve(env.stub, "k3")
    assert first.granted and second.granted and not third.granted
    (block,) = third.decision.blocking
    assert block.kind == pb.RULE_KIND_ACCOUNT_CAP
    assert (block.count, block.limit) == (2, 2)
    assert "2 of 2 SMS marketing contacts in rolling 7 days" in block.detail
    assert third.decision.HasField("next_allowed_at")
    assert third.decision.policy_versions == ["base@1"]
    trace = await env.stub.GetDecisionTrace(pb.GetDecisionTraceRequest(decision_id=third.decision.decision_id))
    assert not trace.allowed and trace.blocking[0].detail == block.detail
    listed = await env.stub.ListDecisions(pb.ListDecisionsRequest(customer_id="C1", blocked_only=True))
    assert [d.decision_id for d in listed.decisions] == [third.decision.decision_id]
    # Another account is unaffected.
    assert (await reserve(env.stub, "k4", customer_id="C2")).granted


async def test_idempotent_reserve(env):
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(1)))
    first = await reserve(env.stub, "same")
    again = await reserve(env.stub, "same")
    assert first.granted and again.granted and again.replayed and not first.replayed
    assert again.reservation.reservation_id == first.reservation.reservation_id
    assert again.decision.decision_id == first.decision.decision_id
    # The retry did not take a second slot: a new key is blocked by the cap of 1.
    denied = await reserve(env.stub, "other")
    assert not denied.granted
    assert (await reserve(env.stub, "other")).replayed
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await reserve(env.stub, "same", channel=pb.CHANNEL_EMAIL)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancel_gives_the_slot_back_and_confirm_keeps_it(env):
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(1)))
    held = await reserve(env.stub, "a")
    assert not (await reserve(env.stub, "b")).granted
    cancelled = await env.stub.CancelContact(
        pb.CancelContactRequest(reservation_id=held.reservation.reservation_id, reason="sms gateway error")
    )
    assert cancelled.state == pb.RESERVATION_STATE_CANCELLED
    again = await env.stub.CancelContact(
        pb.CancelContactRequest(reservation_id=held.reservation.reservation_id, reason="retry")
    )
    assert again.state == pb.RESERVATION_STATE_CANCELLED and again.cancel_reason == "sms gateway error"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=held.reservation.reservation_id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    taken = await reserve(env.stub, "c")
    assert taken.granted
    confirmed = await env.stub.ConfirmContact(
        pb.ConfirmContactRequest(reservation_id=taken.reservation.reservation_id, external_ref="msg-1")
    )
    assert confirmed.state == pb.RESERVATION_STATE_CONFIRMED and confirmed.external_ref == "msg-1"
    assert (
        await env.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=taken.reservation.reservation_id))
    ).state == pb.RESERVATION_STATE_CONFIRMED
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.CancelContact(
            pb.CancelContactRequest(reservation_id=taken.reservation.reservation_id, reason="x")
        )
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert not (await reserve(env.stub, "d")).granted


@pytest.fixture
async def clocked_env(db_url):
    """Like `env`, on a clock the test moves: `(node, now)`, where `now[0]` is the service's time."""
    now = [dt.datetime.now(dt.UTC)]
    profile, profile_server, _, scoring_server = await start_peers()
    profile.accounts["C1"] = AccountFacts()
    peers = (f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    node = await start_contact(db_url, *peers, clock=lambda: now[0])
    yield node, now
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def test_expiry_of_an_unconfirmed_reservation_gives_the_slot_back(clocked_env):
    env, now = clocked_env  # the 1 s hold runs out on the service's clock, not the wall clock
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(1)))
    held = await reserve(env.stub, "a", hold=1)
    assert held.granted
    assert not (await reserve(env.stub, "b")).granted
    now[0] += dt.timedelta(seconds=1.2)
    assert (await reserve(env.stub, "c")).granted
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=held.reservation.reservation_id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    ledger = await env.stub.ListLedger(pb.ListLedgerRequest(customer_id="C1"))
    states = sorted(e.reservation.state for e in ledger.entries)
    assert states == sorted([pb.RESERVATION_STATE_EXPIRED, pb.RESERVATION_STATE_RESERVED])


async def test_policy_change_takes_effect_at_once(env):
    created = await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(1)))
    assert created.version == 1
    assert (await reserve(env.stub, "a")).granted
    assert not (await env.stub.CheckContact(contact())).allowed
    updated = await env.stub.UpdatePolicy(pb.UpdatePolicyRequest(policy=sms_policy(3), expected_version=1))
    assert updated.version == 2
    decision = await env.stub.CheckContact(contact())
    assert decision.allowed and decision.policy_versions == ["base@2"]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.UpdatePolicy(pb.UpdatePolicyRequest(policy=sms_policy(3), expected_version=1))
    assert error.value.code() == grpc.StatusCode.ABORTED
    old = await env.stub.GetPolicy(pb.GetPolicyRequest(policy_id="base", version=1))
    assert old.caps[0].max_contacts == 1


async def test_invalid_policy_names_every_field(env):
    bad = sms_policy(2)
    bad.caps[0].window.size = 0
    bad.caps[0].purposes.append(pb.PURPOSE_SERVICE)
    bad.fallback_time_zones.append("Mars/Olympus")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=bad))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in field_violations(error.value)}
    assert {"policy.caps[0].window.size", "policy.caps[0].purposes", "policy.fallback_time_zones[0]"} <= fields


async def test_opt_out_and_consent_through_the_api(env):
    policy = sms_policy(5)
    del policy.purpose_classes[:]
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy))
    blocked = await env.stub.CheckContact(contact())
    assert blocked.blocking[0].kind == pb.RULE_KIND_CONSENT and blocked.never_allowed
    await env.stub.SetConsent(
        pb.SetConsentRequest(consent=pb.Consent(customer_id="C1", granted=True, source="contract clause 7"))
    )
    assert (await env.stub.CheckContact(contact())).allowed
    entry = await env.stub.SetOptOut(
        pb.SetOptOutRequest(
            opt_out=pb.OptOut(
                customer_id="C1", kind=pb.OPT_OUT_KIND_DO_NOT_DISTURB, reason="audit", source="crm", channels=[SMS]
            )
        )
    )
    decision = await env.stub.CheckContact(contact())
    assert [b.rule_id for b in decision.blocking] == [entry.opt_out_id]
    assert (await env.stub.CheckContact(contact(channel=pb.CHANNEL_INBOUND_OFFER))).allowed
    listed = await env.stub.ListOptOuts(pb.ListOptOutsRequest(customer_id="C1"))
    assert [o.opt_out_id for o in listed.opt_outs] == [entry.opt_out_id]
    await env.stub.RemoveOptOut(pb.RemoveOptOutRequest(opt_out_id=entry.opt_out_id, reason="audit over"))
    assert (await env.stub.CheckContact(contact())).allowed
    assert not (await env.stub.ListOptOuts(pb.ListOptOutsRequest(customer_id="C1"))).opt_outs
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.SetOptOut(
            pb.SetOptOutRequest(
                opt_out=pb.OptOut(
                    customer_id="C1",
                    kind=pb.OPT_OUT_KIND_OPT_OUT,
                    reason="x",
                    source="y",
                    purposes=[pb.PURPOSE_REGULATORY],
                )
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_audited_counter_adjustment(env):
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(2)))
    entry = await env.stub.AdjustCounter(
        pb.AdjustCounterRequest(scope=contact(), delta=2, reason="SMS sent by legacy system")
    )
    assert entry.kind == pb.LEDGER_ENTRY_KIND_ADJUSTMENT and entry.actor.startswith("anonymous (admin), request ")
    assert not (await env.stub.CheckContact(contact())).allowed
    await env.stub.AdjustCounter(pb.AdjustCounterRequest(scope=contact(), delta=-1, reason="one bounced"))
    assert (await env.stub.CheckContact(contact())).allowed
    ledger = await env.stub.ListLedger(pb.ListLedgerRequest(customer_id="C1"))
    assert sorted(e.delta for e in ledger.entries) == [-1, 2]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await env.stub.AdjustCounter(pb.AdjustCounterRequest(scope=contact(), delta=1))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_audit_records_name_the_caller_from_the_token(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    profile.accounts["C1"] = AccountFacts()
    node = await start_contact(
        db_url,
        f"127.0.0.1:{profile_server.port}",
        f"127.0.0.1:{scoring_server.port}",
        auth_tokens={"t-alice": "admin:alice", "t-bob": "call_center:bob"},
    )
    alice = (("authorization", "Bearer t-alice"), ("x-request-id", "req-42"))
    try:
        created = await node.stub.CreatePolicy(pb.CreatePolicyRequest(policy=sms_policy(2)), metadata=alice)
        assert created.created_by == "alice (admin)"
        entry = await node.stub.AdjustCounter(
            pb.AdjustCounterRequest(scope=contact(), delta=1, reason="legacy SMS"), metadata=alice
        )
        assert entry.actor == "alice (admin), request req-42"
        (listed,) = (await node.stub.ListLedger(pb.ListLedgerRequest(customer_id="C1"), metadata=alice)).entries
        assert listed.actor == entry.actor
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await node.stub.AdjustCounter(
                pb.AdjustCounterRequest(scope=contact(), delta=1, reason="x"),
                metadata=(("authorization", "Bearer t-bob"),),
            )
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await node.close()
        await profile_server.stop()
        await scoring_server.stop()


async def test_unknown_time_zone_from_profile_is_conservative(env):
    policy = sms_policy(5)
    policy.quiet_hours.start, policy.quiet_hours.end = "00:00", "23:59"
    await env.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy))
    # C9's time zone is unknown to profile, and the policy has no fallback zones: not contacted.
    decision = await env.stub.CheckContact(contact(customer_id="C9"))
    assert not decision.allowed
    assert decision.blocking[0].kind == pb.RULE_KIND_UNKNOWN_TIME_ZONE
