"""List answers are bounded in bytes as well as items (bounds.PAGE_MAX_BYTES), and the page
token resumes after the last item sent: over real gRPC (SQLite and PostgreSQL) with offers
at their text limits, and for the page helper over proposals."""

from __future__ import annotations

import asyncio
import datetime as dt

from services.contact.api.servicer import fit, page_out
from services.contact.domain.model import Channel, Offer, OfferCategory
from services.contact.store import catalogue as repo
from services.contact.tests.harness import start_contact, start_peers
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.paging import Page, decode_token, scope_of

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def big_offer(i: int) -> Offer:
    return Offer(
        offer_id=f"o{i:04d}",
        name="n" * bounds.NAME_MAX,
        category=OfferCategory.UPSELL,
        channels=frozenset({Channel.SMS}),
        description="d" * bounds.TEXT_MAX,
        eligibility="fee > 1 or " * 360 + "true",
    )


async def test_list_offers_pages_stay_below_the_byte_limit_and_resume(db_url) -> None:
    profile, profile_server, scoring, scoring_server = await start_peers()
    node = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    try:

        def fill() -> None:
            with node.db.session() as session:
                for i in range(450):
                    repo.create_offer(session, big_offer(i), NOW)

        await asyncio.to_thread(fill)
        seen: list[str] = []
        token, pages = "", 0
        while True:
            reply = await node.stub.ListOffers(
                pb.ListOffersRequest(page=common_pb2.PageRequest(page_size=1000, page_token=token))
            )
            assert reply.ByteSize() <= bounds.PAGE_MAX_BYTES + 1024
            assert reply.page.total_count == 450
            seen += [o.offer_id for o in reply.offers]
            pages += 1
            token = reply.page.next_page_token
            if not token:
                break
        assert pages >= 2
        assert seen == [f"o{i:04d}" for i in range(450)]
    finally:
        await node.close()
        await profile_server.stop()
        await scoring_server.stop()


def test_fit_cuts_proposals_by_size_and_the_token_resumes_after_the_last_sent() -> None:
    event = pb.AccountEvent(event_id="e", customer_id="C1", attributes={f"k{i}": "v" * 500 for i in range(100)})
    proposals = [pb.Proposal(proposal_id=f"p{i}", event=event, reasons=["r" * 500] * 20) for i in range(200)]
    sent, cut = fit(proposals)
    assert cut and 0 < len(sent) < len(proposals)
    assert pb.ListProposalsResponse(proposals=sent).ByteSize() <= bounds.PAGE_MAX_BYTES
    asked = Page(1000, "", scope_of("contact.ListProposals"))
    token = page_out(asked, proposals, len(sent), lambda p: p.proposal_id, truncated=cut).next_page_token
    assert decode_token(token, asked.scope) == proposals[len(sent) - 1].proposal_id
    # A page that fits whole: a next token only when more items follow (the use case is asked
    # for one item beyond the page).
    small, small_cut = fit(proposals[:3])
    assert not small_cut and len(small) == 3
    key = lambda p: p.proposal_id  # noqa: E731
    three = Page(3, "", asked.scope)
    assert decode_token(page_out(three, proposals[:4], 3, key).next_page_token, asked.scope) == "p2"
    assert page_out(three, proposals[:3], 3, key).next_page_token == ""
    # One item bigger than the budget is still sent, so a listing always moves on.
    assert fit(proposals[:2], budget=10) == ([proposals[0]], True)
