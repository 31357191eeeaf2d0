"""Profile domain logic: plain Python (no gRPC, no SQL)."""
