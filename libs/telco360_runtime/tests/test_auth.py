"""Authentication and role tables, against a real server.

Static tokens (development), signed JWTs (issuer, audience, expiry, signature, role, team),
keys rotated in their file without a restart, role tables enforced before any handler runs,
per-method request size bounds, and no role at all outside a call (fail-safe).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telco360_runtime import auth, context, jwt_tokens, masking
from telco360_runtime.access import allow
from telco360_runtime.errors import Unauthenticated

from .conftest import raw_service

AUDIENCE = "test"


def _private_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def signing(tmp_path: Path):
    """An Ed25519 signing key, its public key in a keys file, and a mint helper."""
    key = ed25519.Ed25519PrivateKey.generate()
    keys_file = tmp_path / "jwt-keys.pem"
    keys_file.write_bytes(_public_pem(key))

    def mint(role: str = "analyst", subject: str = "ann", *, signer=key, **claims) -> str:
        claims.setdefault("audience", AUDIENCE)
        return jwt_tokens.mint(_private_pem(signer), subject=subject, role=role, **claims)

    return key, keys_file, mint


def _meta(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_static_grants_name_a_role_a_subject_and_a_team() -> None:
    assert auth.parse_grant("t1", "admin:alice") == auth.Caller("admin", "alice")
    plain = auth.parse_grant("t2", "call_center")
    # Without a subject the caller is a stable digest of the token, never the token itself.
    assert plain.role == "call_center" and plain.subject.startswith("token-") and "t2" not in plain.subject
    assert plain == auth.parse_grant("t2", "call_center")
    lead = auth.parse_grant("t3", "account_manager:AM1001:AM1002,AM1003")
    assert lead.scope == frozenset({"AM1001", "AM1002", "AM1003"})
    assert auth.parse_grant("t4", "account_manager:AM1009").scope == frozenset({"AM1009"})
    assert auth.parse_grant("t5", "analyst:ann").scope is None


def test_static_tokens_identify_or_refuse() -> None:
    tokens = auth.StaticTokens({"s3cret": "admin:alice", "other": "analyst"})
    assert tokens.identify("/x.Y/Z", _meta("s3cret")) == auth.Caller("admin", "alice")
    assert tokens.identify("/x.Y/Z", _meta("other")).role == "analyst"
    for metadata in ({}, _meta("nope"), {"authorization": "Basic s3cret"}, {"authorization": "Bearer "}):
        with pytest.raises(Unauthenticated):
            tokens.identify("/x.Y/Z", metadata)
    assert auth.NoAuthentication().identify("/x.Y/Z", {}) == auth.Caller("admin", auth.ANONYMOUS)


def test_a_valid_jwt_names_its_caller_and_team(signing) -> None:
    _, keys_file, mint = signing
    verifier = auth.JwtAuthenticator(auth.KeyFile(str(keys_file)), issuer="telco360", audience=AUDIENCE)
    caller = verifier.identify("/x.Y/Z", _meta(mint("account_manager", "AM1001", team=["AM1002"])))
    assert caller == auth.Caller("account_manager", "AM1001", frozenset({"AM1001", "AM1002"}))
    # A list audience naming this service is accepted too (one CLI token for every service).
    assert verifier.identify("/x.Y/Z", _meta(mint(audience=["other", AUDIENCE]))).subject == "ann"


def test_every_bad_jwt_is_unauthenticated_with_its_reason(signing) -> None:
    _, keys_file, mint = signing
    verifier = auth.JwtAuthenticator(auth.KeyFile(str(keys_file)), issuer="telco360", audience=AUDIENCE, leeway_s=0)
    stranger = ed25519.Ed25519PrivateKey.generate()
    cases = {
        "expired": (mint(ttl_seconds=-60), "expired"),
        "badly signed": (mint(signer=stranger), "signature"),
        "wrong audience": (mint(audience="scoring"), "audience"),
        "wrong issuer": (mint(issuer="elsewhere"), "issuer"),
        "not a JWT": ("abc.def", "not a JWT"),
    }
    for name, (token, reason) in cases.items():
        with pytest.raises(Unauthenticated) as caught:
            verifier.identify("/x.Y/Z", _meta(token))
        assert reason in str(caught.value), name
    # A token whose payload was edited after signing (role raised to admin) fails its signature.
    header, payload, signature = mint().split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthenticated):
        verifier.identify("/x.Y/Z", _meta(f"{header}.{forged}.{signature}"))


def test_jwt_roles_must_be_known(signing) -> None:
    key, keys_file, _ = signing
    import jwt

    verifier = auth.JwtAuthenticator(auth.KeyFile(str(keys_file)), issuer="telco360", audience=AUDIENCE)
    claims = {"iss": "telco360", "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    for role in ("root", "agent", "", None, 7):
        token = jwt.encode({**claims, "role": role}, key, algorithm="EdDSA")
        with pytest.raises(Unauthenticated, match="role"):
            verifier.identify("/x.Y/Z", _meta(token))
    with pytest.raises(Unauthenticated, match="team"):
        verifier.identify(
            "/x.Y/Z", _meta(jwt.encode({**claims, "role": "account_manager", "team": "AM1"}, key, algorithm="EdDSA"))
        )
    with pytest.raises(ValueError):
        jwt_tokens.mint(_private_pem(key), subject="x", role="root", audience=AUDIENCE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.hex()))
def test_arbitrary_bearer_text_is_unauthenticated_never_a_crash(signing, garbage: str) -> None:
    _, keys_file, _ = signing
    verifier = auth.JwtAuthenticator(auth.KeyFile(str(keys_file)), issuer="telco360", audience=AUDIENCE)
    with pytest.raises(Unauthenticated):
        verifier.identify("/x.Y/Z", {"authorization": f"Bearer {garbage}"})


def test_keys_rotate_in_their_file_without_restart(signing, tmp_path: Path) -> None:
    old_key, keys_file, mint = signing
    keys = auth.KeyFile(str(keys_file), check_every_s=0)
    verifier = auth.JwtAuthenticator(keys, issuer="telco360", audience=AUDIENCE)
    old_token = mint()
    assert verifier.identify("/x.Y/Z", _meta(old_token)).subject == "ann"
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_token = mint(signer=new_key, subject="bob")
    with pytest.raises(Unauthenticated):
        verifier.identify("/x.Y/Z", _meta(new_token))
    # Overlap: both keys trusted while tokens signed by the old one are still about.
    keys_file.write_bytes(_public_pem(old_key) + _public_pem(new_key))
    os.utime(keys_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert verifier.identify("/x.Y/Z", _meta(new_token)).subject == "bob"
    assert verifier.identify("/x.Y/Z", _meta(old_token)).subject == "ann"
    # The old key retired: its tokens stop working even though they were verified before.
    keys_file.write_bytes(_public_pem(new_key))
    os.utime(keys_file, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    with pytest.raises(Unauthenticated):
        verifier.identify("/x.Y/Z", _meta(old_token))
    assert verifier.identify("/x.Y/Z", _meta(new_token)).subject == "bob"


def test_jwks_documents_select_keys_by_kid(tmp_path: Path) -> None:
    import json

    import jwt

    key = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "EdDSA"}]}))
    verifier = auth.JwtAuthenticator(auth.KeyFile(str(jwks)), issuer="telco360", audience=AUDIENCE)
    token = jwt_tokens.mint(_private_pem(key), subject="s", role="service", audience=AUDIENCE, kid="k1")
    assert verifier.identify("/x.Y/Z", _meta(token)).role == "service"
    other = jwt_tokens.mint(_private_pem(key), subject="s", role="service", audience=AUDIENCE, kid="k2")
    with pytest.raises(Unauthenticated):
        verifier.identify("/x.Y/Z", _meta(other))


def test_settings_refuse_an_incomplete_auth_mode(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from telco360_runtime.settings import ServiceSettings

    with pytest.raises(ValidationError):
        ServiceSettings(auth_mode="jwt")
    with pytest.raises(ValidationError):
        ServiceSettings(auth_mode="static")
    assert ServiceSettings().resolved_auth_mode() == "off"
    assert ServiceSettings(auth_tokens={"t": "admin"}).resolved_auth_mode() == "static"
    with pytest.raises(FileNotFoundError):
        ServiceSettings(jwt_keys_file=str(tmp_path / "missing.pem")).authenticator()


@pytest.mark.parametrize(
    "tokens",
    [{"t1": "analist"}, {"t1": "root:alice"}, {"t1": ""}, {"": "admin"}, {"two words": "admin"}, {"t1": "agent"}],
)
def test_settings_refuse_unknown_roles_and_blank_tokens(tokens) -> None:
    from pydantic import ValidationError

    from telco360_runtime.settings import ServiceSettings

    with pytest.raises(ValidationError):
        ServiceSettings(auth_tokens=tokens)
    assert ServiceSettings(auth_tokens={"t1": "analyst:ann", "t2": "service"}).auth_tokens["t2"] == "service"


async def _whoami(request: bytes, ctx) -> bytes:
    scope = context.caller_scope()
    return "|".join(
        [context.caller_identity(), context.method(), ",".join(sorted(scope)) if scope is not None else "-"]
    ).encode()


async def test_the_jwt_caller_is_bound_to_the_call_and_nothing_leaks(start_service, signing) -> None:
    _, keys_file, mint = signing
    service = await start_service(
        [raw_service("test.Who", {"WhoAmI": _whoami})], name=AUDIENCE, jwt_keys_file=str(keys_file)
    )
    async with grpc.aio.insecure_channel(service.address) as channel:
        method = channel.unary_unary("/test.Who/WhoAmI")
        reply = await method(b"", metadata=(("authorization", f"Bearer {mint('account_manager', 'AM7')}"),))
        assert reply == b"AM7 (account_manager)|/test.Who/WhoAmI|AM7"
        for token in ("", mint(ttl_seconds=-120), mint(audience="elsewhere")):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await method(b"", metadata=(("authorization", f"Bearer {token}"),))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # Outside a call nothing leaks from the last one, and there is no role at all.
    assert context.caller_subject() == auth.ANONYMOUS
    assert context.caller_role() == context.NO_ROLE
    assert not any(masking.shows(kind) for kind in masking.KINDS)
    with pytest.raises(Exception, match="may not"):
        auth.require_role(("analyst",))


async def test_role_tables_are_enforced_before_the_handler(start_service) -> None:
    ran: list[str] = []

    async def touch(request: bytes, ctx) -> bytes:
        ran.append(context.caller_role())
        return b"ok"

    table = {"Read": allow("analyst", "call_center"), "Write": allow("marketing", max_request_kb=1)}
    tokens = {f"t-{role}": role for role in auth.ROLES}
    service = await start_service(
        [raw_service("test.Tab", {"Read": touch, "Write": touch, "Unlisted": touch}, access=table)], auth_tokens=tokens
    )
    async with grpc.aio.insecure_channel(service.address) as channel:
        for method_name in ("Read", "Write", "Unlisted"):
            method = channel.unary_unary(f"/test.Tab/{method_name}")
            for role in auth.ROLES:
                allowed = role == "admin" or (method_name in table and role in table[method_name].roles)
                ran.clear()
                try:
                    await method(b"", metadata=(("authorization", f"Bearer t-{role}"),))
                    code = grpc.StatusCode.OK
                except grpc.aio.AioRpcError as error:
                    code = error.code()
                assert code == (grpc.StatusCode.OK if allowed else grpc.StatusCode.PERMISSION_DENIED), (
                    method_name,
                    role,
                )
                assert ran == ([role] if allowed else []), "a refused call must not reach its handler"
        # The per-method size bound: 1 KiB for Write, refused before decoding with a field violation.
        write = channel.unary_unary("/test.Tab/Write")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await write(b"x" * 2048, metadata=(("authorization", "Bearer t-admin"),))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "at most 1024 bytes" in caught.value.details() or "larger" in caught.value.details()
        # The bound is checked after authentication: a stranger learns nothing about sizes.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await write(b"x" * 2048)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
