"""Clients of the services profile calls: ingest (the log), scoring and contact (Customer360 enrichment)."""
