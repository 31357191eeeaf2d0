"""Scoring service: LightGBM churn and value models with reasons, a registry and reports."""

import os

# OpenMP's default wait policy spins idle threads between LightGBM's parallel regions; on a
# machine whose cores are shared with other services (or other fits) the spinning threads
# steal the cores the working ones need: a tuned fit of 1,200 rows took 45 s on 2 threads
# under load, 15 s with PASSIVE (bench figures in services/scoring/README.md). Must be set
# before the OpenMP runtime loads (LightGBM and scikit-learn load it on import); an
# operator's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
