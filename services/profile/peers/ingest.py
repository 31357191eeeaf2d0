"""Peer: ingest's log over gRPC (ReadLogBatches / ReadLog, GetIngestStats), as domain LogRecords.

`IngestLog` streams the log after a cursor; entries are converted by `log_entry_to_record`.
Payloads become plain dicts: enums as numbers, months as strings, attribute values as
Python str/float/bool, maps as dicts, repeated fields as lists. Billing, the bulk of the
log, is converted field by field for speed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.message import Message

from services.profile.domain.model import LogRecord
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from telco360_runtime.clients import Token, open_channel
from telco360_runtime.errors import FailedPrecondition, Unavailable
from telco360_runtime.logs import get_logger
from telco360_runtime.tls import ChannelTls

UTC = dt.UTC
_KINDS = {
    "account": "account",
    "contact": "contact",
    "billing": "billing",
    "subscription": "subscription",
    "service_event": "service_event",
    "interaction": "interaction",
    "competitor": "competitor",
    "opportunity": "opportunity",
    "lifecycle": "lifecycle",
    "cost": "cost",
}


def attribute_value(value: common_pb2.AttributeValue) -> Any:
    """A Python value from an AttributeValue (None when unset)."""
    kind = value.WhichOneof("kind")
    return None if kind is None else getattr(value, kind)


def _message_dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fd, value in msg.ListFields():
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            if value_fd.message_type is not None:
                out[fd.name] = {k: attribute_value(v) for k, v in value.items()}
            else:
                out[fd.name] = dict(value)
        elif fd.is_repeated:
            out[fd.name] = list(value)
        else:
            out[fd.name] = value
    return out


def _ts(seconds: int, nanos: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds + nanos / 1e9, UTC)


def record_payload(record: ingest_pb2.Record) -> tuple[str, dict[str, Any]]:
    """(kind, payload dict) of a record."""
    which = record.WhichOneof("payload")
    if which is None:
        raise ValueError("record has no payload")
    if which == "billing":
        b = record.billing
        return "billing", {
            "month": b.month,
            "product_line": b.product_line,
            "fee_fen": b.fee_fen,
            "usage_quantity": b.usage_quantity,
            "usage_unit": b.usage_unit,
            "lines": b.lines,
            "payment_status": b.payment_status,
            "days_overdue": b.days_overdue,
        }
    return _KINDS[which], _message_dict(getattr(record, which))


def log_entry_to_record(entry: ingest_pb2.LogEntry, *, first_versions_known_when_occurred: bool = True) -> LogRecord:
    """The domain form of one log entry.

    The record's `ingested_at` here is when the suite counts the fact as *known*, which is
    what point-in-time features filter on. Corrections are known from when ingest stored
    them (a later fix never leaks into an earlier view). First versions are, by default,
    known from when they occurred: operators load years of history in bulk on day one, and
    with the ingestion time every past view would be empty. Set the profile setting
    `first_versions_known_when_occurred=false` to count strictly by ingestion time.
    """
    r = entry.record
    kind, payload = record_payload(r)
    occurred = _ts(r.occurred_at.seconds, r.occurred_at.nanos)
    ingested = _ts(entry.ingested_at.seconds, entry.ingested_at.nanos)
    version = entry.version or 1
    known = min(occurred, ingested) if version == 1 and first_versions_known_when_occurred else ingested
    return LogRecord(
        entry.sequence,
        r.source,
        r.source_record_id,
        version,
        r.customer_id,
        occurred,
        known,
        kind,
        payload,
        entry.erased,
    )


class LogRpcMissing(FailedPrecondition):
    """Ingest lacks ReadLogBatches (an older ingest): the caller reconnects, then read with plain ReadLog."""


class LogStreamBroken(Unavailable):
    """The log stream of ingest broke (down, restarted, network); `code` names the gRPC status."""

    def __init__(self, code: str) -> None:
        super().__init__("ingest", f"log stream broken: {code}")
        self.code = code


class IngestLog:
    """One connection to ingest's log (open with `connect`, close with `close`)."""

    def __init__(
        self,
        addr: str,
        *,
        first_versions_known_when_occurred: bool = True,
        token: Token = "",
        tls: ChannelTls | None = None,
    ) -> None:
        self.addr = addr
        self.token = token
        self.tls = tls
        self.first_versions_known_when_occurred = first_versions_known_when_occurred
        # Pages cut grpc's per-message cost ~100x on catch-up; an older ingest lacks the rpc.
        self.paged = True
        self._channel: grpc.aio.Channel | None = None
        self._stub: ingest_pb2_grpc.IngestServiceStub | None = None
        self._log = get_logger(component="log_consumer")

    def connect(self) -> None:
        """Open the channel."""
        self._channel = open_channel(self.addr, default_timeout=None, token=self.token, tls=self.tls)
        self._stub = ingest_pb2_grpc.IngestServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._stub = None

    def _the_stub(self) -> ingest_pb2_grpc.IngestServiceStub:
        if self._stub is None:
            raise Unavailable("ingest", "not connected")
        return self._stub

    async def last_sequence(self) -> int | None:
        """The last sequence of ingest's log (None when ingest does not answer within 5 s)."""
        try:
            stats = await self._the_stub().GetIngestStats(ingest_pb2.GetIngestStatsRequest(), timeout=5)
        except grpc.aio.AioRpcError:
            return None
        return stats.last_sequence

    async def follow(self, after: int) -> AsyncIterator[list[LogRecord]]:
        """The log after `after`, following new entries: one list per received message.

        Raises LogStreamBroken (Unavailable) when the stream breaks, LogRpcMissing when ingest lacks ReadLogBatches.
        """
        request = ingest_pb2.ReadLogRequest(after_sequence=after, follow=True)
        stub = self._the_stub()
        paged = self.paged
        call = stub.ReadLogBatches(request) if paged else stub.ReadLog(request)
        convert = self.first_versions_known_when_occurred
        try:
            async for message in call:
                entries = message.entries if paged else (message,)
                yield [log_entry_to_record(e, first_versions_known_when_occurred=convert) for e in entries]
        except grpc.aio.AioRpcError as error:
            if paged and error.code() == grpc.StatusCode.UNIMPLEMENTED:
                self._log.warning("ingest_without_read_log_batches", fallback="ReadLog")
                self.paged = False
                raise LogRpcMissing("ingest lacks ReadLogBatches") from None
            raise LogStreamBroken(error.code().name) from None
        finally:
            call.cancel()
