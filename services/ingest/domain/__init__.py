"""Ingest domain (domain layer): validation, normalisation, hashing and the ingest decision rules.

Plain Python: no gRPC, no SQL. Records are dicts shaped like the protobuf contract
(see records.py); api/converters.py converts protobuf messages to and from them.
"""
