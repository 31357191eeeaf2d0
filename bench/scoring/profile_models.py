"""Profile-shaped churn and value models on scoring's synthetic base: holdout metrics and time.

    .venv/bin/python -m bench.scoring.profile_models [--accounts 4000] [--seed 11] [--threads 1]

Stacked training cut-offs and a later time-based holdout, built the way TrainModel builds
them from profile (labels.build_training_set over synthetic.features_as_of), fitted with the
default parameters by modelling.fit_and_evaluate. Run it on two commits to compare (the
before/after table in README.md).
"""

from __future__ import annotations

import argparse
import time

from services.scoring.domain import synthetic
from services.scoring.domain.labels import build_training_set, stack_training_sets
from services.scoring.domain.modelling import fit_and_evaluate
from services.scoring.domain.params import TrainParams

KINDS = (("churn", 3, (12, 15, 18, 21, 24), 27), ("value", 6, (12, 15, 18), 24))
SHOWN = {
    "churn": ("roc_auc", "pr_auc", "log_loss", "brier", "lift_top10"),
    "value": ("mae", "rmse", "r2", "spearman"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", default="4000")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for accounts in (int(a) for a in args.accounts.split(",")):
        base = synthetic.generate(accounts, months=33, seed=args.seed)
        oc = synthetic.outcomes(base)
        for kind, horizon, months, hold in KINDS:
            train = stack_training_sets(
                [
                    build_training_set(synthetic.features_as_of(base, m), oc, base.cutoff(m), horizon, kind)
                    for m in months
                ]
            )
            holdout = build_training_set(synthetic.features_as_of(base, hold), oc, base.cutoff(hold), horizon, kind)
            started = time.perf_counter()
            fitted = fit_and_evaluate(kind, train, holdout, TrainParams(), horizon_months=horizon, threads=args.threads)
            m = fitted.metrics.to_dict()
            shown = {k: round(float(m[k]), 4) for k in SHOWN[kind] if k in m}
            print(
                f"{accounts} accounts {kind}: {len(train)} training / {len(holdout)} holdout rows {shown} "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
