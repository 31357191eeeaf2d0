"""Tuned training time under each OpenMP wait policy and thread count.

Each combination runs in a fresh process (OpenMP reads OMP_WAIT_POLICY when it loads):
one default tuned value fit (`train_model("value", ...)`) of a random frame shaped like a
small base's training set. Run it while the machine is busy (as a shared host is) to see
what spinning threads cost: `python -m bench.scoring.omp_wait [rows] [features]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np, pandas as pd
from services.scoring.domain.params import parse_params
from services.scoring.domain.training import train_model
rows, features, threads = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(0)
X = rng.normal(size=(rows, features))
df = pd.DataFrame(X, columns=[f"f{i}" for i in range(features)])
df["customer_id"] = [f"KA{i % max(1, rows // 4)}" for i in range(rows)]
df["label"] = np.exp(12 + X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=rows))
wall, cpu = time.perf_counter(), time.process_time()
train_model("value", df, parse_params({}, "value"), threads=threads)
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    features = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    print(f"tuned value fit, {rows:,} rows x {features} features, load {os.getloadavg()[0]:.1f}")
    for policy in ("ACTIVE", "PASSIVE"):
        for threads in (1, 2):
            env = {**os.environ, "OMP_WAIT_POLICY": policy}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(rows), str(features), str(threads)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"  {policy:8} threads {threads}: wall {figures['wall']:6.1f} s  cpu {figures['cpu']:6.1f} s")


if __name__ == "__main__":
    main()
