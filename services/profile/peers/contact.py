"""Peers: the calls Customer360 makes to contact (and, through peers/scoring.py, to scoring).

A dependency that is down makes the answer partial.

Both peers are asked concurrently under one short budget. A peer that failed (down,
refusing, or slower than the budget) is remembered as unavailable for `retry_seconds`:
during that time requests do not call it at all and are answered partial at once, so a
dead peer costs one budget every few seconds rather than one per request.
"""

from __future__ import annotations

import asyncio
import time

import grpc

from services.profile.peers.scoring import ScoringPeer
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2, contact_pb2_grpc
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime.clients import Token, open_channel
from telco360_runtime.tls import ChannelTls

_CONFIRMED = 2


class Peers:
    """Channels to scoring and contact (either may be unset)."""

    def __init__(
        self,
        scoring_addr: str,
        contact_addr: str,
        timeout: float,
        retry_seconds: float = 5.0,
        token: Token = "",
        tls: ChannelTls | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.scoring = ScoringPeer(scoring_addr, timeout, token, tls) if scoring_addr else None
        self.contact = (
            contact_pb2_grpc.ContactServiceStub(open_channel(contact_addr, token=token, tls=tls))
            if contact_addr
            else None
        )
        self._down_until: dict[str, float] = {}

    def _skip(self, name: str) -> bool:
        return time.monotonic() < self._down_until.get(name, 0.0)

    async def enrich(self, out: pb.Customer360, customer_id: str, recent: int) -> None:
        """Add the latest stored score and recent contacts; mark the answer partial on failure."""
        tasks, skipped = [], []
        for name, stub, call in (
            ("scoring", self.scoring, lambda: self._score(out, customer_id)),
            ("contact", self.contact, lambda: self._contacts(out, customer_id, recent)),
        ):
            if stub is None:
                continue
            if self._skip(name):
                skipped.append(name)
            else:
                tasks.append((name, call()))
        results = (
            await asyncio.gather(*(asyncio.wait_for(t, self.timeout) for _, t in tasks), return_exceptions=True)
            if tasks
            else []
        )
        for (name, _), result in zip(tasks, results, strict=False):
            if isinstance(result, grpc.aio.AioRpcError) and result.code() == grpc.StatusCode.NOT_FOUND:
                continue
            if isinstance(result, BaseException):
                self._down_until[name] = time.monotonic() + self.retry_seconds
                skipped.append(name)
            else:
                self._down_until.pop(name, None)
        for name in ("scoring", "contact"):
            if name in skipped:
                out.partial = True
                out.unavailable.append(name)

    async def _score(self, out: pb.Customer360, customer_id: str) -> None:
        assert self.scoring is not None
        await self.scoring.add_score(out, customer_id)

    async def _contacts(self, out: pb.Customer360, customer_id: str, recent: int) -> None:
        assert self.contact is not None
        # The newest `recent` confirmed contacts (filtered by contact, not after paging), each
        # with the latest outcome recorded for it; "delivered" when none was recorded.
        page = await self.contact.ListLedger(
            contact_pb2.ListLedgerRequest(
                customer_id=customer_id, page=common_pb2.PageRequest(page_size=recent), confirmed_only=True
            ),
            timeout=self.timeout,
            wait_for_ready=False,
        )
        for entry in page.entries:
            if entry.HasField("reservation") and entry.reservation.state == _CONFIRMED:
                r = entry.reservation
                outcome = (
                    contact_pb2.OutcomeKind.Name(r.outcome).removeprefix("OUTCOME_KIND_").lower()
                    if r.outcome
                    else "delivered"
                )
                out.recent_contacts.add(
                    occurred_at=r.closed_at if r.HasField("closed_at") else r.reserved_at,
                    channel=contact_pb2.Channel.Name(r.contact.channel).removeprefix("CHANNEL_").lower(),
                    purpose=contact_pb2.Purpose.Name(r.contact.purpose).removeprefix("PURPOSE_").lower(),
                    offer_id=r.contact.offer_id,
                    outcome=outcome,
                )
