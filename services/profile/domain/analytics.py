"""Features from the value analytics scoring publishes with an account's scores (issue #19).

Scoring fits lifetime value, RFM quintiles, k-means clusters and an outlier detector over
the whole base and sends each account's part with its scores (ValueAnalytics). Profile
keeps it beside the score and turns it into flat features so tags and segments can use
it ("rfm_segment = 'at_risk'", "cluster = 'c3'", "outlier_flagged"). A part that scoring did
not compute stays absent, never zero: a missing lifetime value is not a worthless account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANALYTICS_FEATURES = (
    "clv_fen",
    "clv_tier",
    "rfm_recency_score",
    "rfm_frequency_score",
    "rfm_monetary_score",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "outlier_flagged",
    "outlier_score",
)


def analytics_features(analytics: Mapping[str, Any]) -> dict[str, Any]:
    """Flat features of one account's ValueAnalytics (as a dict with the proto's field names)."""
    out: dict[str, Any] = {}
    lifetime = analytics.get("lifetime_value") or {}
    if lifetime:
        # MessageToDict writes int64 as strings and drops zero values.
        out["clv_fen"] = float(lifetime.get("clv_fen", 0))
        if lifetime.get("tier"):
            out["clv_tier"] = str(lifetime["tier"])
    rfm = analytics.get("rfm") or {}
    if rfm.get("segment"):
        out["rfm_recency_score"] = float(rfm.get("recency", 0))
        out["rfm_frequency_score"] = float(rfm.get("frequency", 0))
        out["rfm_monetary_score"] = float(rfm.get("monetary", 0))
        out["rfm_segment"] = str(rfm["segment"])
    cluster = analytics.get("cluster") or {}
    if cluster.get("label"):
        out["cluster"] = str(cluster["label"])
        if cluster.get("name"):
            out["cluster_name"] = str(cluster["name"])
    outlier = analytics.get("outlier")
    if outlier is not None:
        out["outlier_flagged"] = bool(outlier.get("flagged", False)) and not bool(outlier.get("dismissed", False))
        out["outlier_score"] = float(outlier.get("score", 0.0))
    return out
