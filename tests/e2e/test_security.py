"""The demo suite, as it runs by default (mutual TLS, JWT, services calling each other with
their own identities), tried from outside as a client and as an attacker would."""

from __future__ import annotations

import json

import grpc
import pytest

from telco360.audit.v1 import audit_pb2, audit_pb2_grpc
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime import jwt_tokens
from telco360_runtime.devpki import CLIENT_NAME, Pki

pytestmark = pytest.mark.e2e


def _suite(demo_run) -> tuple[Pki, dict[str, str]]:
    state = json.loads((demo_run.var_dir / "run" / "suite.json").read_text())
    addresses = {name: f"127.0.0.1:{info['port']}" for name, info in state["services"].items()}
    return Pki(demo_run.var_dir / "pki"), addresses


def _mtls(pki: Pki) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        pki.ca_file.read_bytes(), pki.key_file(CLIENT_NAME).read_bytes(), pki.cert_file(CLIENT_NAME).read_bytes()
    )


def _as(pki: Pki, role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {pki.token_file(role).read_text().strip()}"),)


def _code(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _some_customer(stub, pki: Pki) -> str:
    page = stub.QuerySegment(profile_pb2.QuerySegmentRequest(), metadata=_as(pki, "admin"), timeout=30)
    return page.members[0].customer_id


def test_plaintext_and_certificate_less_clients_are_refused(demo_run) -> None:
    pki, addresses = _suite(demo_run)
    request = profile_pb2.GetFeatureSchemaRequest()
    with grpc.insecure_channel(addresses["profile"]) as channel:
        stub = profile_pb2_grpc.ProfileServiceStub(channel)
        assert _code(lambda: stub.GetFeatureSchema(request, metadata=_as(pki, "admin"), timeout=5)) in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.INTERNAL,
        )
    server_only = grpc.ssl_channel_credentials(pki.ca_file.read_bytes())
    with grpc.secure_channel(addresses["profile"], server_only) as channel:
        stub = profile_pb2_grpc.ProfileServiceStub(channel)
        assert (
            _code(lambda: stub.GetFeatureSchema(request, metadata=_as(pki, "admin"), timeout=5)) != grpc.StatusCode.OK
        )


def test_tokens_are_checked_on_the_secure_channel(demo_run) -> None:
    pki, addresses = _suite(demo_run)
    request = profile_pb2.GetFeatureSchemaRequest()
    signing_key = pki.jwt_signing_key.read_bytes()
    expired = jwt_tokens.mint(signing_key, subject="x", role="admin", audience="profile", ttl_seconds=-600)
    wrong_audience = jwt_tokens.mint(signing_key, subject="x", role="admin", audience="scoring")
    with grpc.secure_channel(addresses["profile"], _mtls(pki)) as channel:
        stub = profile_pb2_grpc.ProfileServiceStub(channel)
        assert _code(lambda: stub.GetFeatureSchema(request, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED
        for token in (expired, wrong_audience, pki.token_file("admin").read_text().strip() + "x"):
            metadata = (("authorization", f"Bearer {token}"),)
            assert _code(lambda metadata=metadata: stub.GetFeatureSchema(request, metadata=metadata, timeout=5)) == (
                grpc.StatusCode.UNAUTHENTICATED
            )
        assert _code(lambda: stub.GetFeatureSchema(request, metadata=_as(pki, "analyst"), timeout=5)) == (
            grpc.StatusCode.OK
        )


def test_customer360_is_complete_and_masked_by_role_with_peers_calling_each_other(demo_run) -> None:
    pki, addresses = _suite(demo_run)
    with grpc.secure_channel(addresses["profile"], _mtls(pki)) as channel:
        stub = profile_pb2_grpc.ProfileServiceStub(channel)
        cid = _some_customer(stub, pki)
        request = profile_pb2.GetCustomer360Request(customer_id=cid)
        views = {}
        for role in ("admin", "analyst", "call_center"):
            for _ in range(3):  # the first view after start may wait on a peer's TLS handshake
                views[role] = stub.GetCustomer360(request, metadata=_as(pki, role), timeout=30)
                if not views[role].unavailable:
                    break
        # Profile reached scoring and contact with its own service identity over mutual TLS.
        assert list(views["admin"].unavailable) == []
        admin, analyst, agent = views["admin"], views["analyst"], views["call_center"]
        assert admin.account.name and analyst.account.name != admin.account.name
        assert agent.account.name == admin.account.name  # what the agent must say
        with_email = [c for c in admin.contacts if c.email]
        if with_email:
            masked = {c.email for c in agent.contacts}
            assert not masked & {c.email for c in with_email}
        # The analyst's read is on the audit trail, without the names it returned.
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        listed = audit.ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(account_id=cid, subject="demo-analyst"),
            metadata=_as(pki, "admin"),
            timeout=10,
        )
        assert listed.entries, "no audit entry for the analyst's Customer360 read"
        assert admin.account.name not in str(listed)


def test_roles_and_teams_are_enforced(demo_run) -> None:
    pki, addresses = _suite(demo_run)
    with grpc.secure_channel(addresses["scoring"], _mtls(pki)) as channel:
        stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        promote = scoring_pb2.PromoteModelRequest(model_id="any")
        for role in ("call_center", "marketing", "account_manager"):
            assert _code(lambda role=role: stub.PromoteModel(promote, metadata=_as(pki, role), timeout=5)) == (
                grpc.StatusCode.PERMISSION_DENIED
            ), role
    with grpc.secure_channel(addresses["profile"], _mtls(pki)) as channel:
        stub = profile_pb2_grpc.ProfileServiceStub(channel)
        everything = profile_pb2.QuerySegmentRequest(page=common_pb2.PageRequest(page_size=1000))
        segment = stub.QuerySegment(everything, metadata=_as(pki, "account_manager"), timeout=30)
        everyone = stub.QuerySegment(everything, metadata=_as(pki, "admin"), timeout=30)
        assert 0 < segment.count < everyone.count
        theirs = {m.customer_id for m in segment.members}
        other = next(m.customer_id for m in everyone.members if m.customer_id not in theirs)
        request = profile_pb2.GetCustomer360Request(customer_id=other)
        assert _code(lambda: stub.GetCustomer360(request, metadata=_as(pki, "account_manager"), timeout=10)) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
