"""`telco360 analytics run|show|outliers|review` against a real scoring server (issue #19).

The server and its synthetic profile peer are test_base_analytics_service's (rule detector:
arrears over 30 days); no model is trained, so the run has RFM, clusters and outliers.
"""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner, Result

from telco360_cli.app import app

from .test_base_analytics import rules  # noqa: F401 - the rule detector fixture
from .test_base_analytics_service import Running, running  # noqa: F401 - the server fixture
from .test_service import service_base


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich folds cells to the terminal's width


async def cli(address: str, *args: str, token: str = "t-an") -> Result:
    argv = ["--scoring-addr", address, "--token", token, "analytics", *args]
    return await asyncio.to_thread(lambda: CliRunner().invoke(app, argv))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_run_show_outliers_and_review(running: Running) -> None:  # noqa: F811
    frame = running.profile.frame(service_base().months)
    active = frame[frame["status"] == "ACTIVE"]
    late = sorted(active[active["days_overdue"] > 30]["customer_id"])

    ran = await cli(running.address, "run")
    assert ran.exit_code == 0, ran.output
    assert "Clusters" in ran.output and "RFM segments" in ran.output and f"outliers flagged: {len(late)}" in ran.output
    assert "late payers" in ran.output  # a cluster in words

    shown = await cli(running.address, "show")
    assert shown.exit_code == 0 and "RFM thresholds" in shown.output

    listed = await cli(running.address, "outliers", "--limit", "2")
    assert listed.exit_code == 0, listed.output
    assert f"(2 of {len(late)})" in listed.output and late[0] in listed.output and "days overdue" in listed.output

    reviewed = await cli(running.address, "review", late[0], "--dismiss", "--note", "known dispute")
    assert reviewed.exit_code == 0, reviewed.output
    assert f"{late[0]}: dismiss by ana-3 (analyst)" in reviewed.output and "arrears" in reviewed.output
    listed = await cli(running.address, "outliers", "--include-dismissed", "--limit", "1")
    assert "dismissed" in listed.output

    both = await cli(running.address, "review", late[1], "--dismiss", "--confirm")
    assert both.exit_code != 0
    denied = await cli(running.address, "review", late[1], "--confirm", token="t-mk")
    assert denied.exit_code == 1 and "PERMISSION_DENIED" in denied.output
