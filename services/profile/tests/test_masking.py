"""Personal data is masked by role on every read path of a running profile (issue #14).

The policy (telco360_runtime.masking), asserted here field by field against what a service
sees: admin, service and account managers (on their own accounts) see everything; the call
centre sees the account's name and contact people's names and phones, but e-mails, notes,
service-event summaries and personal operator attributes masked; analysts and marketing see
all of those masked. Customer360 is read on the stored read model (rendered unmasked, masked
per caller in the store's worker thread) and on the live path, account and group level.
"""

from __future__ import annotations

import grpc
import pytest

from services.profile.tests.harness import feed, start_ingest, start_profile, wait_applied
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.auth import mask
from telco360_runtime.proto_jobs import wait_job

# A team lead over every manager of the generated base: account managers see their accounts unmasked.
ALL_MANAGERS = ",".join(f"AM{n}" for n in range(1001, 1021))
TOKENS = {
    "tok-admin": "admin:root",
    "tok-analyst": "analyst:ann",
    "tok-marketing": "marketing:mia",
    "tok-call-center": "call_center:gus",
    "tok-manager": f"account_manager:AM1000:{ALL_MANAGERS}",
    "tok-service": "service:ingest",
}
#: Which personal fields each role sees unmasked (everything else it gets masked).
SHOWN = {
    "tok-admin": {"account_name", "contact_name", "phone", "email", "notes"},
    "tok-manager": {"account_name", "contact_name", "phone", "email", "notes"},
    "tok-call-center": {"account_name", "contact_name", "phone"},
    "tok-analyst": set(),
    "tok-marketing": set(),
}


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


def shown_as(token: str, kind: str, value: str) -> str:
    return value if kind in SHOWN[token] else mask(value)


@pytest.mark.parametrize("level", [pb.VIEW_LEVEL_ACCOUNT, pb.VIEW_LEVEL_GROUP])
@pytest.mark.parametrize("path", ["stored", "live"])
async def test_customer360_is_masked_per_role(secured, path, level) -> None:
    customers = [m.customer_id for m in (await all_members(secured))]
    checked_notes = 0
    for cid in customers:
        request = pb.GetCustomer360Request(customer_id=cid, level=level)
        if path == "live":  # non-default limits bypass the stored read model
            request.recent_limit = 19
        real = await secured.GetCustomer360(request, metadata=as_role("tok-service"))
        assert real.account.name and real.contacts
        for token in SHOWN:
            seen = await secured.GetCustomer360(request, metadata=as_role(token))
            assert seen.account.name == shown_as(token, "account_name", real.account.name), token
            assert len(seen.contacts) == len(real.contacts)
            for got, want in zip(seen.contacts, real.contacts, strict=True):
                assert got.name == shown_as(token, "contact_name", want.name), token
                assert got.phone == shown_as(token, "phone", want.phone), token
                assert got.email == shown_as(token, "email", want.email), token
                assert (got.person_id, got.role, got.preferred_hours) == (
                    want.person_id,
                    want.role,
                    want.preferred_hours,
                )
            for got, want in zip(seen.recent_interactions, real.recent_interactions, strict=True):
                assert got.notes == shown_as(token, "notes", want.notes), token
            for got, want in zip(seen.recent_service_events, real.recent_service_events, strict=True):
                assert got.summary == shown_as(token, "notes", want.summary), token
                checked_notes += bool(want.summary)
            # Nothing that is not personal changes.
            assert (seen.account.customer_id, seen.account.tier, seen.account.account_manager_id) == (
                real.account.customer_id,
                real.account.tier,
                real.account.account_manager_id,
            )
    assert checked_notes  # the base has service-event summaries to mask


async def all_members(stub) -> list[pb.SegmentMember]:
    reply = await stub.QuerySegment(
        pb.QuerySegmentRequest(expression="", include_terminated=True), metadata=as_role("tok-service")
    )
    return list(reply.members)


async def test_segment_member_names_are_masked_per_role(secured) -> None:
    real = {m.customer_id: m.name for m in await all_members(secured)}
    for token in ("tok-admin", "tok-manager", "tok-analyst", "tok-marketing"):
        reply = await secured.QuerySegment(
            pb.QuerySegmentRequest(expression="", include_terminated=True), metadata=as_role(token)
        )
        assert {m.customer_id: m.name for m in reply.members} == {
            cid: shown_as(token, "account_name", name) for cid, name in real.items()
        }, token


async def test_no_token_is_refused(secured) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await secured.GetCustomer360(pb.GetCustomer360Request(customer_id="X"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def personal_attribute_answers(stub, cid: str, token: str) -> dict[str, str]:
    """attr.name_en as every path the role may call answers it (path -> value)."""
    meta = as_role(token)
    out = {}
    for name, request in (
        ("stored", pb.GetCustomer360Request(customer_id=cid)),
        ("live", pb.GetCustomer360Request(customer_id=cid, recent_limit=3)),
    ):
        view = await stub.GetCustomer360(request, metadata=meta)
        out[f"{name}.attributes"] = view.account.attributes["name_en"].string_value
        out[f"{name}.features"] = view.features["attr.name_en"].string_value
    if token in ("tok-service", "tok-admin", "tok-analyst", "tok-manager"):
        features = await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=[cid]), metadata=meta)
        out["GetFeatures"] = features.vectors[0].features["attr.name_en"].string_value
    if token != "tok-call-center":
        segment = await stub.QuerySegment(
            pb.QuerySegmentRequest(expression="", feature_names=["attr.name_en"]), metadata=meta
        )
        member = next(m for m in segment.members if m.customer_id == cid)
        out["QuerySegment"] = member.features["attr.name_en"].string_value
    if token in ("tok-service", "tok-admin", "tok-analyst"):
        as_of = (await stub.GetFeatures(pb.GetFeaturesRequest(customer_ids=[cid]), metadata=meta)).as_of
        exported = [
            v
            async for batch in stub.ExportFeatures(
                pb.ExportFeaturesRequest(customer_ids=[cid], as_of=as_of, feature_names=["attr.name_en"]),
                metadata=meta,
            )
            for v in batch.vectors
        ]
        out["ExportFeatures"] = exported[0].features["attr.name_en"].string_value
    return out


async def test_personal_attributes_are_masked_per_role_in_every_answer(secured) -> None:
    # The generated base carries the organisation's English name as attribute `name_en`.
    cid = (await all_members(secured))[0].customer_id
    real = await personal_attribute_answers(secured, cid, "tok-service")
    value = real["stored.attributes"]
    assert value and set(real.values()) == {value}, real
    for token, masked in (
        ("tok-admin", False),
        ("tok-manager", False),
        ("tok-call-center", True),
        ("tok-analyst", True),
        ("tok-marketing", True),
    ):
        seen = await personal_attribute_answers(secured, cid, token)
        assert seen == {path: mask(value) if masked else value for path in seen}, token
    # Attributes that are not personal stay readable for every role.
    for token in SHOWN:
        view = await secured.GetCustomer360(pb.GetCustomer360Request(customer_id=cid), metadata=as_role(token))
        assert view.account.attributes["credit_rating"].string_value in ("AAA", "AA", "A", "BBB", "BB")


async def test_tag_history_trigger_values_mask_personal_attributes(secured) -> None:
    # A rule over a personal attribute records its values as triggers: analysts get them masked.
    analyst = as_role("tok-analyst")
    change = await secured.CreateTagDefinition(
        pb.CreateTagDefinitionRequest(
            definition=pb.TagDefinition(
                tag_id="named",
                display_name="Named",
                category="test",
                enabled=True,
                expression='attr.name_en != ""',
            )
        ),
        metadata=analyst,
    )
    job = await wait_job(
        lambda request: secured.GetJob(request, metadata=analyst), change.job, poll_seconds=0.1, timeout=60
    )
    assert job.state == common_pb2.JOB_STATE_SUCCEEDED
    request = pb.ListTagHistoryRequest(tag_id="named")
    real = (await secured.ListTagHistory(request, metadata=as_role("tok-service"))).changes
    seen = (await secured.ListTagHistory(request, metadata=analyst)).changes
    values = [c.trigger_values["attr.name_en"].string_value for c in real]
    assert values and all(values)
    assert [c.trigger_values["attr.name_en"].string_value for c in seen] == [mask(v) for v in values]
