"""Use cases of the profile service: transactions, orchestration of domain, store and peers (no gRPC)."""
