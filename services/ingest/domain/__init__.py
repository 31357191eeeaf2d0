"""Ingest domain logic: validation, normalisation, hashing and the ingest decision rules.

Plain Python: no gRPC, no SQL. Records are dicts shaped like the protobuf contract
(see records.py); handlers convert protobuf messages to and from them.
"""
