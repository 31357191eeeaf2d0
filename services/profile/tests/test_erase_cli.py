"""`telco360 erase` against profile's real server: erase, repeat, status, list, reactivate, refusals in words."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from typer.testing import CliRunner

from services.profile.tests.builders import NOW, Log
from services.profile.tests.harness import start_profile
from telco360_cli.app import app
from telco360_runtime.testing import free_port, wait_until

TOKENS = {"tok-admin": "admin:root", "tok-an": "analyst:ann"}
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _wide(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich folds cells to the terminal's width


@pytest.fixture
async def profile(tmp_path):
    # Contact's address is a closed port: the erasure stays pending there.
    service, db, channel, _ = await start_profile(
        f"sqlite:///{tmp_path / 'profile.db'}",
        ingest_addr="",
        contact_addr=f"127.0.0.1:{free_port()}",
        auth_tokens=TOKENS,
        erasure_retry_seconds=0.2,
    )
    log = Log()
    records = []
    for cid in ("KA1", "KA2"):
        records += [
            log.account(cid),
            log.rec("contact", cid, {"person_id": "p1", "name": "Sun Li", "phone": "+8613700000009"}, NOW - DAY),
        ]
    await db.run(service.parts["store"].apply, records)
    yield service.address
    await channel.close()
    await service.stop()
    db.dispose()


async def cli(address: str, *args: str, token: str = "tok-admin"):
    argv = ["--profile-addr", address, "--token", token, "erase", *args]
    return await asyncio.to_thread(CliRunner().invoke, app, argv)


async def test_erase_status_list_and_reactivate(profile) -> None:
    erased = await cli(profile, "KA1", "--reason", "customer request")
    assert erased.exit_code == 0, erased.output
    assert "of KA1 (request): erasure pending in contact" in erased.output
    assert "contact_records 1" in erased.output and "pending" in erased.output

    again = await cli(profile, "request", "KA1", "--reason", "again", "--purge-facts")
    assert again.exit_code == 0 and again.output.splitlines()[0] == erased.output.splitlines()[0]

    async def contact_failed():
        status = await cli(profile, "status", "KA1")
        return status if "UNAVAILABLE" in status.output else None

    status = await wait_until(contact_failed, timeout=20, interval=0.2)  # contact's last error, in words
    assert status.exit_code == 0 and "pending" in status.output

    await cli(profile, "KA2", "--reason", "customer request")
    listed = await cli(profile, "list")
    assert listed.exit_code == 0 and "KA1" in listed.output and "KA2" in listed.output
    assert "Erasures, oldest first" in listed.output and "contact" in listed.output
    limited = await cli(profile, "list", "--limit", "1")
    assert "KA2" not in limited.output and "raise --limit" in limited.output

    lifted = await cli(profile, "reactivate", "KA1", "--reason", "new contract C-1")
    assert lifted.exit_code == 0 and "lift pending in contact" in lifted.output and "lifted" in lifted.output


async def test_refusals_print_in_words(profile) -> None:
    unknown = await cli(profile, "NOPE", "--reason", "x")
    assert unknown.exit_code == 1 and "NOT_FOUND" in unknown.output
    never = await cli(profile, "status", "KA2")
    assert never.exit_code == 1 and "NOT_FOUND" in never.output
    not_erased = await cli(profile, "reactivate", "KA2", "--reason", "x")
    assert (
        not_erased.exit_code == 1 and "FAILED_PRECONDITION" in not_erased.output and "not erased" in not_erased.output
    )
    denied = await cli(profile, "KA2", "--reason", "x", token="tok-an")
    assert denied.exit_code == 1 and "PERMISSION_DENIED" in denied.output
    blank = await cli(profile, "KA2", "--reason", " ")
    assert blank.exit_code == 1 and "field reason" in blank.output
    missing = await cli(profile, "KA2")
    assert missing.exit_code != 0 and "--reason" in missing.output
