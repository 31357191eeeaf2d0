"""telco360_datagen: a seeded, deterministic generator of realistic key-account data.

``generate(accounts, months, seed, end_month="2026-10", bad_record_share=0.0)`` returns a
:class:`GeneratedBase`: ``base.records()`` yields ``telco360.ingest.v1.Record`` messages of
every kind in the contract in ingest order (by ``occurred_at``), and ``base.truth`` is the
ground truth (accounts, group hierarchy, churn and its warning windows, monthly fees).
``python -m telco360_datagen --help`` writes the same as JSON Lines (and billing as CSV).

How churn is built (so that a model can learn it, but not trivially)
--------------------------------------------------------------------
* Latent propensity per account (churn.py): industry (GOV/EDU/HEALTH/ENERGY stay, RETAIL,
  HOSPITALITY, ICT, LOGISTICS leave more), tier (diamond stays, crystal leaves), a
  competitor present at the account (+0.6; visible in occasional competitor intel), group
  membership (stays more) and noise. Monthly hazard ``base * exp(propensity)``, x4 in the
  last two months of the contract, calibrated to about 2-4 % of accounts per quarter.
* About 85 % of churners have a warning window of 2-6 months before the termination; each
  signal is present only with some probability (at least two present) and with its own
  strength, ramping up towards the termination: falling fees on *some* product lines
  (sometimes a line removed outright), more complaints and fault tickets, lower survey
  scores, competitor intel with an active approach, fewer account-manager visits, overdue
  payments, the decision maker leaving. About 15 % terminate with no warning at all.
* Noise the model must see through: about 10 % of non-churners show the same signals for a
  while and stay (false alarms); about 5 % become latent churners (fees fall for good, no
  termination); seasonality by industry, growth, upgrades, ICT projects ending, new lines,
  chronic late payers, and more visits near contract renewal.
* A few churners reactivate 2-8 months later. Optionally a share of records is made bad
  (negative fee, bad month, survey answer 6, malformed phone, missing required field) and
  listed in ``truth.bad_records`` with the good version.

See README.md in this folder for the record sources, ids and the ground-truth API.
"""

from telco360_datagen.generator import GeneratedBase, generate
from telco360_datagen.truth import AccountTruth, BadRecord, GroundTruth

__all__ = ["AccountTruth", "BadRecord", "GeneratedBase", "GroundTruth", "generate"]
