"""What contact needs from profile and scoring, cached so that a live call never waits
on a peer that is down or slow.

Caching rules (each entry keeps the time it was fetched):
- fresh (younger than its TTL): served without a call;
- stale: refreshed with a short deadline (`peer_timeout_seconds`); if the peer fails the
  stale value is served (when younger than `max_stale_seconds`) and the answer is marked
  degraded with the reason;
- after a failure the peer is skipped for `peer_retry_seconds` (a circuit breaker), so
  callers during an outage get their degraded answer at once instead of after a timeout;
- "profile does not know this account" is not cached, so an account ingested a moment
  later is known to the next call (a mistyped id costs one profile call per call);
- one fetch per key is shared by the concurrent callers; it runs as its own task in a
  detached context (telco360_runtime.context.create_task: no caller's request id, role or
  deadline), so a caller that is cancelled or whose deadline passes never
  cancels or shortens it for the others, and its log lines carry no caller's request id.

Sources: one GetCustomer360 per account gives the time zone, tier, contact persons
(preferred hours), the current features and tags, and profile's recorded score;
scoring's ScoreCustomers gives the live churn risk and value (profile's recorded score is
the fallback when scoring is down). Both are fetched concurrently and cached per account
(`context_ttl_seconds`, `score_ttl_seconds`). Offer eligibility and campaign targets are
evaluated locally over those facts (domain/eligibility.py, the shared expression
library), so they cost no call of their own; profile's feature schema (names and types,
to check expressions) is fetched once per `schema_ttl_seconds`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import grpc

from services.contact.domain.eligibility import AccountFacts, with_live_score
from services.contact.domain.model import AccountContext, Person, RiskBand
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime import context as call_context
from telco360_runtime.logs import get_logger

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

    def __init__(
        self,
        peer: str,
        ttl: float,
        max_stale: float,
        retry_after: float,
        timeout: float,
        keep: Callable[[V], bool] | None = None,
    ) -> None:
        self.peer, self.ttl, self.max_stale = peer, ttl, max_stale
        self.retry_after, self.timeout = retry_after, timeout
        self.keep = keep
        """Which fetched values are cached (default: all)."""
        self._entries: dict[str, _Entry[V]] = {}
        self._down_until = 0.0
        self._inflight: dict[str, asyncio.Task[V]] = {}
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
        except (TimeoutError, grpc.RpcError, OSError) as error:
            self._down_until = time.monotonic() + self.retry_after
            code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else type(error).__name__
            self._log.warning("peer_unavailable", peer=self.peer, code=code)
            return self._fallback(entry, now, f"unavailable ({code})")
        if self.keep is None or self.keep(value):
            self._entries[key] = _Entry(value, time.monotonic())
        return Fetched(value)

    async def _fetch_once(self, key: str, fetch: Callable[[], Awaitable[V]]) -> V:
        """One call per key at a time; concurrent callers share it (see the module docstring)."""
        task = self._inflight.get(key)
        if task is None:
            task = call_context.create_task(self._fetch(key, fetch))
            task.add_done_callback(_retrieve)
            self._inflight[key] = task
        return await asyncio.shield(task)

    async def _fetch(self, key: str, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            return await asyncio.wait_for(fetch(), self.timeout)
        finally:
            self._inflight.pop(key, None)

    def _fallback(self, entry: _Entry[V] | None, now: float, why: str) -> Fetched[V]:
        if entry is not None and now - entry.fetched < self.max_stale:
            age = int(now - entry.fetched)
            return Fetched(entry.value, f"{self.peer} {why}: using data cached {age} s ago")
        return Fetched(None, f"{self.peer} {why}: no cached data, using conservative defaults")


def _retrieve(task: asyncio.Task) -> None:
    """Mark a shared fetch's failure as seen (its callers may all have gone away)."""
    if not task.cancelled():
        task.exception()


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
    facts: AccountFacts = AccountFacts({})
    """Current features and tags, for eligibility."""


@dataclasses.dataclass(frozen=True)
class AccountView:
    """An account's context for the rules, its facts for eligibility, and the schema."""

    context: AccountContext
    facts: AccountFacts | None
    """None when profile is unavailable and nothing is cached."""
    schema: FeatureSchema | None
    """Profile's feature schema; None when it could not be fetched yet."""


@dataclasses.dataclass(frozen=True)
class FeatureSchema:
    """Feature name -> type ("number", "string", "bool"), with a version for caches."""

    types: dict[str, str]
    version: int


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
        schema_ttl: float,
        max_stale: float,
    ) -> None:
        self.profile = profile_pb2_grpc.ProfileServiceStub(profile_channel)
        self.scoring = scoring_pb2_grpc.ScoringServiceStub(scoring_channel)
        self._channels = (profile_channel, scoring_channel)
        self.timeout = timeout
        self.facts: PeerCache[ProfileFacts] = PeerCache(
            "profile", context_ttl, max_stale, retry_after, timeout, keep=lambda facts: facts.found
        )
        self.scores: PeerCache[ScoreFacts | None] = PeerCache("scoring", score_ttl, max_stale, retry_after, timeout)
        self.schema: PeerCache[FeatureSchema] = PeerCache("profile", schema_ttl, max_stale, retry_after, timeout)

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
        features = {
            name: getattr(value, value.WhichOneof("kind"))
            for name, value in view.features.items()
            if value.WhichOneof("kind")
        }
        # Customer360 of a group may list members' tags; only the account's own count.
        tags = frozenset(t.tag_id for t in view.tags if t.customer_id in ("", customer_id))
        return ProfileFacts(
            time_zone=view.account.time_zone,
            tier=int(view.account.tier),
            persons={
                c.person_id: Person(c.person_id, c.preferred_hours, c.inactive) for c in view.contacts if c.person_id
            },
            churn_probability=score.churn_probability if score else None,
            risk_band=int(score.risk_band) if score else 0,
            predicted_value_fen=score.predicted_value_fen if score else None,
            facts=AccountFacts(features, tags),
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

    async def _schema(self) -> FeatureSchema:
        reply = await self.profile.GetFeatureSchema(profile_pb2.GetFeatureSchemaRequest(), timeout=self.timeout)
        types = {f.name: _FEATURE_TYPES[f.type] for f in reply.features if f.type in _FEATURE_TYPES}
        # The version changes with the content, so compiled expressions are rechecked only then.
        return FeatureSchema(types, hash(tuple(sorted(types.items()))))

    async def view(self, customer_id: str, fresh_after: float | None = None) -> AccountView:
        """Context, facts (with the live score laid over) and schema, fetched concurrently.

        `fresh_after` (a time.time() instant) refetches profile facts cached before it, so an
        event is evaluated against facts that know about it.
        """
        (facts, score, schema) = await asyncio.gather(
            self.facts.get(customer_id, lambda: self._profile_facts(customer_id), fresh_after),
            self.scores.get(customer_id, lambda: self._score(customer_id)),
            self.schema.get("schema", self._schema),
        )
        context = _context(customer_id, facts, score)
        account = None
        if facts.value is not None:
            account = with_live_score(
                facts.value.facts,
                context.churn_probability,
                context.risk_band.name if context.risk_band else "",
                context.predicted_value_fen,
            )
        return AccountView(context, account, schema.value)

    async def context(self, customer_id: str, with_score: bool = True) -> AccountContext:
        """The account's context; unknown fields default and degraded reasons are listed."""
        if not with_score:
            return _context(customer_id, await self.facts.get(customer_id, lambda: self._profile_facts(customer_id)))
        facts, score = await asyncio.gather(
            self.facts.get(customer_id, lambda: self._profile_facts(customer_id)),
            self.scores.get(customer_id, lambda: self._score(customer_id)),
        )
        return _context(customer_id, facts, score)


_FEATURE_TYPES = {
    profile_pb2.FEATURE_TYPE_NUMBER: "number",
    profile_pb2.FEATURE_TYPE_STRING: "string",
    profile_pb2.FEATURE_TYPE_BOOL: "bool",
}


def _context(
    customer_id: str, facts: Fetched[ProfileFacts], score: Fetched[ScoreFacts | None] | None = None
) -> AccountContext:
    """The rules' view of an account from what profile and (optionally) scoring answered."""
    reasons = [facts.degraded] if facts.degraded else []
    profile = facts.value
    churn: float | None = None
    band = RiskBand.UNSPECIFIED
    value: int | None = None
    if score is not None:
        if score.value is not None:
            churn, band, value = (
                score.value.churn_probability,
                RiskBand(score.value.risk_band),
                score.value.predicted_value_fen,
            )
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
        exists=profile is None or profile.found,
    )
