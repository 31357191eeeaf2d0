"""Profile's tag listings page with the suite's one rule and token (telco360_runtime.paging).

Real in-process profile server on SQLite and PostgreSQL, tag history rows written to its
store directly. ListTagHistory and ListTagDefinitions: keyset tokens scoped to the listing
and its filters (a token replayed on the other listing or with other filters answers STALE,
a garbage one BAD_FORMAT), page_size above 1000 answers OUT_OF_RANGE (never clamped), and
paging history while new changes are recorded neither skips nor repeats a change.
"""

from __future__ import annotations

import base64
import json

import pytest

from services.profile.store.models import TagHistory
from services.profile.tests.builders import NOW
from services.profile.tests.harness import start_profile
from services.profile.tests.test_profile_bounds import invalid
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.paging import encode_token

TAGS = ("alpha", "beta")


@pytest.fixture
async def server(db_url):
    """A profile server (no ingest) and a way to record tag changes in its store."""
    service, db, channel, stub = await start_profile(db_url, ingest_addr="")

    def record(n: int, start: int = 0) -> None:
        with db.write_session() as s:
            s.add_all(
                TagHistory(
                    customer_id=f"C{(start + i) % 3}",
                    tag_id=TAGS[(start + i) % 2],
                    assigned=True,
                    rule_version=1,
                    changed_at=NOW,
                    cause=pb.TAG_CHANGE_CAUSE_DEFINITION_CHANGE,
                    trigger_values="{}",
                )
                for i in range(n)
            )

    async def add(n: int, start: int = 0) -> None:
        await db.run(record, n, start)

    yield stub, add
    await channel.close()
    await service.stop(0)
    db.dispose()


def history(size: int = 0, token: str = "", **filters) -> pb.ListTagHistoryRequest:
    return pb.ListTagHistoryRequest(page=common_pb2.PageRequest(page_size=size, page_token=token), **filters)


def definitions(size: int = 0, token: str = "", **filters) -> pb.ListTagDefinitionsRequest:
    return pb.ListTagDefinitionsRequest(page=common_pb2.PageRequest(page_size=size, page_token=token), **filters)


async def test_history_pages_neither_skip_nor_repeat_while_changes_are_added(server) -> None:
    stub, add = server
    await add(10)
    before = [c.change_id for c in (await stub.ListTagHistory(history())).changes]
    assert len(before) == 10 and before == sorted(before, reverse=True)
    seen, token, pages = [], "", 0
    while True:
        page = await stub.ListTagHistory(history(3, token))
        seen += [c.change_id for c in page.changes]
        pages += 1
        await add(2, start=pages)  # newer changes arrive between the pages
        token = page.page.next_page_token
        if not token:
            break
        assert not token.isdigit()  # an opaque keyset token, no longer a raw change id
    assert seen == before and pages == 4
    newest = (await stub.ListTagHistory(history(1))).changes[0].change_id
    assert newest > before[0]


async def test_history_token_honours_filters(server) -> None:
    stub, add = server
    await add(9)
    first = await stub.ListTagHistory(history(2, tag_id="alpha"))
    assert [c.tag_id for c in first.changes] == ["alpha", "alpha"]
    rest = await stub.ListTagHistory(history(100, first.page.next_page_token, tag_id="alpha"))
    alpha = [c.change_id for c in first.changes] + [c.change_id for c in rest.changes]
    assert len(alpha) == 5 and alpha == sorted(alpha, reverse=True) and not rest.page.next_page_token
    assert all(c.tag_id == "alpha" for c in rest.changes)


async def test_a_token_of_another_listing_or_filter_is_stale(server) -> None:
    stub, add = server
    await add(6)
    token = (await stub.ListTagHistory(history(1, tag_id="alpha"))).page.next_page_token
    assert token
    stale = {"page.page_token": "STALE"}
    assert await invalid(lambda: stub.ListTagDefinitions(definitions(1, token))) == stale
    assert await invalid(lambda: stub.ListTagHistory(history(1, token, tag_id="beta"))) == stale
    assert await invalid(lambda: stub.ListTagHistory(history(1, token))) == stale
    assert await invalid(lambda: stub.ListTagHistory(history(1, token, tag_id="alpha", customer_id="C0"))) == stale
    listed = await stub.ListTagDefinitions(definitions(1))
    assert listed.page.next_page_token  # the built-in tag pack has more than one definition
    assert await invalid(lambda: stub.ListTagHistory(history(1, listed.page.next_page_token))) == stale
    other = await invalid(lambda: stub.ListTagDefinitions(definitions(1, listed.page.next_page_token, category="x")))
    assert other == stale


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "5",  # the old raw change id
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(json.dumps({"s": 1, "k": "2"}).encode()).decode(),
        "x" * 600,
    ],
)
async def test_a_garbage_token_is_bad_format(server, token: str) -> None:
    stub, _ = server
    got = await invalid(lambda: stub.ListTagHistory(history(1, token)))
    assert got == {"page.page_token": bounds.TOO_LONG if len(token) > 512 else "BAD_FORMAT"}
    got = await invalid(lambda: stub.ListTagDefinitions(definitions(1, token)))
    assert got == {"page.page_token": bounds.TOO_LONG if len(token) > 512 else "BAD_FORMAT"}


async def test_a_history_token_whose_key_is_no_change_id_is_bad_format(server) -> None:
    stub, add = server
    await add(3)
    token = (await stub.ListTagHistory(history(1))).page.next_page_token
    scope = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["s"]
    for key in ("abc", "0", "-1", str(2**63)):
        got = await invalid(lambda k=key: stub.ListTagHistory(history(1, encode_token(scope, k))))
        assert got == {"page.page_token": "BAD_FORMAT"}


@pytest.mark.parametrize("size", [1001, -1])
async def test_page_size_outside_the_range_is_rejected_not_clamped(server, size: int) -> None:
    stub, _ = server
    assert await invalid(lambda: stub.ListTagHistory(history(size))) == {"page.page_size": "OUT_OF_RANGE"}
    assert await invalid(lambda: stub.ListTagDefinitions(definitions(size))) == {"page.page_size": "OUT_OF_RANGE"}


async def test_page_size_zero_and_the_maximum_are_served(server) -> None:
    stub, add = server
    await add(120)
    default = await stub.ListTagHistory(history(0))
    assert len(default.changes) == 100 and default.page.next_page_token
    most = await stub.ListTagHistory(history(1000))
    assert len(most.changes) == 120 and not most.page.next_page_token


async def test_definitions_page_by_tag_id(server) -> None:
    stub, _ = server
    everything = [
        d.tag_id for d in (await stub.ListTagDefinitions(definitions(1000, include_disabled=True))).definitions
    ]
    assert len(everything) > 2 and everything == sorted(everything)
    seen, token = [], ""
    while True:
        page = await stub.ListTagDefinitions(definitions(2, token, include_disabled=True))
        seen += [d.tag_id for d in page.definitions]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == everything
