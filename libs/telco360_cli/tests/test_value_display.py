"""How value analytics are shown: the account panel, the lifetime-value chart, the summary section."""

from __future__ import annotations

import base64

from telco360.common.v1 import common_pb2
from telco360_cli.commands.profile import analytics_text
from telco360_cli.demo import plots, summary
from telco360_cli.demo.steps_value import ValueSummary


def test_account_panel_names_every_part() -> None:
    text = analytics_text(
        common_pb2.ValueAnalytics(
            lifetime_value=common_pb2.LifetimeValue(
                clv_fen=12_345_600, horizon_months=36, tier="high", reasons=["discounted at 8% a year"]
            ),
            rfm=common_pb2.RfmScore(recency=5, frequency=4, monetary=3, segment="loyal"),
            cluster=common_pb2.ClusterAssignment(label="c2", name="high spend, many lines"),
            outlier=common_pb2.OutlierAssessment(flagged=True, score=0.97, reasons=["usage up 640%"]),
        )
    )
    for piece in ("(high) over 36 months", "discounted at 8% a year", "RFM 5-4-3", "loyal", "c2", "many lines"):
        assert piece in text
    assert "flagged" in text and "usage up 640%" in text
    assert analytics_text(common_pb2.ValueAnalytics()) == "(not computed yet)"


def test_lifetime_value_chart_is_a_png() -> None:
    uri = plots.lifetime_value_chart([-5e6, 0.0, 1e7, 3e8])
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_section_shows_clusters_and_outliers() -> None:
    value = ValueSummary(
        clv_fen=[1e6, -2e5],
        clv_tiers={"top": 1, "negative": 1},
        rfm_segments={"champions": 1, "lost": 1},
        clusters={"c1": ("small <offices>", 2, 4e5)},
        outliers=[("KA1", "Acme", 0.93, ["many lines added at once"])],
        flagged=1,
        margin_accounts=2,
        margin_12m_fen=3e6,
        fee_12m_fen=1e7,
        planted=(3, 2),
    )
    page = summary._value_section(value)
    assert "small &lt;offices&gt;" in page and "many lines added at once" in page
    assert "(30.0 %)" in page
    assert "planted 3 anomalies; 2 of them" in page
