"""`telco360 services up --workers N` hands every service its `workers` setting."""

from __future__ import annotations

import os
import pathlib
from types import SimpleNamespace
from typing import Any, cast

from telco360_cli.commands.services import _suite


def test_workers_option_sets_each_service_workers(tmp_path: pathlib.Path) -> None:
    ctx = cast(Any, SimpleNamespace(meta={"var_dir": tmp_path}))
    suite = _suite(ctx, None, workers=2)
    assert suite.env_for("ingest")["TELCO360_INGEST_WORKERS"] == "2"
    assert suite.env_for("scoring")["TELCO360_SCORING_WORKERS"] == "2"
    # Unset: the services' own setting (their environment, else their default).
    assert suite_env_without_os(_suite(ctx, None).env_for("contact")).get("TELCO360_CONTACT_WORKERS") is None


def suite_env_without_os(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if os.environ.get(key) != value}
