"""The demo's risk chart draws the champion's own band cut-offs."""

from __future__ import annotations

from telco360_cli.demo import plots


def test_risk_axis_names_the_models_cut_offs() -> None:
    assert (
        plots.risk_axis_label(0.0213, 0.0251)
        == "churn probability within 3 months (bands: medium ≥ 0.0213, high ≥ 0.0251)"
    )


def test_risk_chart_renders_with_and_without_model_thresholds() -> None:
    probabilities, bands = [0.01, 0.02, 0.022, 0.03], ["low", "low", "medium", "high"]
    for thresholds in ((0.021, 0.025), None):
        image = plots.risk_chart(probabilities, bands, thresholds)
        assert image.startswith("data:image/png;base64,") and len(image) > 1000
