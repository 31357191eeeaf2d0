"""Look at the summary and a model report as a person would: render them headlessly with
Chromium (Debian package `chromium`) to PNG and check the pictures are not blank and the
pages carry their titles."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
from matplotlib import image as mpimg

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: pathlib.Path, png: pathlib.Path) -> None:
    """Render a local HTML file to a 1280×2000 PNG with headless Chromium."""
    assert CHROMIUM, "chromium is not installed (apt-get install -y chromium)"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1280,2000",
                "--hide-scrollbars",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def assert_not_blank(png: pathlib.Path) -> np.ndarray:
    """The picture has real content: varied pixels and plenty of non-white area."""
    pixels = mpimg.imread(png)[..., :3]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    assert pixels.std() > 0.05, f"{png} looks blank (pixel std {pixels.std():.3f})"
    non_white = (pixels < 0.9).any(axis=2).mean()
    assert non_white > 0.03, f"{png} is almost all white ({non_white:.1%} ink)"
    return pixels


def test_summary_renders(demo_run) -> None:
    summary = pathlib.Path(demo_run.result["summary"])
    text = summary.read_text()
    assert "<title>Telco360 key-account summary</title>" in text
    for heading in (
        "Accounts per tier and tag",
        "Churn risk",
        "Top at-risk valuable accounts",
        "Next-best-offers on inbound calls",
        "Contact frequency before / after the strict policy",
    ):
        assert heading in text
    assert len(re.findall(r"src='data:image/png;base64,", text)) >= 4
    png = demo_run.out_dir / "summary.png"
    screenshot(summary, png)
    pixels = assert_not_blank(png)
    # The charts are colourful: some pixels are clearly not grey.
    assert (np.ptp(pixels, axis=2) > 0.25).mean() > 0.005


@pytest.mark.parametrize("kind", ["churn", "value"])
def test_model_report_renders(demo_run, kind: str) -> None:
    model_id = demo_run.result["models"][kind]["model_id"]
    report = next(pathlib.Path(p) for p in demo_run.result["reports"] if model_id in p)
    text = report.read_text()
    assert "<title>" in text and model_id in text
    assert "data:image/png;base64," in text
    png = demo_run.out_dir / f"report-{kind}.png"
    screenshot(report, png)
    assert_not_blank(png)
