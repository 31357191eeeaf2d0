"""Scoring service: LightGBM churn and value models with reasons, a registry and reports."""
