"""Keyset paging of contact's listings (telco360_runtime.paging), over real gRPC on SQLite
and PostgreSQL: a token of another listing or filter answers STALE, a page size above the
maximum OUT_OF_RANGE (never clamped), and paging while items are inserted neither skips nor
repeats an item, for an id-ordered listing (offers) and a newest-first one (proposals)."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest

from services.contact.domain.campaigns import AccountEvent, Proposal
from services.contact.domain.model import AccountEventKind, Channel, Offer, OfferCategory, ProposalState
from services.contact.store import catalogue as repo
from services.contact.store import runs
from services.contact.tests.harness import ContactNode, start_contact, start_peers
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime.reasons import OUT_OF_RANGE, STALE
from telco360_runtime.status import field_violations

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def offer(offer_id: str, category: OfferCategory = OfferCategory.UPSELL) -> Offer:
    return Offer(offer_id=offer_id, name="n", category=category, channels=frozenset({Channel.SMS}), eligibility="true")


def proposal(proposal_id: str, at: dt.datetime) -> Proposal:
    event = AccountEvent("e-" + proposal_id, "test", "C1", AccountEventKind(1), at)
    return Proposal(
        "camp", 1, "C1", event, ProposalState.PROPOSED, at, at + dt.timedelta(days=1), proposal_id=proposal_id
    )


@pytest.fixture
async def node(db_url):
    profile, profile_server, scoring, scoring_server = await start_peers()
    node = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    yield node
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def violations(call, request) -> set[tuple[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return {(v.field, v.reason) for v in field_violations(error.value)}


def write(node: ContactNode, fn) -> None:
    with node.db.session() as session:
        fn(session)
        session.commit()


async def test_a_token_of_another_listing_is_stale_and_sizes_are_not_clamped(node: ContactNode) -> None:
    await asyncio.to_thread(write, node, lambda s: [repo.create_offer(s, offer(f"o{i}"), NOW) for i in range(3)])
    first = await node.stub.ListOffers(pb.ListOffersRequest(page=common_pb2.PageRequest(page_size=1)))
    token = first.page.next_page_token
    assert token and first.page.total_count == 3
    page = common_pb2.PageRequest(page_token=token)
    assert ("page.page_token", STALE) in await violations(node.stub.ListPolicies, pb.ListPoliciesRequest(page=page))
    assert ("page.page_token", STALE) in await violations(node.stub.ListCampaigns, pb.ListCampaignsRequest(page=page))
    other_filter = pb.ListOffersRequest(category=pb.OFFER_CATEGORY_UPSELL, page=page)
    assert ("page.page_token", STALE) in await violations(node.stub.ListOffers, other_filter)
    assert ("page.page_token", STALE) in await violations(
        node.stub.ListOptOuts, pb.ListOptOutsRequest(customer_id="C1", page=page)
    )
    for size in (1001, -1):
        too_big = common_pb2.PageRequest(page_size=size)
        assert ("page.page_size", OUT_OF_RANGE) in await violations(
            node.stub.ListOffers, pb.ListOffersRequest(page=too_big)
        )
        assert ("page.page_size", OUT_OF_RANGE) in await violations(
            node.stub.ListProposals, pb.ListProposalsRequest(page=too_big)
        )
    everything = await node.stub.ListOffers(pb.ListOffersRequest(page=common_pb2.PageRequest(page_size=1000)))
    assert len(everything.offers) == 3 and not everything.page.next_page_token


async def test_offer_pages_neither_skip_nor_repeat_while_offers_are_added(node: ContactNode) -> None:
    originals = [f"o{i:03d}" for i in range(0, 40, 2)]
    await asyncio.to_thread(write, node, lambda s: [repo.create_offer(s, offer(i), NOW) for i in originals])
    seen: list[str] = []
    token, added = "", 0
    while True:
        reply = await node.stub.ListOffers(
            pb.ListOffersRequest(page=common_pb2.PageRequest(page_size=3, page_token=token))
        )
        seen += [o.offer_id for o in reply.offers]
        token = reply.page.next_page_token
        if not token:
            break
        # One offer sorts before the page just read (an offset would then repeat an item), one after it.
        last = int(seen[-1][1:])
        news = [f"a{added:03d}", f"o{last + 1:03d}"]
        await asyncio.to_thread(write, node, lambda s, news=news: [repo.create_offer(s, offer(i), NOW) for i in news])
        added += 1
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in originals] == originals
    assert all(not i.startswith("a") for i in seen)


async def test_newest_first_pages_neither_skip_nor_repeat_while_proposals_arrive(node: ContactNode) -> None:
    originals = [proposal(f"p{i:03d}", NOW - dt.timedelta(minutes=i // 2)) for i in range(20)]
    await asyncio.to_thread(write, node, lambda s: [runs.insert_proposal(s, p) for p in originals])
    expected = [p.proposal_id for p in sorted(originals, key=lambda p: (-p.proposed_at.timestamp(), p.proposal_id))]
    seen: list[str] = []
    token, added = "", 0
    while True:
        reply = await node.stub.ListProposals(
            pb.ListProposalsRequest(customer_id="C1", page=common_pb2.PageRequest(page_size=3, page_token=token))
        )
        seen += [p.proposal_id for p in reply.proposals]
        token = reply.page.next_page_token
        if not token:
            break
        # Newer proposals arrive at the head of the listing; with offsets the next page would repeat items.
        newer = [proposal(f"n{added:03d}{j}", NOW + dt.timedelta(minutes=1 + added)) for j in range(2)]
        await asyncio.to_thread(write, node, lambda s, newer=newer: [runs.insert_proposal(s, p) for p in newer])
        added += 1
    assert seen == expected and added >= 6
