"""Every `telco360` command of issue 7 against the small demo's running services, as a user
types them: the command works, its output reads right, and bad input prints the server's
message and the failing field instead of a traceback."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def finished(run: subprocess.CompletedProcess, status: int, expected: tuple[str, ...]) -> str:
    """The command's output, after checking its exit status, that it printed no traceback,
    and that it printed every expected text."""
    out = run.stdout + run.stderr
    assert run.returncode == status, out
    assert "Traceback" not in out, out
    missing = [text for text in expected if text not in out]
    assert not missing, f"{missing} not in:\n{out}"
    return out


def ok(run: subprocess.CompletedProcess, *expected: str) -> str:
    """A command that succeeded and printed what it should."""
    return finished(run, 0, expected)


def fails_in_words(run: subprocess.CompletedProcess, *expected: str) -> str:
    """A failure (exit 1) printed as words naming the problem, never a traceback."""
    return finished(run, 1, expected)


def a_scored_account(demo_run) -> str:
    """An active, scored account of the demo (the first inbound caller)."""
    return demo_run.result["nbo_calls"][0]["customer_id"]


def test_the_console_script_is_installed() -> None:
    # `make test` runs pytest with the venv `make setup` made; the command must be installed there.
    script = pathlib.Path(sys.executable).parent / "telco360"
    assert script.exists(), f"no telco360 command beside {sys.executable}: run `make setup` (pip install -e .)"
    ok(subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60), "services", "segment")


def test_import_with_a_mapping_then_replay_the_rejected_record(demo_run, tmp_path: pathlib.Path) -> None:
    (tmp_path / "map.yaml").write_text(
        "kind: billing\nfields:\n  source: {value: e2e_branch}\n  source_record_id: 账单号\n  customer_id: 客户\n"
        "  occurred_at: 出账时间\n  billing.month: 账期\n  billing.fee_fen: 金额分\n"
        "  billing.product_line: {column: 产品, map: {专线: DEDICATED_LINE, 语音: VOICE}}\n",
        encoding="utf-8",
    )
    cid = a_scored_account(demo_run)
    (tmp_path / "bills.csv").write_text(
        "账单号,客户,出账时间,账期,金额分,产品\n"
        f"E1,{cid},2026-10-31T16:00:00Z,2026-10,120000,专线\n"
        f"E2,{cid},2026-10-31T16:00:00Z,2026-10,-5,语音\n"
        f"E3,{cid},2026-10-31T16:00:00Z,2026-10,abc,语音\n",
        encoding="utf-8",
    )
    out = demo_run.cli("import", str(tmp_path / "bills.csv"), "--mapping", str(tmp_path / "map.yaml")).stdout
    assert "accepted" in out and "billing.fee_fen: must be between 0 and" in out and "[OUT_OF_RANGE]" in out
    assert "not sent" in out and "row 3: billing.fee_fen: not a whole number" in out

    listed = ok(demo_run.cli("quarantine", "list", "--source", "e2e_branch"), "e2e_branch/E2", "billing.fee_fen")
    quarantine_id = next(line.split("│")[1].strip() for line in listed.splitlines() if "e2e_branch/E2" in line)
    ok(demo_run.cli("quarantine", "replay", quarantine_id), "still rejected: 1")
    ok(demo_run.cli("quarantine", "replay", quarantine_id, "--set", "billing.fee_fen=500"), "moved into the log: 1")
    fails_in_words(demo_run.cli("import", str(tmp_path / "bills.csv")), "needs --mapping")


def test_account_show_reads_as_a_customer360(demo_run) -> None:
    ok(
        demo_run.cli("account", "show", a_scored_account(demo_run), "--months", "3"),
        "Customer 360",
        "Monthly spend",
        "Scores",
    )
    fails_in_words(demo_run.cli("account", "show", "KA_NOPE"), "NOT_FOUND", "KA_NOPE")


def test_tags_list_dry_run_create_history(demo_run) -> None:
    ok(demo_run.cli("tags", "list", "--category", "value"), "value_diamond", "holders")
    expression = "status = 'ACTIVE' and fee_total_sum_12m > 50000000"
    ok(demo_run.cli("tags", "dry-run", "e2e_big", expression), "would hold")
    ok(demo_run.cli("tags", "create", "e2e_big", expression, "--name", "Big spender"), "created e2e_big v1")
    ok(demo_run.cli("tags", "history", "--tag-id", "e2e_big", "--limit", "3"), "e2e_big", "assigned")
    fails_in_words(
        demo_run.cli("tags", "dry-run", "e2e_bad", "fee_total_sum_12m >> 3"),
        "INVALID_ARGUMENT",
        "field definition.expression",
        "EXPRESSION_SYNTAX",
    )
    fails_in_words(demo_run.cli("tags", "create", "e2e_big", expression), "ALREADY_EXISTS")


def test_segment_errors_name_the_problem(demo_run, tmp_path: pathlib.Path) -> None:
    fails_in_words(demo_run.cli("segment", "tag(no_such_tag)"), "field expression", "unknown tag")
    fails_in_words(demo_run.cli("segment", "tag(vip)", "-f", "no_such_feature"), "--feature no_such_feature")
    fails_in_words(demo_run.cli("segment", "tag(vip)", "--csv", str(tmp_path / "missing" / "x.csv")), "does not exist")


def test_train_models_report_and_score(demo_run, tmp_path: pathlib.Path) -> None:
    trained = ok(
        demo_run.cli(
            "train",
            "--kind",
            "churn",
            "--as-of",
            "2026-01-01",
            "--as-of",
            "2026-03-01",
            "--holdout",
            "2026-07-01",
            "--promote",
            "never",
        ),
        "ROC-AUC",
        "baseline",
    )
    assert "(churn v" in trained
    listed = ok(demo_run.cli("models", "list", "--kind", "churn"), "champion", "ready")
    champion = next(line.split("│")[1].strip() for line in listed.splitlines() if "champion" in line)
    ok(demo_run.cli("models", "promote", champion), f"{champion} is now champion")
    fails_in_words(demo_run.cli("models", "promote", "no-such-model"), "NOT_FOUND")
    fails_in_words(demo_run.cli("train", "--kind", "banana", "--as-of", "2026-01-01"), "unknown ModelKind 'banana'")
    fails_in_words(
        demo_run.cli("train", "--as-of", "2026-05-01", "--holdout", "2026-06-01"), "INVALID_ARGUMENT", "field as_of[0]"
    )
    written = ok(demo_run.cli("report", champion, "--out", str(tmp_path)), "report-")
    assert (tmp_path / f"report-{champion}.html").stat().st_size > 10_000, written
    ok(demo_run.cli("score", a_scored_account(demo_run), "KA_NOPE"), "Scores", "not_found")
    ok(demo_run.cli("score", "--all"), "scored")


def test_nbo_contact_check_and_reserve(demo_run) -> None:
    cid = a_scored_account(demo_run)
    ok(demo_run.cli("nbo", cid), "next-best-offer for", "policies standard@")
    check = demo_run.cli("contact", "check", cid, "--channel", "sms", "--purpose", "marketing")
    assert check.returncode in (0, 3) and "allowed" in check.stdout, check.stdout + check.stderr
    reserve = demo_run.cli(
        "contact",
        "reserve",
        cid,
        "--channel",
        "inbound_offer",
        "--purpose",
        "service",
        "--key",
        "e2e-reserve-1",
        "--confirm",
    )
    ok(reserve, "allowed", "reservation", "confirmed")
    ok(
        demo_run.cli(
            "contact", "reserve", cid, "--channel", "inbound_offer", "--purpose", "service", "--key", "e2e-reserve-1"
        ),
        "(replayed)",
    )
    fails_in_words(demo_run.cli("contact", "check", cid, "--channel", "pigeon"), "unknown Channel 'pigeon'")


def test_policy_create_and_simulate(demo_run, tmp_path: pathlib.Path) -> None:
    policy = {
        "policyId": "e2e_sms_weekly",
        "name": "One SMS a week",
        "active": False,
        "caps": [
            {
                "capId": "sms-7d",
                "scope": "CAP_SCOPE_ACCOUNT",
                "channels": ["CHANNEL_SMS"],
                "purposes": ["PURPOSE_MARKETING"],
                "maxContacts": 1,
                "window": {"kind": "WINDOW_KIND_ROLLING", "unit": "WINDOW_UNIT_DAY", "size": 7},
            }
        ],
        # As in the demo's policies: key accounts' contracts carry the marketing consent.
        "purposeClasses": [{"purpose": "PURPOSE_MARKETING", "requiresConsent": False}],
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    ok(demo_run.cli("policy", "create", str(path)), "policy e2e_sms_weekly v1 inactive: 1 caps")
    simulated = ok(
        demo_run.cli("policy", "simulate", str(path), "--from", "2026-01-01", "--to", "2026-12-31"),
        "contacts replayed",
        "Suppressed by rule",
    )
    assert "e2e_sms_weekly/sms-7d" in simulated
    del policy["caps"][0]["scope"]
    path.write_text(json.dumps({**policy, "policyId": "e2e_bad"}))
    fails_in_words(demo_run.cli("policy", "create", str(path)), "INVALID_ARGUMENT", "field policy.caps[0].scope")


def test_campaign_metrics_show_uplift_against_the_control_group(demo_run) -> None:
    campaign = demo_run.result["campaign"]
    assert campaign["control_accounts"] > 0 and campaign["accounts_contacted"] > 0
    out = ok(demo_run.cli("campaign", "metrics", campaign["campaign_id"]), "uplift", "control")
    assert f"{campaign['control_accounts']:,} control" in out
    fails_in_words(demo_run.cli("campaign", "metrics", "no_such_campaign"), "NOT_FOUND")
