"""Ingest's role table (see telco360_runtime.access): who may call each RPC, and its request bound.

Records come from loaders (service) and the front line's own entries (call centre and
account managers record interactions and visits one at a time); the log and the quarantine
carry personal data as received, so only services (and admin, the data steward) read them.
"""

from __future__ import annotations

from telco360_runtime.access import allow

#: A batch is at most `batch_max_records` (500) records of a few KiB each.
BATCH_KB = 8 * 1024

ACCESS = {
    "SubmitRecord": allow("service", "call_center", "account_manager"),
    "IngestRecords": allow("service", max_request_kb=BATCH_KB),
    "IngestRecordBatches": allow("service", max_request_kb=BATCH_KB),
    "ReadLog": allow("service"),
    "ReadLogBatches": allow("service"),
    "ListQuarantine": allow("service"),
    "ReplayQuarantine": allow("service", max_request_kb=BATCH_KB),
    "GetIngestStats": allow("service", "analyst"),
    "ApplyErasure": allow("service"),
    "LiftErasure": allow("service"),
}
