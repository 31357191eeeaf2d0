"""Account-team scoping on a running profile (issue #14).

An account manager sees only the accounts whose merged master data names them (a team
lead: also their team's): Customer360 (stored read model and live, account and group
level), features, tag history and segments. An account outside the scope, known or not,
answers PERMISSION_DENIED with one message, so the answer never reveals whether it exists.
Every team of the generated base's managers is tried (all of their subsets), so the
property holds for any team, not for a chosen example.
"""

from __future__ import annotations

import itertools

import grpc
import pytest

from services.profile.tests.harness import feed, start_ingest, start_profile, wait_applied
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb

# The generated base (12 accounts, seed 7) has managers AM1001-AM1005 and a group whose root
# (AM1004) has members managed by AM1005: the case where a group view must be cut to the team.
MANAGERS = ("AM1001", "AM1002", "AM1003", "AM1004", "AM1005")
TEAMS = [frozenset(team) for n in range(1, len(MANAGERS) + 1) for team in itertools.combinations(MANAGERS, n)]


def team_token(team: frozenset[str]) -> str:
    return "tok-am-" + "-".join(sorted(team))


def team_grant(team: frozenset[str]) -> str:
    lead, *members = sorted(team)
    return f"account_manager:{lead}" + (f":{','.join(members)}" if members else "")


TOKENS = {"tok-service": "service:ingest", **{team_token(t): team_grant(t) for t in TEAMS}}


def as_token(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


SERVICE = as_token("tok-service")


@pytest.fixture
async def base(tmp_path):
    ingest, ingest_db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}", auth_tokens=TOKENS)
    accepted = await feed(ingest.address, accounts=12, months=4, token="tok-service")
    identity = tmp_path / "profile.token"
    identity.write_text("tok-service\n")
    service, db, channel, stub = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}",
        ingest_addr=ingest.address,
        contact_addr="127.0.0.1:1",
        scoring_addr="127.0.0.1:1",
        auth_tokens=TOKENS,
        peer_token_file=str(identity),
    )

    class AsService:
        async def GetSyncStatus(self, request):
            return await stub.GetSyncStatus(request, metadata=SERVICE)

    await wait_applied(AsService(), accepted)
    managers = {}
    for cid in await walk(stub, SERVICE, page_size=100):
        view = await stub.GetCustomer360(pb.GetCustomer360Request(customer_id=cid), metadata=SERVICE)
        managers[cid] = view.account.account_manager_id
    assert set(managers.values()) == set(MANAGERS), managers
    yield stub, managers
    await channel.close()
    await service.stop(0)
    await ingest.stop(0)
    db.dispose()
    ingest_db.dispose()


async def walk(stub, metadata, page_size: int, expression: str = "") -> list[str]:
    """Every member of a segment, page by page; each page but the last is full."""
    out: list[str] = []
    token = ""
    while True:
        reply = await stub.QuerySegment(
            pb.QuerySegmentRequest(
                expression=expression,
                include_terminated=True,
                page=common_pb2.PageRequest(page_size=page_size, page_token=token),
            ),
            metadata=metadata,
        )
        out.extend(m.customer_id for m in reply.members)
        token = reply.page.next_page_token
        if not token:
            return out
        assert len(reply.members) == page_size


async def denied(call) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value
    return err.value.details()


def of_team(managers: dict[str, str], team: frozenset[str]) -> list[str]:
    return sorted(cid for cid, manager in managers.items() if manager in team)


async def test_every_team_walks_exactly_its_accounts_through_every_segment_page(base) -> None:
    stub, managers = base
    for team in TEAMS:
        meta = as_token(team_token(team))
        expected = of_team(managers, team)
        for page_size in (1, 2, 5):
            assert await walk(stub, meta, page_size) == expected, (team, page_size)
        counted = await stub.QuerySegment(
            pb.QuerySegmentRequest(include_terminated=True, count_only=True), metadata=meta
        )
        assert counted.count == len(expected)
        # An expression filters within the team too (tags and features are evaluated the same way).
        big = await walk(stub, meta, 2, expression="employee_count >= 0")
        assert set(big) <= set(expected)


async def test_a_segment_token_of_one_team_is_stale_for_another(base) -> None:
    stub, managers = base
    lead = frozenset({"AM1004", "AM1005"})
    first = await stub.QuerySegment(
        pb.QuerySegmentRequest(include_terminated=True, page=common_pb2.PageRequest(page_size=1)),
        metadata=as_token(team_token(lead)),
    )
    assert first.page.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.QuerySegment(
            pb.QuerySegmentRequest(
                include_terminated=True,
                page=common_pb2.PageRequest(page_size=1, page_token=first.page.next_page_token),
            ),
            metadata=as_token(team_token(frozenset({"AM1005"}))),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("path", ["stored", "live"])
async def test_customer360_answers_only_the_teams_accounts(base, path) -> None:
    stub, managers = base
    for team in TEAMS:
        meta = as_token(team_token(team))
        for cid, manager in managers.items():
            request = pb.GetCustomer360Request(customer_id=cid)
            if path == "live":
                request.recent_limit = 3
            if manager in team:
                view = await stub.GetCustomer360(request, metadata=meta)
                assert view.account.customer_id == cid
                assert view.account.account_manager_id in team
            else:
                message = await denied(stub.GetCustomer360(request, metadata=meta))
                # Unknown accounts answer exactly the same: existence is not revealed.
                unknown = pb.GetCustomer360Request(customer_id="KA999999", recent_limit=request.recent_limit)
                assert await denied(stub.GetCustomer360(unknown, metadata=meta)) == message
                assert cid not in message


@pytest.mark.parametrize("level", [pb.VIEW_LEVEL_ACCOUNT, pb.VIEW_LEVEL_GROUP])
@pytest.mark.parametrize("path", ["stored", "live"])
async def test_group_parts_name_only_the_teams_members(base, path, level) -> None:
    stub, managers = base
    in_groups = 0
    for team in TEAMS:
        meta = as_token(team_token(team))
        for cid in of_team(managers, team):
            request = pb.GetCustomer360Request(customer_id=cid, level=level)
            if path == "live":
                request.recent_limit = 3
            full = await stub.GetCustomer360(request, metadata=SERVICE)
            seen = await stub.GetCustomer360(request, metadata=meta)
            members = [m for m in full.group.member_customer_ids if managers[m] in team]
            assert list(seen.group.member_customer_ids) == members
            children = [c for c in full.account.child_customer_ids if managers[c] in team]
            assert list(seen.account.child_customer_ids) == children
            for part in (seen.contacts, seen.products, seen.recent_interactions, seen.tags):
                assert all(managers[item.customer_id] in team for item in part)
            in_groups += len(full.group.member_customer_ids) > len(members)
    assert in_groups  # the base has groups whose members other managers manage


async def test_features_answer_only_the_teams_accounts(base) -> None:
    stub, managers = base
    for team in TEAMS:
        meta = as_token(team_token(team))
        mine = of_team(managers, team)
        others = sorted(set(managers) - set(mine))
        reply = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=mine), metadata=meta)
        assert [v.customer_id for v in reply.vectors] == mine and all(v.found for v in reply.vectors)
        for other in [*others, "KA999999"]:
            await denied(stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=[*mine, other]), metadata=meta))


async def history(stub, metadata, customer_id: str = "") -> list[pb.TagChange]:
    out: list[pb.TagChange] = []
    token = ""
    while True:
        reply = await stub.ListTagHistory(
            pb.ListTagHistoryRequest(
                customer_id=customer_id, page=common_pb2.PageRequest(page_size=3, page_token=token)
            ),
            metadata=metadata,
        )
        out.extend(reply.changes)
        token = reply.page.next_page_token
        if not token:
            return out
        assert len(reply.changes) == 3


async def test_tag_history_lists_only_the_teams_accounts(base) -> None:
    stub, managers = base
    everything = await history(stub, SERVICE)
    assert everything
    for team in TEAMS:
        meta = as_token(team_token(team))
        expected = [c.change_id for c in everything if managers[c.customer_id] in team]
        assert [c.change_id for c in await history(stub, meta)] == expected
        for cid, manager in managers.items():
            if manager in team:
                assert all(c.customer_id == cid for c in await history(stub, meta, cid))
            else:
                await denied(stub.ListTagHistory(pb.ListTagHistoryRequest(customer_id=cid), metadata=meta))
