"""Ingest service: validates, normalises, deduplicates and logs every record about a key account."""
