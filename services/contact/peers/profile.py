"""Contact's client of profile (peers layer): protobuf in, domain types out.

One GetCustomer360 per account gives the time zone, tier, contact persons (preferred
hours), the current features and tags, and profile's recorded score; GetFeatureSchema the
feature names and types (to check expressions); ValidateExpression profile's verdict on an
offer's eligibility or a campaign's target; WatchAccountEvents the account events that
trigger campaigns. "Profile does not know this account" is an answer (ProfileFacts with
found=False); every other failure raises PeerUnavailable (peers.errors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator

import grpc

from services.contact.domain.campaigns import AccountEvent
from services.contact.domain.eligibility import AccountFacts, ExpressionCheck, Value
from services.contact.domain.model import AccountEventKind, Person, RiskBand
from services.contact.peers.errors import unavailable
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360_runtime.timeconv import from_timestamp

PEER = "profile"
VALIDATE_TIMEOUT_MIN = 2.0
"""Seconds ValidateExpression may take at least (a catalogue change waits for it)."""


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
    account_manager_id: str = ""
    """The account's manager in profile's master data (account-team scoping of the front line)."""


@dataclasses.dataclass(frozen=True)
class FeatureSchema:
    """Feature name -> type ("number", "string", "bool"), with a version for caches."""

    types: dict[str, str]
    version: int


_FEATURE_TYPES = {
    profile_pb2.FEATURE_TYPE_NUMBER: "number",
    profile_pb2.FEATURE_TYPE_STRING: "string",
    profile_pb2.FEATURE_TYPE_BOOL: "bool",
}
_PROFILE_EVENTS = {
    profile_pb2.ACCOUNT_EVENT_TYPE_TAG_ASSIGNED: AccountEventKind.TAG_ASSIGNED,
    profile_pb2.ACCOUNT_EVENT_TYPE_TAG_REMOVED: AccountEventKind.TAG_REMOVED,
    profile_pb2.ACCOUNT_EVENT_TYPE_BILL_ISSUED: AccountEventKind.BILL_ISSUED,
    profile_pb2.ACCOUNT_EVENT_TYPE_SERVICE_EVENT: AccountEventKind.SERVICE_TICKET,
    profile_pb2.ACCOUNT_EVENT_TYPE_SUBSCRIPTION_CHANGED: AccountEventKind.TRANSACTION,
}


class ProfileClient:
    """Profile's rpcs contact uses, each with the peer deadline `timeout`."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = profile_pb2_grpc.ProfileServiceStub(channel)
        self.timeout = timeout

    async def customer_facts(self, customer_id: str) -> ProfileFacts:
        """The account's facts (found=False when profile does not know it)."""
        try:
            view = await self._stub.GetCustomer360(
                profile_pb2.GetCustomer360Request(customer_id=customer_id, trend_months=1, recent_limit=1),
                timeout=self.timeout,
            )
        except grpc.RpcError as error:
            if isinstance(error, grpc.aio.AioRpcError) and error.code() == grpc.StatusCode.NOT_FOUND:
                return ProfileFacts("", 0, {}, None, 0, None, found=False)
            raise unavailable(PEER, error) from error
        score = view.score if view.HasField("score") else None
        features: dict[str, Value] = {}
        for name, value in view.features.items():
            kind = value.WhichOneof("kind")
            if kind:
                features[name] = getattr(value, kind)
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
            account_manager_id=view.account.account_manager_id,
        )

    async def feature_schema(self) -> FeatureSchema:
        """Profile's feature names and types."""
        try:
            reply = await self._stub.GetFeatureSchema(profile_pb2.GetFeatureSchemaRequest(), timeout=self.timeout)
        except grpc.RpcError as error:
            raise unavailable(PEER, error) from error
        types = {f.name: _FEATURE_TYPES[f.type] for f in reply.features if f.type in _FEATURE_TYPES}
        # The version changes with the content, so compiled expressions are rechecked only then.
        return FeatureSchema(types, hash(tuple(sorted(types.items()))))

    async def validate_expression(self, expression: str) -> ExpressionCheck:
        """Profile's verdict on a segment expression (names and types against its schema)."""
        try:
            reply = await self._stub.ValidateExpression(
                profile_pb2.ValidateExpressionRequest(expression=expression, segment=True),
                timeout=max(self.timeout, VALIDATE_TIMEOUT_MIN),
            )
        except grpc.RpcError as error:
            raise unavailable(PEER, error) from error
        return ExpressionCheck(reply.valid, reply.error_position, reply.error_message, reply.error_reason)

    async def account_events(self, after: int) -> AsyncGenerator[tuple[int, AccountEvent | None], None]:
        """Follow profile's account events after sequence `after` (no deadline): each event's
        sequence with contact's view of it (None for kinds no campaign can use).

        Closing the iterator (contextlib.aclosing) cancels the stream.
        """
        stream = self._stub.WatchAccountEvents(
            profile_pb2.WatchAccountEventsRequest(after_sequence=after, follow=True), timeout=None
        )
        try:
            async for message in stream:
                yield message.sequence, profile_event(message)
        except grpc.RpcError as error:
            raise unavailable(PEER, error) from error
        finally:
            stream.cancel()


def profile_event(message: profile_pb2.AccountEvent) -> AccountEvent | None:
    """Contact's view of a profile account event (None for kinds no campaign can use)."""
    kind = _PROFILE_EVENTS.get(message.type)
    if message.type == profile_pb2.ACCOUNT_EVENT_TYPE_RISK_BAND_CHANGED:
        if message.risk_band <= message.previous_risk_band:
            return None
        kind = AccountEventKind.RISK_BAND_RAISED
    elif message.type == profile_pb2.ACCOUNT_EVENT_TYPE_INTERACTION:
        return None
    if kind is None:
        return None
    return AccountEvent(
        event_id=str(message.sequence),
        source="profile",
        customer_id=message.customer_id,
        kind=kind,
        occurred_at=from_timestamp(message.occurred_at),
        tag=message.tag_id,
        risk_band=RiskBand(int(message.risk_band)),
    )
