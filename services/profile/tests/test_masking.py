"""Personal data is masked by role on every read path of a running profile (issue #14).

Analysts get names, phones, e-mails and notes masked on Customer360 (the stored read model
and the live path) and personal attributes masked in features; agents and services see them.
"""

from __future__ import annotations

import grpc
import pytest

from services.profile.tests.harness import feed, start_ingest, start_profile, wait_applied
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.auth import mask

TOKENS = {"tok-analyst": "analyst:ann", "tok-agent": "service:gus", "tok-service": "service:ingest"}


def as_role(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def secured(tmp_path):
    # Both services check tokens: profile follows ingest's log (a stream) with its own
    # service identity, read from a file.
    ingest, ingest_db = await start_ingest(f"sqlite:///{tmp_path / 'ingest.db'}", auth_tokens=TOKENS)
    accepted = await feed(ingest.address, accounts=6, months=4, token="tok-service")
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
    await wait_applied_as_service(stub, accepted)
    yield stub
    await channel.close()
    await service.stop(0)
    await ingest.stop(0)
    db.dispose()
    ingest_db.dispose()


async def wait_applied_as_service(stub, sequence: int) -> None:
    class Authorised:
        async def GetSyncStatus(self, request):
            return await stub.GetSyncStatus(request, metadata=as_role("tok-service"))

    await wait_applied(Authorised(), sequence)


async def some_customer(stub) -> str:
    reply = await stub.QuerySegment(pb.QuerySegmentRequest(expression=""), metadata=as_role("tok-service"))
    return reply.members[0].customer_id


@pytest.mark.parametrize("path", ["stored", "live"])
async def test_analysts_get_customer360_masked_and_agents_do_not(secured, path) -> None:
    cid = await some_customer(secured)
    request = pb.GetCustomer360Request(customer_id=cid)
    if path == "live":  # non-default limits bypass the stored read model
        request.recent_limit = 3
    agent = await secured.GetCustomer360(request, metadata=as_role("tok-agent"))
    analyst = await secured.GetCustomer360(request, metadata=as_role("tok-analyst"))
    assert agent.account.name and agent.contacts
    assert analyst.account.name == mask(agent.account.name) != agent.account.name
    for seen, real in zip(analyst.contacts, agent.contacts, strict=True):
        assert (seen.name, seen.phone, seen.email) == (mask(real.name), mask(real.phone), mask(real.email))
    for seen, real in zip(analyst.recent_interactions, agent.recent_interactions, strict=True):
        assert seen.notes == mask(real.notes)


async def test_no_token_is_refused(secured) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await secured.GetCustomer360(pb.GetCustomer360Request(customer_id="X"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_personal_attributes_are_masked_for_analysts_in_every_answer(secured) -> None:
    # The generated base carries the organisation's English name as attribute `name_en`.
    cid = await some_customer(secured)
    by_role = {}
    for token in ("tok-agent", "tok-analyst"):
        meta = as_role(token)
        view = await secured.GetCustomer360(pb.GetCustomer360Request(customer_id=cid), metadata=meta)
        features = await secured.GetFeatures(pb.GetFeaturesRequest(customer_ids=[cid]), metadata=meta)
        segment = await secured.QuerySegment(
            pb.QuerySegmentRequest(expression="", feature_names=["attr.name_en"]), metadata=meta
        )
        exported = [
            v
            async for batch in secured.ExportFeatures(
                pb.ExportFeaturesRequest(customer_ids=[cid], as_of=features.as_of, feature_names=["attr.name_en"]),
                metadata=meta,
            )
            for v in batch.vectors
        ]
        member = next(m for m in segment.members if m.customer_id == cid)
        by_role[token] = [
            view.account.attributes["name_en"].string_value,
            view.features["attr.name_en"].string_value,
            features.vectors[0].features["attr.name_en"].string_value,
            member.features["attr.name_en"].string_value,
            exported[0].features["attr.name_en"].string_value,
        ]
    real = by_role["tok-agent"]
    assert real[0] and len(set(real)) == 1, real
    assert by_role["tok-analyst"] == [mask(real[0])] * len(real)
    # Attributes that are not personal stay readable for analysts.
    view = await secured.GetCustomer360(pb.GetCustomer360Request(customer_id=cid), metadata=as_role("tok-analyst"))
    assert view.account.attributes["credit_rating"].string_value in ("AAA", "AA", "A", "BBB", "BB")
