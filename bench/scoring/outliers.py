"""Outlier detector against planted anomalies: precision, recall and F1, beside two references.

    .venv/bin/python -m bench.scoring.outliers [--accounts 5000] [--months 13] [--share 0.02] [--seed 7]

Generates a base with planted anomalies (telco360_datagen, anomaly_share), computes
profile's features for it in process (services/scoring/tests/generated_features.py: profile's
own record conversion and compute_features, as of the day after the last month, active
accounts only), fits OutlierDetector and assesses the same base. Prints, for the detector
and for references measured in the same run on the same columns:

* the isolation forest alone (the accounts the detector flags with an isolation_forest code),
* the rules alone (the accounts with a rule code),
* a 3-sigma baseline: any of the forest's features, on the same log scale, more than three
  standard deviations from the base's mean;

precision, recall and F1 of flagged against planted (overall and, as recall, per kind), the
share flagged, and fit/assess time. "named" is the share of planted accounts whose own
signal code (truth.signals) is among the reason codes. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from collections.abc import Iterable

import numpy as np

from services.scoring.domain import outliers
from services.scoring.domain.outliers import OutlierDetector, OutlierFinding
from services.scoring.tests.generated_features import profile_columns
from telco360_datagen import generate
from telco360_datagen.anomalies import KINDS
from telco360_datagen.truth import PlantedAnomaly


def three_sigma(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Accounts with any forest feature (log scale) beyond 3 standard deviations of the base."""
    t = outliers.forest_transform(outliers.forest_values(columns, n))
    with np.errstate(all="ignore"):
        mean, std = np.nanmean(t, axis=0), np.nanstd(t, axis=0)
        z = np.where(std > 0, (t - mean) / std, 0.0)
    return np.nan_to_num(np.abs(z)).max(axis=1) > 3.0


def report(name: str, flagged: Iterable[str], planted: dict[str, PlantedAnomaly], total: int) -> None:
    """One line: precision, recall, F1, share flagged, recall per kind."""
    chosen = set(flagged)
    hits = chosen & set(planted)
    precision = len(hits) / len(chosen) if chosen else 0.0
    recall = len(hits) / len(planted) if planted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    kinds = []
    for kind in KINDS:
        ids = {c for c, a in planted.items() if a.kind == kind}
        kinds.append(f"{kind} {len(ids & chosen)}/{len(ids)}")
    print(
        f"  {name:<26} flagged {len(chosen):5d} ({len(chosen) / total:6.2%})  precision {precision:.3f}  "
        f"recall {recall:.3f}  F1 {f1:.3f}   recall by kind: {', '.join(kinds)}"
    )


def named(found: list[OutlierFinding], planted: dict[str, PlantedAnomaly]) -> str:
    """Per kind: planted accounts whose own signal code is among their reason codes."""
    by_id = {f.customer_id: f for f in found}
    parts = []
    for kind in KINDS:
        ids = [c for c, a in planted.items() if a.kind == kind and c in by_id]
        hit = sum(1 for c in ids if set(planted[c].signals) & set(by_id[c].reason_codes))
        parts.append(f"{kind} {hit}/{len(ids)}")
    return ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--share", type=float, default=0.02, help="share of accounts with a planted anomaly")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--contamination", type=float, default=0.02)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(
        f"bench/scoring/outliers {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {load:.2f}; {args.accounts} accounts x {args.months} months, "
        f"anomaly_share {args.share}, seed {args.seed}, contamination {args.contamination}"
    )
    started = time.perf_counter()
    base = generate(args.accounts, args.months, seed=args.seed, anomaly_share=args.share)
    ids, columns = profile_columns(base)
    prepared = time.perf_counter() - started
    in_frame = set(ids)
    planted = {c: a for c, a in base.truth.anomalies.items() if c in in_frame}
    print(f"  base and profile features: {len(ids)} active accounts, {len(planted)} planted, {prepared:.1f} s")

    t0 = time.perf_counter()
    detector = OutlierDetector.fit(ids, columns, seed=args.seed, contamination=args.contamination)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = detector.assess(ids, columns)
    assess_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sigma = three_sigma(columns, len(ids))
    sigma_s = time.perf_counter() - t0
    print(
        f"  fit {fit_s:.2f} s, assess {assess_s:.2f} s ({len(ids) / assess_s:,.0f} accounts/s), "
        f"3-sigma {sigma_s:.3f} s, detector {len(detector.to_bytes()) / 1e6:.1f} MB pickled"
    )
    total = len(ids)
    report("detector (forest + rules)", (f.customer_id for f in found if f.flagged), planted, total)
    forest = (f.customer_id for f in found if any(c.startswith(outliers.FOREST_CODE) for c in f.reason_codes))
    report("isolation forest alone", forest, planted, total)
    rules = (f.customer_id for f in found if any(not c.startswith(outliers.FOREST_CODE) for c in f.reason_codes))
    report("rules alone", rules, planted, total)
    report("3-sigma per feature", (c for c, hit in zip(ids, sigma, strict=True) if hit), planted, total)
    print(f"  named by their own code: {named(found, planted)}")


if __name__ == "__main__":
    main()
