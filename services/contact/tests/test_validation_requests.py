"""Every field of every contact request is bounded, and a request learns every violation at
once: generated from the service descriptor (every rpc, every enum, text and repeated
field), plus the cases issues #12 and #21 reported, over real gRPC (SQLite and PostgreSQL)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.contact.api import request_checks
from services.contact.tests.harness import start_contact, start_peers
from telco360.contact.v1 import contact_pb2 as pb
from telco360_runtime import bounds
from telco360_runtime.status import field_violations

SERVICE = pb.DESCRIPTOR.services_by_name["ContactService"]
TIMESTAMP = "google.protobuf.Timestamp"


@pytest.fixture
async def node(db_url):
    profile, profile_server, scoring, scoring_server = await start_peers()
    contact = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    yield contact
    await contact.close()
    await profile_server.stop()
    await scoring_server.stop()


def leaves(descriptor: Descriptor, path: tuple[FieldDescriptor, ...] = (), depth: int = 0):
    """Every field reachable from a request type (Timestamps are leaves), as descriptor paths."""
    for field in descriptor.fields:
        here = path + (field,)
        yield here
        nested = field.message_type
        if nested is not None and nested.full_name != TIMESTAMP and not nested.GetOptions().map_entry and depth < 5:
            yield from leaves(nested, here, depth + 1)


def target(request: Message, path: tuple[FieldDescriptor, ...]) -> tuple[Message, str]:
    """The message holding the last field of `path` (first items created), and its request path."""
    msg, names = request, []
    for field in path[:-1]:
        if field.is_repeated:
            msg = getattr(msg, field.name).add()
            names.append(f"{field.name}[0]")
        else:
            msg = getattr(msg, field.name)
            names.append(field.name)
    names.append(path[-1].name)
    return msg, ".".join(names)


def valid_item(field: FieldDescriptor):
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-1].number
    if field.type == FieldDescriptor.TYPE_STRING:
        return "a"
    if field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
        return 1
    return None


def faults(method) -> list[tuple[Message, str, str]]:
    """(request, field path, expected reason) for every enum, text and repeated field."""
    cases = []
    for path in leaves(method.input_type):
        field = path[-1]
        request = method.input_type._concrete_class()
        holder, where = target(request, path)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entries = getattr(holder, field.name)
            for i in range(request_checks.LIST_LIMITS.get(field.name, bounds.LIST_MAX) + 1):
                entries[f"k{i}"] = "v"
            cases.append((request, where, bounds.TOO_MANY))
            continue
        if field.is_repeated:
            limit = request_checks.LIST_LIMITS.get(field.name, bounds.LIST_MAX)
            items = getattr(holder, field.name)
            if field.message_type is not None:
                for _ in range(limit + 1):
                    items.add()
            elif valid_item(field) is not None:
                items.extend([valid_item(field)] * (limit + 1))
            else:
                continue
            cases.append((request, where, bounds.TOO_MANY))
            request = method.input_type._concrete_class()
            holder, where = target(request, path)
            if field.type == FieldDescriptor.TYPE_ENUM:
                getattr(holder, field.name).append(999)
                cases.append((request, f"{where}[0]", bounds.UNKNOWN_ENUM))
            elif field.type == FieldDescriptor.TYPE_STRING:
                limit = request_checks.TEXT_LIMITS.get(field.name, bounds.SHORT_TEXT_MAX)
                getattr(holder, field.name).append("x" * (limit + 1))
                cases.append((request, f"{where}[0]", bounds.TOO_LONG))
        elif field.type == FieldDescriptor.TYPE_ENUM:
            setattr(holder, field.name, 999)
            cases.append((request, where, bounds.UNKNOWN_ENUM))
        elif field.type == FieldDescriptor.TYPE_STRING:
            limit = request_checks.TEXT_LIMITS.get(field.name, bounds.SHORT_TEXT_MAX)
            setattr(holder, field.name, "x" * (limit + 1))
            cases.append((request, where, bounds.TOO_LONG))
        elif field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64) and field.name != "delta":
            setattr(holder, field.name, -1)
            lo, _ = request_checks.INT_RANGES.get(field.name, (0, 0))
            if lo <= -1:
                continue
            cases.append((request, where, bounds.OUT_OF_RANGE))
        elif field.type == FieldDescriptor.TYPE_DOUBLE:
            setattr(holder, field.name, float("nan"))
            cases.append((request, where, bounds.NOT_FINITE))
    return cases


def test_every_string_field_of_every_request_has_a_named_limit() -> None:
    """A new text field must be given its limit on purpose (the default is only a fallback)."""
    missing = set()
    for method in SERVICE.methods:
        for path in leaves(method.input_type):
            field = path[-1]
            if field.type == FieldDescriptor.TYPE_STRING and field.name not in request_checks.TEXT_LIMITS:
                missing.add(f"{method.input_type.name}.{field.name}")
    assert not missing, missing


async def test_every_field_fault_of_every_rpc_is_invalid_argument_naming_the_field(node) -> None:
    count = 0
    for method in SERVICE.methods:
        call = getattr(node.stub, method.name)
        for request, where, reason in faults(method):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call(request)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method.name, where, error.value.details())
            found = {(v.field, v.reason) for v in field_violations(error.value)}
            assert (where, reason) in found, (method.name, where, reason, found)
            count += 1
    assert count > 300
    # The service is still answering normally afterwards.
    await node.stub.ListOffers(pb.ListOffersRequest())


@pytest.mark.parametrize(
    "rpc, message, field",
    [
        ("ListOffers", pb.ListOffersRequest(category=999), "category"),
        ("ListCampaigns", pb.ListCampaignsRequest(state=999), "state"),
        ("ListProposals", pb.ListProposalsRequest(state=-7), "state"),
        ("GetNextBestOffer", pb.GetNextBestOfferRequest(customer_id="C1", channel=999), "channel"),
        (
            "CreateCampaign",
            pb.CreateCampaignRequest(
                campaign=pb.Campaign(
                    campaign_id="c", name="c", triggers=[pb.CampaignTrigger(kind=1, min_risk_band=999)]
                )
            ),
            "campaign.triggers[0].min_risk_band",
        ),
        (
            "CreatePolicy",
            pb.CreatePolicyRequest(policy=pb.ContactPolicy(policy_id="p", name="p", applies_to_tiers=[1, 99])),
            "policy.applies_to_tiers[1]",
        ),
        (
            "SetOptOut",
            pb.SetOptOutRequest(opt_out=pb.OptOut(customer_id="C1", kind=1, reason="r", source="s", purposes=[-3])),
            "opt_out.purposes[0]",
        ),
    ],
)
async def test_issue_enum_cases_answer_unknown_enum(node, rpc: str, message: Message, field: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(node.stub, rpc)(message)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (field, bounds.UNKNOWN_ENUM) in {(v.field, v.reason) for v in field_violations(error.value)}


async def test_long_and_odd_time_zones_answer_invalid_argument(node) -> None:
    zones = ["Z" * 300, "America", "../../etc/passwd", "Asia/Shanghai\x00", "Ｕｔｃ", "Mars/Olympus"]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await node.stub.CreatePolicy(
            pb.CreatePolicyRequest(policy=pb.ContactPolicy(policy_id="tz", name="tz", fallback_time_zones=zones))
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = {(v.field, v.reason) for v in field_violations(error.value)}
    assert ("policy.fallback_time_zones[0]", bounds.TOO_LONG) in found
    for i in range(1, len(zones)):
        assert (f"policy.fallback_time_zones[{i}]", "BAD_TIME_ZONE") in found
    assert all("Z" * 50 not in v.description for v in field_violations(error.value))
    ok = await node.stub.CreatePolicy(
        pb.CreatePolicyRequest(
            policy=pb.ContactPolicy(policy_id="tz", name="tz", fallback_time_zones=["Asia/Shanghai", "UTC"])
        )
    )
    assert list(ok.fallback_time_zones) == ["Asia/Shanghai", "UTC"]
