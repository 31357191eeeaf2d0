"""Every RPC of every service has a role-table entry, and the running servers enforce it.

Generated from the tables (services/<svc>/api/access.py) and the protos: each method is
called by a caller of every role against the real service (SQLite store; peers absent,
so calls that need one may answer UNAVAILABLE). A role the table admits never gets
PERMISSION_DENIED from the interceptor; every other role always does, and its call never
reaches a handler (nothing of it is stored). The request is the method's empty message,
which may well be invalid: what is asserted is who gets past the door, not the answer.
"""

from __future__ import annotations

import importlib
import pathlib
from collections.abc import AsyncIterator

import grpc
import pytest

from telco360.audit.v1 import audit_pb2
from telco360_runtime import auth
from telco360_runtime.access import roles_allowed
from telco360_runtime.audit_api import AUDIT_ACCESS
from telco360_runtime.bootstrap import open_store

pytestmark = pytest.mark.integration

SERVICES = {
    "ingest": "telco360.ingest.v1.IngestService",
    "profile": "telco360.profile.v1.ProfileService",
    "scoring": "telco360.scoring.v1.ScoringService",
    "contact": "telco360.contact.v1.ContactService",
}
TOKENS = {f"tok-{role}": (f"{role}:AM1001" if role == auth.SCOPED_ROLE else f"{role}:{role}-1") for role in auth.ROLES}
#: Refused for lacking the role, as the interceptor words it (a handler's own refusal differs).
INTERCEPTOR_REFUSAL = "may not call"


def _service_descriptor(name: str):
    module = importlib.import_module(f"telco360.{name}.v1.{name}_pb2")
    return module.DESCRIPTOR.services_by_name[SERVICES[name].rsplit(".", 1)[-1]]


def _access(name: str) -> dict:
    return importlib.import_module(f"services.{name}.api.access").ACCESS


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_rpc_has_exactly_one_role_table_entry(name: str) -> None:
    methods = {m.name for m in _service_descriptor(name).methods}
    table = _access(name)
    assert sorted(methods - set(table)) == [], f"{name}: RPCs with no role-table entry (admin-only until decided)"
    assert sorted(set(table) - methods) == [], f"{name}: role-table entries for RPCs that do not exist"


def _settings(name: str, tmp_path: pathlib.Path):
    module = importlib.import_module(f"services.{name}.settings")
    cls = next(getattr(module, attr) for attr in dir(module) if attr.endswith("Settings") and attr != "ServiceSettings")
    extra = {"report_dir": str(tmp_path / "reports")} if name == "scoring" else {}
    closed = {f"{peer}_addr": "127.0.0.1:1" for peer in SERVICES if peer != name and f"{peer}_addr" in cls.model_fields}
    return cls(
        port=0,
        host="127.0.0.1",
        database_url=f"sqlite:///{tmp_path / (name + '.db')}",
        auth_tokens=TOKENS,
        grace_seconds=0.5,
        **closed,
        **extra,
    )


async def _call(channel: grpc.aio.Channel, method, token: str) -> tuple[grpc.StatusCode, str]:
    path = f"/{method.containing_service.full_name}/{method.name}"
    request_type = importlib.import_module(
        method.input_type.file.name.replace("/", ".").removesuffix(".proto") + "_pb2"
    )
    message = getattr(request_type, method.input_type.name)()
    metadata = (("authorization", f"Bearer {token}"),)
    kwargs = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": lambda b: b,
    }
    try:
        if method.client_streaming:

            async def one() -> AsyncIterator:
                yield message

            if method.server_streaming:
                call = channel.stream_stream(path, **kwargs)(one(), metadata=metadata, timeout=1.5)
                async for _ in call:
                    break
            else:
                await channel.stream_unary(path, **kwargs)(one(), metadata=metadata, timeout=1.5)
        elif method.server_streaming:
            call = channel.unary_stream(path, **kwargs)(message, metadata=metadata, timeout=1.5)
            async for _ in call:
                break
        else:
            await channel.unary_unary(path, **kwargs)(message, metadata=metadata, timeout=1.5)
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_every_rpc_answers_each_role_as_its_table_says(name: str, tmp_path: pathlib.Path) -> None:
    import asyncio

    settings = _settings(name, tmp_path)
    migrations = importlib.import_module(f"services.{name}.store")
    migrations_dir = getattr(migrations, "MIGRATIONS_DIR", None)
    if migrations_dir is None:
        migrations_dir = importlib.import_module(f"services.{name}.store.paths").MIGRATIONS_DIR
    db = await asyncio.to_thread(open_store, settings, migrations_dir)
    service = importlib.import_module(f"services.{name}.app").build_service(settings, db)
    if asyncio.iscoroutine(service):
        service = await service
    await service.start()
    own = [(method, _access(name)) for method in _service_descriptor(name).methods]
    # Every server also serves its audit trail, admin only.
    audit = [(method, AUDIT_ACCESS) for method in audit_pb2.DESCRIPTOR.services_by_name["AuditService"].methods]
    wrong: list[str] = []
    try:
        async with grpc.aio.insecure_channel(service.address) as channel:
            for method, table in own + audit:
                allowed = roles_allowed(table, method.name)
                for role in auth.ROLES:
                    code, details = await _call(channel, method, f"tok-{role}")
                    refused = code == grpc.StatusCode.PERMISSION_DENIED and INTERCEPTOR_REFUSAL in details
                    if refused == (role in allowed):
                        wrong.append(f"{method.name} as {role}: {code.name} {details[:80]}")
                # No token at all: the door is closed to strangers on every method.
                code, _ = await _call(channel, method, "not-a-token")
                if code != grpc.StatusCode.UNAUTHENTICATED:
                    wrong.append(f"{method.name} without a valid token: {code.name}")
    finally:
        await service.stop(0)
        db.dispose()
    assert wrong == [], "\n".join(wrong)
