"""`telco360 audit` against a real AuditService (a runtime server over a SQLite trail)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData
from typer.testing import CliRunner

from telco360_cli.app import app
from telco360_runtime import audit_api, context
from telco360_runtime.audit import AuditTrail, audit_table
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService
from telco360_runtime.settings import ServiceSettings

TOKENS = {"tok-admin": "admin:root", "tok-an": "analyst:ann"}


@pytest.fixture
async def served(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}", workers=2)
    metadata = MetaData()
    table = audit_table(metadata)
    metadata.create_all(db.engine)
    trail = AuditTrail(db, table)

    def as_caller(role: str, subject: str, action: str, ids: list[str]) -> None:
        def body() -> None:
            context.bind("rid", f"/telco360.profile.v1.ProfileService/{action}", None)
            context.set_caller(role, subject)
            trail.record(action, ids, "level=account")

        context.detached_context().run(body)

    for i in range(4):
        as_caller("call_center", "gus", "GetCustomer360", [f"C{i}"])
    as_caller("analyst", "ann", "ExportFeatures", [f"C{i}" for i in range(10)])
    service = GrpcService(
        ServiceSettings(service_name="profile", port=0, auth_tokens=TOKENS), [audit_api.registration(trail)]
    )
    await service.start()
    yield service.address
    await service.stop(0)
    db.dispose()


async def cli(address: str, *args: str, token: str = "tok-admin"):
    argv = ["--profile-addr", address, "--token", token, "audit", "--service", "profile", *args]
    return await asyncio.to_thread(CliRunner().invoke, app, argv)


@pytest.fixture(autouse=True)
def _wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich folds cells to the terminal's width


async def test_the_trail_prints_as_a_table_with_filters_and_limits(served) -> None:
    everything = await cli(served)
    assert everything.exit_code == 0, everything.output
    assert "Audit trail of profile" in everything.output and "gus (call_center)" in everything.output
    assert "C0, C1, C2 (+7)" in everything.output and "ExportFeatures" in everything.output

    only = await cli(served, "--customer", "C3", "--caller", "gus")
    assert only.exit_code == 0 and "C3" in only.output and "ann" not in only.output

    limited = await cli(served, "--caller", "gus", "--limit", "2")
    assert limited.exit_code == 0 and "raise --limit" in limited.output
    assert "C3" in limited.output and "C2" in limited.output and "C1" not in limited.output

    none = await cli(served, "--since", "2199-01-01")
    assert none.exit_code == 0 and "no audit entries in profile match" in none.output


async def test_refusals_and_bad_input_exit_non_zero(served) -> None:
    denied = await cli(served, token="tok-an")
    assert denied.exit_code == 1 and "PERMISSION_DENIED" in denied.output
    bad = await cli(served, "--until", "2026-01-01", "--since", "2026-02-01")
    assert bad.exit_code == 1 and "until" in bad.output
    unknown = await cli(served, "--service", "billing")
    assert unknown.exit_code != 0
