"""Free text people wrote about a customer is masked by role in contact's answers (issue #14).

Opt-out reasons, the reason an opt-out was lifted, a cancelled contact's reason and a
counter adjustment's reason are notes (telco360_runtime.masking): admin, service and the
account's manager read them; the call centre, analysts and marketing get them masked.
"""

from __future__ import annotations

import pytest

from services.contact.tests.harness import AccountFacts, start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.auth import mask

SMS, MARKETING = pb.CHANNEL_SMS, pb.PURPOSE_MARKETING
TOKENS = {
    "t-admin": "admin:root",
    "t-service": "service:profile",
    "t-manager": "account_manager:AM1",
    "t-call-center": "call_center:gus",
    "t-analyst": "analyst:ann",
    "t-marketing": "marketing:mia",
}
#: Whether each caller reads notes unmasked.
SHOWN = {
    "t-admin": True,
    "t-service": True,
    "t-manager": True,
    "t-call-center": False,
    "t-analyst": False,
    "t-marketing": False,
}


def meta(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


ADMIN = meta("t-admin")


@pytest.fixture
async def node(db_url):
    profile, profile_server, _, scoring_server = await start_peers()
    profile.accounts["C1"] = AccountFacts(account_manager_id="AM1")
    node = await start_contact(
        db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}", auth_tokens=TOKENS
    )
    yield node
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def test_free_text_about_a_customer_is_masked_per_role(node) -> None:
    stub = node.stub
    contact = pb.CheckContactRequest(customer_id="C1", channel=SMS, purpose=MARKETING)
    opt_out = await stub.SetOptOut(
        pb.SetOptOutRequest(
            opt_out=pb.OptOut(
                customer_id="C1",
                kind=pb.OPT_OUT_KIND_DO_NOT_DISTURB,
                reason="Mr Li is in hospital until May",
                source="call",
                channels=[pb.CHANNEL_EMAIL],
            )
        ),
        metadata=ADMIN,
    )
    await stub.RemoveOptOut(
        pb.RemoveOptOutRequest(opt_out_id=opt_out.opt_out_id, reason="Mr Li called back"), metadata=ADMIN
    )
    reserved = await stub.ReserveContact(
        pb.ReserveContactRequest(idempotency_key="k1", contact=contact), metadata=ADMIN
    )
    await stub.CancelContact(
        pb.CancelContactRequest(reservation_id=reserved.reservation.reservation_id, reason="Mrs Wang asked to wait"),
        metadata=ADMIN,
    )
    await stub.AdjustCounter(
        pb.AdjustCounterRequest(scope=contact, delta=1, reason="SMS sent to Mr Li by hand"), metadata=ADMIN
    )
    for token, shown in SHOWN.items():

        def expect(text: str, shown: bool = shown) -> str:
            return text if shown else mask(text)

        (seen,) = (
            await stub.ListOptOuts(pb.ListOptOutsRequest(customer_id="C1", include_inactive=True), metadata=meta(token))
        ).opt_outs
        assert (seen.reason, seen.removed_reason) == (
            expect("Mr Li is in hospital until May"),
            expect("Mr Li called back"),
        ), token
        entries = (await stub.ListLedger(pb.ListLedgerRequest(customer_id="C1"), metadata=meta(token))).entries
        reasons = {e.kind: e.reason or e.reservation.cancel_reason for e in entries}
        assert reasons == {
            pb.LEDGER_ENTRY_KIND_RESERVATION: expect("Mrs Wang asked to wait"),
            pb.LEDGER_ENTRY_KIND_ADJUSTMENT: expect("SMS sent to Mr Li by hand"),
        }, token
