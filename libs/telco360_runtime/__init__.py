"""The shared runtime of the Telco360 services.

Server bootstrap (health, reflection, interceptors, metrics, graceful shutdown), settings,
structured logging, domain errors with their gRPC codes, the store helper for SQLite and
PostgreSQL, peer channels, jobs with progress, and time conversions. A service's `main`
composes these; it never re-implements them.
"""
