"""What contact needs from profile and scoring, cached so that a live call never waits
on a peer that is down or slow.

Caching rules (each entry keeps the time it was fetched):
- fresh (younger than its TTL): served without a call;
- stale: refreshed with a short deadline (`peer_timeout_seconds`); if the peer fails the
  stale value is served (when younger than `max_stale_seconds`) and the answer is marked
  degraded with the reason;
- after a failure the peer is skipped for `peer_retry_seconds` (a circuit breaker), so
  callers during an outage get their degraded answer at once instead of after a timeout.

Sources: profile's GetCustomer360 gives the time zone, tier, contact persons (preferred
hours) and profile's recorded score; scoring's ScoreCustomers gives the live churn risk
and value (profile's recorded score is the fallback when scoring is down). Offer
eligibility and campaign targets are profile expressions evaluated by profile itself:
contact caches each expression's member set from QuerySegment, so the expression
language has exactly one implementation (profile's) and eligibility costs no call while
the cache is fresh.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

import grpc

from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime.logs import get_logger

from services.contact.domain.model import AccountContext, Person, RiskBand

V = TypeVar("V")


@dataclasses.dataclass
class _Entry(Generic[V]):
    value: V
    fetched: float


@dataclasses.dataclass(frozen=True)
class Fetched(Generic[V]):
    """A value from a cache or peer (None when unknown) and why it is degraded, if it is."""

    value: V | None
    degraded: str = ""


class PeerCache(Generic[V]):
    """A TTL cache in front of one peer call, with a circuit breaker."""

    def __init__(self, peer: str, ttl: float, max_stale: float, retry_after: float, timeout: float) -> None:
        self.peer, self.ttl, self.max_stale = peer, ttl, max_stale
        self.retry_after, self.timeout = retry_after, timeout
        self._entries: dict[str, _Entry[V]] = {}
        self._down_until = 0.0
        self._inflight: dict[str, asyncio.Future[V]] = {}
        self._log = get_logger()

    def peek(self, key: str) -> V | None:
        """The cached value, however old (tests and diagnostics)."""
        entry = self._entries.get(key)
        return entry.value if entry else None

    async def get(self, key: str, fetch: Callable[[], Awaitable[V]], fresh_after: float | None = None) -> Fetched[V]:
        """The value for key: cached when fresh, else fetched; stale or None when the peer fails.

        `fresh_after` (a time.time() instant) forces a refetch of entries older than it.
        """
        now = time.monotonic()
        entry = self._entries.get(key)
        fresh = entry is not None and now - entry.fetched < self.ttl
        if fresh and fresh_after is not None:
            fresh = (time.time() - (now - entry.fetched)) >= fresh_after  # type: ignore[union-attr]
        if fresh:
            return Fetched(entry.value)  # type: ignore[union-attr]
        if now < self._down_until:
            return self._fallback(entry, now, "unavailable (retrying shortly)")
        try:
            value = await self._fetch_once(key, fetch)
        except (grpc.RpcError, asyncio.TimeoutError, OSError) as error:
            self._down_until = time.monotonic() + self.retry_after
            code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
            self._log.warning("peer_unavailable", peer=self.peer, code=code)
            return self._fallback(entry, now, f"unavailable ({code})")
        self._entries[key] = _Entry(value, time.monotonic())
        return Fetched(value)

    async def _fetch_once(self, key: str, fetch: Callable[[], Awaitable[V]]) -> V:
        """One call per key at a time; concurrent callers share it."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await asyncio.wait_for(fetch(), self.timeout)
        except BaseException as error:
            future.set_exception(error)
            future.exception()
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(value)
        return value

    def _fallback(self, entry: _Entry[V] | None, now: float, why: str) -> Fetched[V]:
        if entry is not None and now - entry.fetched < self.max_stale:
            age = int(now - entry.fetched)
            return Fetched(entry.value, f"{self.peer} {why}: using data cached {age} s ago")
        return Fetched(None, f"{self.peer} {why}: no cached data, using conservative defaults")


@dataclasses.dataclass(frozen=True)
class ProfileFacts:
    """What profile tells contact about an account."""

    time_zone: str
    tier: int
    persons: dict[str, Person]
    churn_probability: float | None
    risk_band: int
    predicted_value_fen: int | None
    found: bool = True


@dataclasses.dataclass(frozen=True)
class ScoreFacts:
    """What scoring tells contact about an account."""

    churn_probability: float
    risk_band: int
    predicted_value_fen: int
    value_tier: int


class Peers:
    """Profile and scoring, behind caches."""

    def __init__(
        self,
        profile_channel: grpc.aio.Channel,
        scoring_channel: grpc.aio.Channel,
        *,
        timeout: float,
        retry_after: float,
        context_ttl: float,
        score_ttl: float,
        segment_ttl: float,
        max_stale: float,
    ) -> None:
        self.profile = profile_pb2_grpc.ProfileServiceStub(profile_channel)
        self.scoring = scoring_pb2_grpc.ScoringServiceStub(scoring_channel)
        self._channels = (profile_channel, scoring_channel)
        self.timeout = timeout
        self.facts: PeerCache[ProfileFacts] = PeerCache("profile", context_ttl, max_stale, retry_after, timeout)
        self.scores: PeerCache[ScoreFacts | None] = PeerCache("scoring", score_ttl, max_stale, retry_after, timeout)
        self.segments: PeerCache[frozenset[str]] = PeerCache("profile", segment_ttl, max_stale, retry_after, timeout * 4)

    async def close(self) -> None:
        """Close the peer channels."""
        for channel in self._channels:
            await channel.close()

    async def _profile_facts(self, customer_id: str) -> ProfileFacts:
        try:
            view = await self.profile.GetCustomer360(
                profile_pb2.GetCustomer360Request(customer_id=customer_id, trend_months=1, recent_limit=1),
                timeout=self.timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return ProfileFacts("", 0, {}, None, 0, None, found=False)
            raise
        score = view.score if view.HasField("score") else None
        return ProfileFacts(
            time_zone=view.account.time_zone,
            tier=int(view.account.tier),
            persons={
                c.person_id: Person(c.person_id, c.preferred_hours, c.inactive) for c in view.contacts if c.person_id
            },
            churn_probability=score.churn_probability if score else None,
            risk_band=int(score.risk_band) if score else 0,
            predicted_value_fen=score.predicted_value_fen if score else None,
        )

    async def _score(self, customer_id: str) -> ScoreFacts | None:
        reply = await self.scoring.ScoreCustomers(
            scoring_pb2.ScoreCustomersRequest(customer_ids=[customer_id], top_reasons=1), timeout=self.timeout
        )
        for score in reply.scores:
            if score.status == scoring_pb2.SCORE_STATUS_OK:
                return ScoreFacts(
                    score.churn_probability, int(score.risk_band), score.predicted_value_fen, int(score.value_tier)
                )
        return None

    async def context(self, customer_id: str, with_score: bool = True) -> AccountContext:
        """The account's context; unknown fields default and degraded reasons are listed."""
        calls: list[Awaitable[Any]] = [self.facts.get(customer_id, lambda: self._profile_facts(customer_id))]
        if with_score:
            calls.append(self.scores.get(customer_id, lambda: self._score(customer_id)))
        results = await asyncio.gather(*calls)
        facts: Fetched[ProfileFacts] = results[0]
        reasons = [facts.degraded] if facts.degraded else []
        profile = facts.value
        churn: float | None = None
        band = RiskBand.UNSPECIFIED
        value: int | None = None
        if with_score:
            score: Fetched[ScoreFacts | None] = results[1]
            if score.value is not None:
                churn, band, value = score.value.churn_probability, RiskBand(score.value.risk_band), score.value.predicted_value_fen
            if score.degraded:
                if score.value is None and profile is not None and profile.churn_probability is not None:
                    churn, band, value = profile.churn_probability, RiskBand(profile.risk_band), profile.predicted_value_fen
                    reasons.append(score.degraded.split(":")[0] + ": using profile's recorded score")
                else:
                    reasons.append(score.degraded)
        return AccountContext(
            customer_id=customer_id,
            time_zone=profile.time_zone if profile else "",
            tier=profile.tier if profile else 0,
            persons=profile.persons if profile else {},
            churn_probability=churn,
            risk_band=band,
            predicted_value_fen=value,
            degraded_reasons=tuple(reasons),
        )

    async def _members(self, expression: str) -> frozenset[str]:
        members: set[str] = set()
        token = ""
        while True:
            reply = await self.profile.QuerySegment(
                profile_pb2.QuerySegmentRequest(
                    expression=expression, page={"page_size": 1000, "page_token": token}
                ),
                timeout=self.timeout * 4,
            )
            members.update(m.customer_id for m in reply.members)
            token = reply.page.next_page_token
            if not token:
                return frozenset(members)

    async def evaluate(
        self, expressions: Iterable[str], customer_id: str, fresh_after: float | None = None
    ) -> tuple[dict[str, bool | None], list[str]]:
        """Whether the account matches each expression (None = unknown) and degraded reasons."""
        unique = sorted({e for e in expressions if e})
        fetched = await asyncio.gather(
            *(self.segments.get(e, lambda e=e: self._members(e), fresh_after) for e in unique)
        )
        answers: dict[str, bool | None] = {}
        reasons: list[str] = []
        for expression, result in zip(unique, fetched):
            answers[expression] = None if result.value is None else customer_id in result.value
            if result.degraded:
                reasons.append(f"eligibility: {result.degraded}")
        return answers, list(dict.fromkeys(reasons))
