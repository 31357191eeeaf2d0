"""Account-team scoping on a running contact server (issue #14).

An account manager decides, reserves, confirms, cancels, records outcomes, opt-outs and
consent, and reads decisions and the ledger only for accounts whose manager (profile's
master data, fetched with the account's facts) is on their team. Any other account, known
to profile or not, answers PERMISSION_DENIED with one message, before anything is decided
or recorded. Every team of the managers below is tried against every account.
"""

from __future__ import annotations

import itertools

import grpc
import pytest

from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb

SMS, INBOUND = pb.CHANNEL_SMS, pb.CHANNEL_INBOUND_OFFER
MARKETING = pb.PURPOSE_MARKETING
ACCOUNTS = {"A1": "AM1", "A2": "AM2", "A3": "AM1", "X1": "AM9"}
MANAGERS = ("AM1", "AM2", "AM9")
TEAMS = [frozenset(t) for n in (1, 2) for t in itertools.combinations(MANAGERS, n)]


def team_token(team: frozenset[str]) -> str:
    return "t-am-" + "-".join(sorted(team))


def team_grant(team: frozenset[str]) -> str:
    lead, *members = sorted(team)
    return f"account_manager:{lead}" + (f":{','.join(members)}" if members else "")


TOKENS = {"t-admin": "admin:root", **{team_token(t): team_grant(t) for t in TEAMS}}
ADMIN = (("authorization", "Bearer t-admin"),)


def as_team(team: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {team_token(team)}"),)


def policy() -> pb.ContactPolicy:
    return pb.ContactPolicy(
        policy_id="base",
        name="Base policy",
        active=True,
        caps=[
            pb.FrequencyCap(
                cap_id="sms-7d",
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=[SMS],
                max_contacts=1000,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=7),
            )
        ],
        purpose_classes=[pb.PurposeClass(purpose=MARKETING, requires_consent=False)],
    )


def contact(customer_id: str) -> pb.CheckContactRequest:
    return pb.CheckContactRequest(customer_id=customer_id, channel=SMS, purpose=MARKETING)


@pytest.fixture
async def env(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    for cid, manager in ACCOUNTS.items():
        profile.accounts[cid] = AccountFacts(account_manager_id=manager, persons={"P1": ""})
    node = await start_contact(
        db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}", auth_tokens=TOKENS
    )
    await node.stub.CreatePolicy(pb.CreatePolicyRequest(policy=policy()), metadata=ADMIN)
    yield node, profile_server
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


def calls(stub, cid: str, held: tuple[str, str], decision_id: str, key: str):
    """One call of every account-scoped rpc about `cid` (two reservations and a decision of that account)."""
    return {
        "CheckContact": lambda meta: stub.CheckContact(contact(cid), metadata=meta),
        "ReserveContact": lambda meta: stub.ReserveContact(
            pb.ReserveContactRequest(idempotency_key=key, contact=contact(cid)), metadata=meta
        ),
        "GetNextBestOffer": lambda meta: stub.GetNextBestOffer(
            pb.GetNextBestOfferRequest(customer_id=cid, channel=INBOUND, exploit_only=True), metadata=meta
        ),
        "RecordOutcome": lambda meta: stub.RecordOutcome(
            pb.RecordOutcomeRequest(
                outcome=pb.Outcome(customer_id=cid, channel=SMS, kind=pb.OUTCOME_KIND_NO_ANSWER, idempotency_key=key)
            ),
            metadata=meta,
        ),
        "SetOptOut": lambda meta: stub.SetOptOut(
            pb.SetOptOutRequest(
                opt_out=pb.OptOut(
                    customer_id=cid,
                    kind=pb.OPT_OUT_KIND_DO_NOT_DISTURB,
                    reason="asked",
                    source="call",
                    channels=[pb.CHANNEL_EMAIL],
                )
            ),
            metadata=meta,
        ),
        "SetConsent": lambda meta: stub.SetConsent(
            pb.SetConsentRequest(consent=pb.Consent(customer_id=cid, granted=True, source="call")), metadata=meta
        ),
        "ConfirmContact": lambda meta: stub.ConfirmContact(
            pb.ConfirmContactRequest(reservation_id=held[0]), metadata=meta
        ),
        "CancelContact": lambda meta: stub.CancelContact(
            pb.CancelContactRequest(reservation_id=held[1], reason="changed plans"), metadata=meta
        ),
        "GetDecisionTrace": lambda meta: stub.GetDecisionTrace(
            pb.GetDecisionTraceRequest(decision_id=decision_id), metadata=meta
        ),
        "ListDecisions": lambda meta: stub.ListDecisions(pb.ListDecisionsRequest(customer_id=cid), metadata=meta),
        "ListLedger": lambda meta: stub.ListLedger(pb.ListLedgerRequest(customer_id=cid), metadata=meta),
        "ListOptOuts": lambda meta: stub.ListOptOuts(pb.ListOptOutsRequest(customer_id=cid), metadata=meta),
        "ListConsents": lambda meta: stub.ListConsents(pb.ListConsentsRequest(customer_id=cid), metadata=meta),
        "ListProposals": lambda meta: stub.ListProposals(pb.ListProposalsRequest(customer_id=cid), metadata=meta),
    }


async def recorded(stub, cid: str) -> tuple[int, ...]:
    """How much is stored about an account (read as admin): decisions, ledger, opt-outs, consents."""
    return (
        len((await stub.ListDecisions(pb.ListDecisionsRequest(customer_id=cid), metadata=ADMIN)).decisions),
        len((await stub.ListLedger(pb.ListLedgerRequest(customer_id=cid), metadata=ADMIN)).entries),
        len((await stub.ListOptOuts(pb.ListOptOutsRequest(customer_id=cid), metadata=ADMIN)).opt_outs),
        len((await stub.ListConsents(pb.ListConsentsRequest(customer_id=cid), metadata=ADMIN)).consents),
    )


async def test_every_team_acts_only_on_its_accounts(env) -> None:
    node, _ = env
    stub = node.stub
    keys = itertools.count()
    for team in TEAMS:
        meta = as_team(team)
        for cid, manager in [*ACCOUNTS.items(), ("U0", "")]:  # U0: unknown to profile
            held, decision_id = ("none", "none"), "none"
            if cid != "U0":
                granted = [
                    await stub.ReserveContact(
                        pb.ReserveContactRequest(idempotency_key=f"admin-{next(keys)}", contact=contact(cid)),
                        metadata=ADMIN,
                    )
                    for _ in range(2)
                ]
                held = (granted[0].reservation.reservation_id, granted[1].reservation.reservation_id)
                decision_id = granted[0].decision.decision_id
            before = await recorded(stub, cid)
            for name, call in calls(stub, cid, held, decision_id, f"k-{next(keys)}").items():
                if manager in team:
                    await call(meta)
                    continue
                if cid == "U0" and name in ("ConfirmContact", "CancelContact", "GetDecisionTrace"):
                    continue  # no reservation or decision exists for an unknown account
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(meta)
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, (team, cid, name, err.value)
                assert err.value.details() == "the account is not among the accounts of your team"
            if manager not in team:
                # Nothing was decided or recorded for the refused calls, and the held slots are untouched.
                assert await recorded(stub, cid) == before, (team, cid)
                if cid != "U0":
                    ledger = await stub.ListLedger(pb.ListLedgerRequest(customer_id=cid), metadata=ADMIN)
                    states = {e.reservation.reservation_id: e.reservation.state for e in ledger.entries}
                    assert [states[r] for r in held] == [pb.RESERVATION_STATE_RESERVED] * 2


async def test_a_team_lead_acts_on_the_whole_team(env) -> None:
    node, _ = env
    lead = as_team(frozenset({"AM1", "AM2"}))
    for cid in ("A1", "A2", "A3"):
        assert (await node.stub.CheckContact(contact(cid), metadata=lead)).decision_id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await node.stub.CheckContact(contact("X1"), metadata=lead)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_scoped_caller_is_refused_while_the_team_cannot_be_checked(env) -> None:
    node, profile_server = env
    await profile_server.stop()
    # Other callers get a degraded decision; an account manager is not let through unchecked.
    degraded = await node.stub.CheckContact(contact("A3"), metadata=ADMIN)
    assert degraded.degraded
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await node.stub.CheckContact(contact("A2"), metadata=as_team(frozenset({"AM2"})))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
