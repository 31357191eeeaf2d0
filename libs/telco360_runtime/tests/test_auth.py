"""Caller identity: tokens may name their holder ("role:subject"); the subject and role are
bound to each call for audit records, and plain "role" tokens keep working as before."""

from __future__ import annotations

import grpc
import pytest

from telco360_runtime import auth, context
from telco360_runtime.errors import Unauthenticated

from .conftest import raw_service


def test_grants_name_a_role_and_optionally_a_subject() -> None:
    assert auth.parse_grant("t1", "admin:alice") == auth.Caller("admin", "alice")
    plain = auth.parse_grant("t2", "agent")
    # Without a subject the caller is a stable digest of the token, never the token itself.
    assert plain.role == "agent" and plain.subject.startswith("token-") and "t2" not in plain.subject
    assert plain == auth.parse_grant("t2", "agent")
    assert auth.parse_grant("t1", "admin:alice").identity == "alice (admin)"


def test_identify_and_authenticate() -> None:
    tokens = {"s3cret": "admin:alice", "other": "analyst"}
    bearer = {"authorization": "Bearer s3cret"}
    assert auth.identify("/x.Y/Z", bearer, tokens) == auth.Caller("admin", "alice")
    # authenticate keeps its contract: the role only.
    assert auth.authenticate("/x.Y/Z", bearer, tokens) == "admin"
    assert auth.authenticate("/x.Y/Z", {"authorization": "Bearer other"}, tokens) == "analyst"
    assert auth.identify("/x.Y/Z", {}, {}) == auth.Caller("admin", auth.ANONYMOUS)
    with pytest.raises(Unauthenticated):
        auth.identify("/x.Y/Z", {"authorization": "Bearer nope"}, tokens)


async def test_the_callers_identity_is_bound_to_the_call(start_service) -> None:
    async def whoami(request: bytes, ctx) -> bytes:
        return f"{context.caller_identity()}|{context.caller_subject()}|{context.caller_role()}".encode()

    service = await start_service(
        [raw_service("test.Who", {"WhoAmI": whoami})], auth_tokens={"s3cret": "admin:alice", "legacy": "agent"}
    )
    async with grpc.aio.insecure_channel(service.address) as channel:
        method = channel.unary_unary("/test.Who/WhoAmI")
        reply = await method(b"", metadata=(("authorization", "Bearer s3cret"),))
        assert reply == b"alice (admin)|alice|admin"
        legacy = (await method(b"", metadata=(("authorization", "Bearer legacy"),))).decode()
        identity, subject, role = legacy.split("|")
        assert role == "agent" and subject.startswith("token-") and identity == f"{subject} (agent)"
    # Outside a call nothing leaks from the last one.
    assert context.caller_subject() == auth.ANONYMOUS


@pytest.mark.parametrize(
    "tokens",
    [{"t1": "analist"}, {"t1": "root:alice"}, {"t1": ""}, {"": "admin"}, {"two words": "admin"}],
)
def test_settings_refuse_unknown_roles_and_blank_tokens(tokens) -> None:
    from pydantic import ValidationError

    from telco360_runtime.settings import ServiceSettings

    with pytest.raises(ValidationError):
        ServiceSettings(auth_tokens=tokens)
    assert ServiceSettings(auth_tokens={"t1": "analyst:ann", "t2": "service"}).auth_tokens["t2"] == "service"
