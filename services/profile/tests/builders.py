"""Builders of crafted log records and a migrated store for profile's tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from services.profile.domain.billing import month_index, month_str
from services.profile.domain.model import LogRecord

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
LINES = {"voice": 1, "mobile_data": 2, "broadband": 3, "dedicated_line": 4, "cloud": 5, "iot": 6, "ict_project": 7}
COST_TYPES = {"network": 1, "service": 2, "discount": 3, "subsidy": 4, "channel_commission": 5, "ict_project": 6}


class Clock:
    """A settable clock."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def month_end(month: str) -> dt.datetime:
    """The last second of a month (when its bill occurs)."""
    nxt = month_index(month) + 1
    return dt.datetime(nxt // 12, nxt % 12 + 1, 1, tzinfo=UTC) - dt.timedelta(seconds=1)


class Log:
    """Makes LogRecords with increasing sequence numbers."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)

    def rec(
        self,
        kind: str,
        cid: str,
        payload: dict[str, Any],
        occurred: dt.datetime,
        *,
        source: str = "crm",
        srid: str | None = None,
        version: int = 1,
        ingested: dt.datetime | None = None,
    ) -> LogRecord:
        """One record (ingested when it occurred unless told)."""
        return LogRecord(
            next(self._seq),
            source,
            srid or f"{kind}-{next(self._ids)}",
            version,
            cid,
            occurred,
            ingested or occurred,
            kind,
            payload,
        )

    def account(self, cid: str, occurred: dt.datetime = NOW - dt.timedelta(days=800), **fields) -> LogRecord:
        """Master data with sensible defaults."""
        payload = {
            "name": f"Org {cid}",
            "industry": "GOV",
            "region": "Guangdong/Shenzhen",
            "tier": 5,
            "contract_start_month": "2023-01",
            "contract_end_month": "2028-12",
        }
        payload.update(fields)
        return self.rec("account", cid, payload, occurred, srid=f"ACC-{cid}")

    def bills(self, cid: str, fees: dict[str, dict[str, int]], **extra) -> list[LogRecord]:
        """Billing records: {month: {line name: fee}}."""
        out = []
        for month, lines in fees.items():
            for line, fee in lines.items():
                out.append(
                    self.rec(
                        "billing",
                        cid,
                        {
                            "month": month,
                            "product_line": LINES[line],
                            "fee_fen": fee,
                            "usage_quantity": 1.0,
                            "usage_unit": "u",
                            "lines": 1,
                            "payment_status": extra.get("status", 1),
                            "days_overdue": extra.get("days_overdue", 0),
                        },
                        month_end(month),
                        source="billing",
                        srid=f"BILL-{cid}-{month}-{line}",
                    )
                )
        return out

    def flat_bills(self, cid: str, months: int, fees: dict[str, int], last: str = "2026-10") -> list[LogRecord]:
        """The same fees for `months` months ending at `last`."""
        end = month_index(last)
        return self.bills(cid, {month_str(end - k): dict(fees) for k in range(months - 1, -1, -1)})

    def cost(
        self,
        cid: str,
        month: str,
        line: str,
        cost_type: str,
        amount_fen: int,
        *,
        occurred: dt.datetime | None = None,
        srid: str | None = None,
        version: int = 1,
        ingested: dt.datetime | None = None,
    ) -> LogRecord:
        """One cost record (booked at the month's end unless told); cost_type by name, e.g. "network"."""
        return self.rec(
            "cost",
            cid,
            {
                "month": month,
                "product_line": LINES[line],
                "cost_type": COST_TYPES[cost_type],
                "amount_fen": amount_fen,
            },
            occurred or month_end(month),
            source="finance",
            srid=srid or f"COST-{cid}-{month}-{line}-{cost_type}",
            version=version,
            ingested=ingested,
        )
