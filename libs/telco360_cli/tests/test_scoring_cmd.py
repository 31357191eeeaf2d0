"""`telco360 train` / `score` options and the metric line (the real-server round trip is
services/scoring/tests/test_score_table_cli.py)."""

from __future__ import annotations

import inspect

from telco360.scoring.v1 import scoring_pb2 as pb
from telco360_cli.commands import scoring


def test_the_metric_line_names_a_baseline_only_when_there_is_one() -> None:
    table = pb.Model(churn_metrics=pb.ChurnMetrics(roc_auc=0.81, lift_top10=3.2))
    assert "baseline" not in scoring.metric_line(table) and "ROC-AUC 0.810" in scoring.metric_line(table)
    profile = pb.Model(churn_metrics=pb.ChurnMetrics(roc_auc=0.81, baseline_roc_auc=0.0, baseline_lift_top10=1.5))
    assert "(baseline 0.000)" in scoring.metric_line(profile) and "(baseline 1.50)" in scoring.metric_line(profile)
    value = pb.Model(value_metrics=pb.ValueMetrics(spearman=0.6))
    assert "baseline" not in scoring.metric_line(value)
    assert "(baseline 0.400)" in scoring.metric_line(pb.Model(value_metrics=pb.ValueMetrics(baseline_spearman=0.4)))


def test_train_promotes_nothing_unless_asked_as_the_api() -> None:
    default = inspect.signature(scoring.train).parameters["promote"].default.default
    assert default == "never"
    assert pb.AutoPromote.Value("AUTO_PROMOTE_UNSPECIFIED") == 0  # the API's default: no promotion
