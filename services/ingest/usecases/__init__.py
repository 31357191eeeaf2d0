"""Ingest's use cases (usecases layer): ingest records, read the log, work the quarantine,
count. They run the store's blocking work in its thread pool and speak no gRPC or protobuf."""
