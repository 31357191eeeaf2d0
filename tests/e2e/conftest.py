"""Fixtures of the end-to-end tests: one small run of the main job shared by the module."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclass
class DemoRun:
    """A finished small demo run whose services are still up."""

    var_dir: pathlib.Path
    out_dir: pathlib.Path
    result: dict
    output: str

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run the CLI against the run's services (addresses from its state file)."""
        env = {**os.environ, "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "telco360_cli", "--var-dir", str(self.var_dir), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """Run the main job on 400 accounts × 24 months with real service processes."""
    base = tmp_path_factory.mktemp("demo")
    var_dir, out_dir = base / "var", base / "out"
    env = {**os.environ, "COLUMNS": "160"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "telco360_cli",
            "demo",
            "--accounts",
            "400",
            "--months",
            "24",
            "--bad-records",
            "12",
            "--var-dir",
            str(var_dir),
            "--out-dir",
            str(out_dir),
            "--keep-running",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    run = DemoRun(
        var_dir,
        out_dir,
        json.loads((out_dir / "demo-result.json").read_text()) if (out_dir / "demo-result.json").exists() else {},
        proc.stdout + proc.stderr,
    )
    try:
        assert proc.returncode == 0, f"demo failed (exit {proc.returncode}):\n{run.output[-6000:]}"
        yield run
    finally:
        run.cli("services", "down")
