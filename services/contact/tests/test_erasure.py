"""Erasure and history retention in contact (issue #15), through real servers on SQLite and PostgreSQL.

An account with a full history (next-best-offer answers, checks, reservations, outcomes,
opt-outs, consent, an adjustment, a campaign proposal; persons and free text naming a
person in every field that takes it) is erased with ApplyErasure; then every text and JSON
column of every table is scanned for the account's id, its person ids and the personal
values. Only the tombstone, the audit trail (ids by design) and the account-wide opt-out
kept as a bare suppression may name the account; nothing may name a person. A repeat
answers the same; later decisions and records about the account are refused with
FAILED_PRECONDITION (NOT_ALLOWED, "account erased") and write nothing; its events trigger
nothing; LiftErasure lifts the tombstone once. Retention deletes old decisions,
reservations and reserve requests from a periodic sweep.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2

from services.contact.tests.harness import AccountFacts, ContactNode, start_contact, start_peers
from services.contact.tests.test_audit import campaign, offer, policy, trail
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.db import Database
from telco360_runtime.status import rich_status
from telco360_runtime.testing import wait_until
from telco360_runtime.timeconv import to_timestamp

SMS, INBOUND, MARKETING = pb.CHANNEL_SMS, pb.CHANNEL_INBOUND_OFFER, pb.PURPOSE_MARKETING
TOKENS = {"t-admin": "admin:root", "t-cc": "call_center:agent-7", "t-mk": "marketing:mk-1", "t-svc": "service:profile"}
ADMIN, AGENT, MARKETER, SERVICE = ((("authorization", f"Bearer {t}"),) for t in ("t-admin", "t-cc", "t-mk", "t-svc"))
ERASED, KEPT = "ERASED-ACCOUNT-1", "KEPT-ACCOUNT-2"
PERSON = {ERASED: "PERSON-OF-ERASED-1", KEPT: "PERSON-OF-KEPT-2"}
#: Personal values a caller may type into free-text fields of contact's requests.
PERSONAL = ("Li Wei", "+8613800138000", "li.wei@example.com")
NOTE = "Li Wei asked, call back on +8613800138000 or li.wei@example.com"
#: What the front line typed for each account (the kept account's stays).
NOTES = {ERASED: NOTE, KEPT: "Zhang San asked, call +8613900139000 or zhang.san@example.com"}
#: Tables that name erased accounts by design (ids only): the tombstone and the audit trail.
BY_DESIGN = {"erased_accounts", "audit_entries", "alembic_version"}


def text_cells(db: Database, skip: set[str] = BY_DESIGN) -> list[tuple[str, str, str]]:
    """(table, column, value) of every non-empty text and JSON cell of every table but `skip`."""
    inspector = sa.inspect(db.engine)
    out: list[tuple[str, str, str]] = []
    with db.engine.connect() as conn:
        for table in inspector.get_table_names():
            if table in skip:
                continue
            columns = [
                c["name"]
                for c in inspector.get_columns(table)
                if isinstance(c["type"], sa.String | sa.Text | sa.JSON) or "JSON" in str(c["type"]).upper()
            ]
            if not columns:
                continue
            for row in conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}")):
                out.extend((table, col, str(v)) for col, v in zip(columns, row, strict=True) if v not in (None, ""))
    return out


def naming(db: Database, needles: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [cell for cell in text_cells(db) if any(n in cell[2] for n in needles)]


def row_counts(db: Database) -> dict[str, int]:
    inspector = sa.inspect(db.engine)
    with db.engine.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
            for t in inspector.get_table_names()
            if t != "audit_entries"
        }


def check(customer_id: str, person: bool = True) -> pb.CheckContactRequest:
    return pb.CheckContactRequest(
        customer_id=customer_id, person_id=PERSON[customer_id] if person else "", channel=SMS, purpose=MARKETING
    )


def bill_event(customer_id: str, event_id: str) -> pb.SubmitAccountEventRequest:
    """A bill event as profile sends it (its event id is the event's sequence number)."""
    return pb.SubmitAccountEventRequest(
        event=pb.AccountEvent(
            event_id=event_id,
            source="profile",
            customer_id=customer_id,
            kind=pb.ACCOUNT_EVENT_KIND_BILL_ISSUED,
            occurred_at=to_timestamp(dt.datetime.now(dt.UTC)),
        )
    )


@pytest.fixture
async def env(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    for cid in (ERASED, KEPT):
        profile.accounts[cid] = AccountFacts(persons={PERSON[cid]: ""})
    # Account facts are not cached, so the test can make profile forget an account at once.
    node = await start_contact(
        db_url,
        f"127.0.0.1:{profile_server.port}",
        f"127.0.0.1:{scoring_server.port}",
        auth_tokens=TOKENS,
        context_ttl_seconds=0,
    )
    yield node, profile
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def history(node: ContactNode, cid: str) -> list[str]:
    """A full history of one account, with a person and personal free text wherever a field takes it."""
    stub, person, note = node.stub, PERSON[cid], NOTES[cid]
    nbo = pb.GetNextBestOfferRequest(
        customer_id=cid,
        person_id=person,
        channel=INBOUND,
        exploit_only=True,
        context=pb.InteractionContext(reason=note),
    )
    await stub.GetNextBestOffer(nbo, metadata=AGENT)
    await stub.CheckContact(check(cid), metadata=AGENT)
    held = [
        await stub.ReserveContact(
            pb.ReserveContactRequest(idempotency_key=f"{cid}-k{i}", contact=check(cid)), metadata=AGENT
        )
        for i in range(2)
    ]
    kept, dropped = (h.reservation.reservation_id for h in held)
    await stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=kept, external_ref=note[:100]), metadata=AGENT)
    await stub.CancelContact(pb.CancelContactRequest(reservation_id=dropped, reason=note), metadata=AGENT)
    outcome = pb.Outcome(
        customer_id=cid,
        person_id=person,
        channel=SMS,
        kind=pb.OUTCOME_KIND_ACCEPTED,
        offer_id="upsell",
        idempotency_key=f"{cid}-o1",
    )
    await stub.RecordOutcome(pb.RecordOutcomeRequest(outcome=outcome), metadata=AGENT)
    for who in ("", person):  # an account-wide opt-out (kept as a suppression) and a person's
        entry = pb.OptOut(customer_id=cid, person_id=who, kind=pb.OPT_OUT_KIND_OPT_OUT, reason=note, source=note)
        entry.channels.append(pb.CHANNEL_OUTBOUND_CALL)
        await stub.SetOptOut(pb.SetOptOutRequest(opt_out=entry), metadata=AGENT)
    lifted = await stub.SetOptOut(
        pb.SetOptOutRequest(
            opt_out=pb.OptOut(customer_id=cid, kind=pb.OPT_OUT_KIND_DO_NOT_DISTURB, reason=note, source=note)
        ),
        metadata=AGENT,
    )
    await stub.RemoveOptOut(pb.RemoveOptOutRequest(opt_out_id=lifted.opt_out_id, reason=note), metadata=ADMIN)
    consent = pb.Consent(customer_id=cid, person_id=person, granted=True, source=note[:100], source_ref=note[:100])
    await stub.SetConsent(pb.SetConsentRequest(consent=consent), metadata=AGENT)
    await stub.AdjustCounter(pb.AdjustCounterRequest(scope=check(cid), delta=1, reason=note), metadata=ADMIN)
    reply = await stub.SubmitAccountEvent(bill_event(cid, "1001" if cid == ERASED else "1002"), metadata=SERVICE)
    assert len(reply.proposals) == 1
    await node.service.parts["deps"].journal.flush()
    return [kept, dropped]


def assert_erased_refusal(err: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> None:
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, err.value.details()
    assert "account erased" in (err.value.details() or "")
    status = rich_status(err.value.trailing_metadata())
    assert status is not None
    reasons = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reasons.append(info.reason)
    assert reasons == ["NOT_ALLOWED"]


async def test_an_erased_account_leaves_no_personal_data_and_is_refused(env) -> None:
    node, profile = env
    stub, db = node.stub, node.db
    await stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()), metadata=MARKETER)
    await stub.CreateOffer(pb.CreateOfferRequest(offer=offer()), metadata=MARKETER)
    await stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign()), metadata=MARKETER)
    gone = [await history(node, cid) for cid in (ERASED, KEPT)][0]
    needles = (ERASED, PERSON[ERASED], *PERSONAL)
    assert {t for t, _, _ in naming(db, needles)} >= {"decisions", "reservations", "outcomes", "consents"}

    request = common_pb2.ApplyErasureRequest(erasure_id="er-1", customer_id=ERASED)
    applied = await stub.ApplyErasure(request, metadata=SERVICE)
    assert applied.customer_id == ERASED
    assert dict(applied.removed) == {
        "decisions": 4,  # next-best-offer, check, two reservations
        "reservations": 2,
        "reserve_requests": 2,
        "adjustments": 1,
        "outcomes": 1,
        "proposals": 1,
        "consents": 1,
        "opt_outs": 2,  # the person's opt-out and the lifted one
        "opt_outs_kept_as_suppression": 1,
    }
    again = await stub.ApplyErasure(
        common_pb2.ApplyErasureRequest(erasure_id="er-2", customer_id=ERASED), metadata=SERVICE
    )
    assert dict(again.removed) == dict(applied.removed) and again.erased_at == applied.erased_at

    # The scan: only the kept suppression names the account (its id, nothing else); no person, no value.
    found = naming(db, needles)
    assert [(t, c) for t, c, _ in found] == [("opt_outs", "customer_id")], found
    with db.session() as s:
        kept = s.execute(
            sa.text("SELECT person_id, reason, source, removed_reason, kind FROM opt_outs WHERE customer_id = :c"),
            {"c": ERASED},
        ).all()
    assert [tuple(r) for r in kept] == [("", "", "erased", "", pb.OPT_OUT_KIND_OPT_OUT)]
    # The other account's history is untouched (its personal free text included: contact keeps
    # what the front line typed for accounts that are not erased).
    assert {t for t, _, _ in naming(db, (KEPT,))} >= {"decisions", "reservations", "outcomes", "consents", "proposals"}

    # Everything later about the account is refused, and nothing is written.
    before = row_counts(db)
    refused = [
        stub.GetNextBestOffer(pb.GetNextBestOfferRequest(customer_id=ERASED, channel=INBOUND), metadata=AGENT),
        stub.CheckContact(check(ERASED), metadata=AGENT),
        stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="late", contact=check(ERASED)), metadata=AGENT),
        stub.RecordOutcome(
            pb.RecordOutcomeRequest(outcome=pb.Outcome(customer_id=ERASED, kind=pb.OUTCOME_KIND_NO_ANSWER)),
            metadata=AGENT,
        ),
        stub.SetConsent(
            pb.SetConsentRequest(consent=pb.Consent(customer_id=ERASED, granted=True, source="web")), metadata=AGENT
        ),
        stub.SetOptOut(
            pb.SetOptOutRequest(
                opt_out=pb.OptOut(customer_id=ERASED, kind=pb.OPT_OUT_KIND_OPT_OUT, reason=NOTE, source="x")
            ),
            metadata=AGENT,
        ),
        stub.AdjustCounter(pb.AdjustCounterRequest(scope=check(ERASED), delta=1, reason=NOTE), metadata=ADMIN),
    ]
    for call in refused:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert_erased_refusal(err)
    # Profile forgets erased accounts: contact still answers "erased", not "unknown".
    del profile.accounts[ERASED]
    for call in (
        stub.CheckContact(check(ERASED, person=False), metadata=AGENT),
        stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="late-2", contact=check(ERASED)), metadata=AGENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert_erased_refusal(err)
    # Its reservations are gone with it: confirming or cancelling one answers NOT_FOUND.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=gone[0]), metadata=AGENT)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Its events are claimed once and trigger nothing.
    ignored = await stub.SubmitAccountEvent(bill_event(ERASED, "1003"), metadata=SERVICE)
    assert list(ignored.proposals) == [] and not ignored.replayed
    await node.service.parts["deps"].journal.flush()
    after = row_counts(db)
    assert {t: n - before[t] for t, n in after.items() if n != before[t]} == {"processed_events": 1}
    assert naming(db, needles) == found

    # Reactivation lifts the tombstone once; the kept suppression still applies to the account.
    lift = common_pb2.LiftErasureRequest(customer_id=ERASED, reason="new contract C-2027-0113")
    assert (await stub.LiftErasure(lift, metadata=SERVICE)).lifted is True
    assert (await stub.LiftErasure(lift, metadata=SERVICE)).lifted is False
    profile.accounts[ERASED] = AccountFacts()
    decided = await stub.CheckContact(
        pb.CheckContactRequest(customer_id=ERASED, channel=pb.CHANNEL_OUTBOUND_CALL, purpose=MARKETING), metadata=AGENT
    )
    assert not decided.allowed and [r.kind for r in decided.blocking] == [pb.RULE_KIND_OPT_OUT]

    # Only the service role erases or lifts; the trail has ids and counts, never a reason's text.
    for call in (stub.ApplyErasure(request, metadata=AGENT), stub.LiftErasure(lift, metadata=MARKETER)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    entries = [e for e in await trail(node) if e.action in ("customer.erase", "customer.reactivate")]
    assert [(e.action, list(e.account_ids), e.detail, e.outcome) for e in entries] == [
        ("customer.erase", [ERASED], "erasure_id=er-1 repeated=False", "OK"),
        ("customer.erase", [ERASED], "erasure_id=er-1 repeated=True", "OK"),
        ("customer.reactivate", [ERASED], "lifted=True", "OK"),
        ("customer.reactivate", [ERASED], "lifted=False", "OK"),
    ]
    assert "C-2027-0113" not in str(entries)


async def test_erasure_requires_ids(env) -> None:
    node, _ = env
    for call, field in (
        (node.stub.ApplyErasure(common_pb2.ApplyErasureRequest(customer_id=ERASED), metadata=SERVICE), "erasure_id"),
        (node.stub.LiftErasure(common_pb2.LiftErasureRequest(customer_id=ERASED), metadata=SERVICE), "reason"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (err.value.details() or "")
    assert row_counts(node.db)["erased_accounts"] == 0


async def test_retention_deletes_old_decisions_reservations_and_reserve_requests(db_url) -> None:
    profile, profile_server, _, scoring_server = await start_peers()
    profile.accounts[KEPT] = AccountFacts(persons={PERSON[KEPT]: ""})
    now = [dt.datetime.now(dt.UTC) - dt.timedelta(days=40)]
    node = await start_contact(
        db_url,
        f"127.0.0.1:{profile_server.port}",
        f"127.0.0.1:{scoring_server.port}",
        clock=lambda: now[0],
        history_retention_days=30,
        retention_sweep_seconds=0.1,
    )
    try:
        stub = node.stub
        await stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()))
        await stub.CreateOffer(pb.CreateOfferRequest(offer=offer()))

        async def contacts(tag: str) -> str:
            await stub.CheckContact(check(KEPT))
            held = await stub.ReserveContact(pb.ReserveContactRequest(idempotency_key=tag, contact=check(KEPT)))
            await stub.ConfirmContact(pb.ConfirmContactRequest(reservation_id=held.reservation.reservation_id))
            outcome = pb.Outcome(customer_id=KEPT, channel=SMS, kind=pb.OUTCOME_KIND_ACCEPTED, offer_id="upsell")
            await stub.RecordOutcome(pb.RecordOutcomeRequest(outcome=outcome))
            return held.reservation.reservation_id

        await contacts("old")  # 40 days ago
        now[0] += dt.timedelta(days=39)  # one day ago: the old history is now 39 days old
        recent = await contacts("recent")

        def counts() -> dict[str, int] | None:
            found = row_counts(node.db)
            return found if found["reservations"] == 1 else None

        left = await wait_until(counts, timeout=10, message="the retention sweep did not run")
        assert (left["decisions"], left["reservations"], left["reserve_requests"]) == (2, 1, 1)
        assert left["outcomes"] == 2 and left["offer_stats"] == 1  # outcomes and aggregates are kept
        ledger = await stub.ListLedger(pb.ListLedgerRequest(customer_id=KEPT))
        assert [e.entry_id for e in ledger.entries] == [recent]
        replay = await stub.ReserveContact(pb.ReserveContactRequest(idempotency_key="old", contact=check(KEPT)))
        assert not replay.replayed  # the old key went with its reservation: a new request
        off = await node.service.parts["erasure"].purge_history(0)
        assert off == {"decisions": 0, "reservations": 0, "reserve_requests": 0}
    finally:
        await node.close()
        await profile_server.stop()
        await scoring_server.stop()


async def test_reservations_racing_an_erasure_leave_nothing(env) -> None:
    """Reservations sent while the erasure runs: each is granted before it (and then deleted
    with the account's history) or refused after it; none survives, the counts match."""
    node, _ = env
    stub = node.stub
    await stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()), metadata=MARKETER)

    done: list[str] = []

    async def reserve(i: int) -> str:
        request = pb.ReserveContactRequest(idempotency_key=f"race-{i}", contact=check(ERASED))
        try:
            granted = await stub.ReserveContact(request, metadata=AGENT)
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err.details()
            done.append("refused")
            return "refused"
        assert granted.granted
        done.append("granted")
        return "granted"

    async def erase() -> common_pb2.ApplyErasureResponse:
        await wait_until(lambda: len(done) >= 2)  # the others are still in flight
        request = common_pb2.ApplyErasureRequest(erasure_id="er-race", customer_id=ERASED)
        return await stub.ApplyErasure(request, metadata=SERVICE)

    *answers, erased = await asyncio.gather(*(reserve(i) for i in range(30)), erase())
    granted = answers.count("granted")
    assert granted >= 2
    assert dict(erased.removed)["reservations"] == granted
    assert dict(erased.removed)["reserve_requests"] == granted
    assert row_counts(node.db)["reservations"] == 0 and naming(node.db, (ERASED, PERSON[ERASED])) == []
