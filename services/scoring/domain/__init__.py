"""Scoring's domain: plain Python over pandas and numpy (no gRPC, no SQL)."""
