"""Labelled key-account churn tables of the two shapes operators bring, generated with a seed.

Public telecom churn tables come in two kinds, and a churn model must do well on both:

- `contract_table`: contract and product facts per account (tenure, term, lines, monthly
  fee, payment, services taken). Churn follows them almost additively on the log-odds scale,
  so a plain logistic regression is hard to beat; blanks where a fact is unknown (a total
  fee before the first bill, an unrecorded industry), strings for every category.
- `usage_table`: a month of usage and service facts (voice minutes by period, data,
  roaming, service tickets, region). Churn comes from thresholds and interactions — heavy
  daytime users on a flat plan, many tickets with falling usage, roaming plans used heavily
  — where trees win and a linear model cannot follow.

Both return one row per account with `customer_id` and `churned` ("Yes"/"No"), the shape
TrainFromTable and ScoreTable read; the probability that generated each label is not kept.
Used by the protocol bench (bench/scoring/protocol.py) and by scoring's tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INDUSTRIES = ("government", "finance", "manufacturing", "education", "healthcare", "retail", "logistics", "energy")
PROVINCES = tuple(f"P{i:02d}" for i in range(31))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _labels(rng: np.random.Generator, logit: np.ndarray) -> np.ndarray:
    return np.where(rng.random(len(logit)) < _sigmoid(logit), "Yes", "No")


def contract_table(rows: int = 7000, seed: int = 7) -> pd.DataFrame:
    """Contract-and-product facts, churn near-additive in them (~26 % churners)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    term = rng.choice(["monthly", "one_year", "two_year"], rows, p=[0.55, 0.21, 0.24])
    access = rng.choice(["fiber", "dsl", "none"], rows, p=[0.44, 0.34, 0.22])
    payment = rng.choice(["bank_transfer", "invoice", "card", "cheque"], rows, p=[0.22, 0.34, 0.22, 0.22])
    lines = rng.integers(1, 60, rows)
    industry = rng.choice(INDUSTRIES, rows).astype(object)
    industry[rng.random(rows) < 0.08] = None  # not recorded
    paperless = rng.choice(["Yes", "No"], rows, p=[0.6, 0.4])
    support = np.where(access == "none", "no_access", rng.choice(["Yes", "No"], rows, p=[0.3, 0.7]))
    security = np.where(access == "none", "no_access", rng.choice(["Yes", "No"], rows, p=[0.3, 0.7]))
    cloud = np.where(access == "none", "no_access", rng.choice(["Yes", "No"], rows, p=[0.4, 0.6]))
    monthly = (
        2000
        + np.where(access == "fiber", 5000, np.where(access == "dsl", 2500, 0))
        + 300 * lines
        + np.where(cloud == "Yes", 1500, 0)
        + rng.normal(0, 400, rows)
    ).round(0)
    total = (monthly * tenure + rng.normal(0, 500, rows)).round(0)
    total_col = total.astype(object)
    total_col[tenure == 0] = None  # no bill yet
    logit = (
        -0.9
        - 0.55 * np.log1p(tenure)
        + np.where(term == "monthly", 1.3, np.where(term == "one_year", 0.2, -1.0))
        + np.where(access == "fiber", 0.7, np.where(access == "dsl", 0.0, -0.6))
        + np.where(payment == "cheque", 0.55, 0.0)
        + np.where(paperless == "Yes", 0.3, 0.0)
        - np.where(support == "Yes", 0.45, 0.0)
        - np.where(security == "Yes", 0.45, 0.0)
        + 0.00006 * (monthly - 8000)
        - 0.008 * lines
        + np.where(industry == "government", -0.4, 0.0)
        + 0.55
    )
    return pd.DataFrame(
        {
            "customer_id": [f"CT{seed:02d}{i:06d}" for i in range(rows)],
            "tenure_months": tenure,
            "contract_term": term,
            "access": access,
            "payment_method": payment,
            "lines": lines,
            "industry": industry,
            "paperless_billing": paperless,
            "tech_support": support,
            "security_service": security,
            "cloud_service": cloud,
            "monthly_fee_yuan": monthly,
            "total_fee_yuan": total_col,
            "churned": _labels(rng, logit),
        }
    )


def usage_table(rows: int = 5000, seed: int = 11) -> pd.DataFrame:
    """A month of usage and service facts, churn from thresholds and interactions (~15 %)."""
    rng = np.random.default_rng(seed)
    months = rng.integers(1, 240, rows)
    roaming_plan = rng.choice(["Yes", "No"], rows, p=[0.1, 0.9])
    mailbox_plan = rng.choice(["Yes", "No"], rows, p=[0.27, 0.73])
    day = np.clip(rng.normal(180, 55, rows), 0, None).round(1)
    evening = np.clip(rng.normal(200, 50, rows), 0, None).round(1)
    night = np.clip(rng.normal(200, 50, rows), 0, None).round(1)
    roaming_min = np.clip(rng.normal(10, 2.8, rows), 0, None).round(1)
    roaming_calls = rng.poisson(4.5, rows)
    tickets = rng.poisson(1.5, rows)
    data_gb = np.clip(rng.lognormal(3.0, 0.8, rows), 0, None).round(2)
    province = rng.choice(PROVINCES, rows)
    mailbox_msgs = np.where(mailbox_plan == "Yes", rng.poisson(28, rows), 0)
    data_col = data_gb.astype(object)
    data_col[rng.random(rows) < 0.05] = None  # usage feed missing for the month
    charge = 0.17 * day + 0.085 * evening + 0.045 * night
    risky_province = np.isin(province, PROVINCES[:6])
    logit = (
        -2.9
        + 3.2 * (charge > 72)
        + 1.4 * (charge > 62) * (mailbox_plan == "No")
        + np.where(tickets >= 4, 2.6 - 0.012 * day, 0.0)
        + np.where(roaming_plan == "Yes", 1.2 + 1.6 * (roaming_min > 13) + 1.8 * (roaming_calls < 3), 0.0)
        - 0.9 * (mailbox_plan == "Yes") * (mailbox_msgs > 20)
        + 0.5 * risky_province
        + 0.6 * (data_gb < 4) * (months < 24)
    )
    return pd.DataFrame(
        {
            "customer_id": [f"US{seed:02d}{i:06d}" for i in range(rows)],
            "months_on_network": months,
            "province": province,
            "roaming_plan": roaming_plan,
            "mailbox_plan": mailbox_plan,
            "mailbox_messages": mailbox_msgs,
            "day_minutes": day,
            "evening_minutes": evening,
            "night_minutes": night,
            "roaming_minutes": roaming_min,
            "roaming_calls": roaming_calls,
            "service_tickets": tickets,
            "data_gb": data_col,
            "churned": _labels(rng, logit),
        }
    )


TABLES = {"contract": contract_table, "usage": usage_table}
