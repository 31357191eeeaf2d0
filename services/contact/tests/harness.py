"""Test harness: stand-in profile and scoring peers (real gRPC servers answering the few
rpcs contact calls, with data the test sets) and real contact servers on port 0.

The stand-ins exist because profile and scoring answers depend on ingested history and
trained models; contact's tests need to choose time zones, persons, segment members and
scores, features and tags exactly, and to take a peer down. Everything of contact itself is real: server,
interceptors, store, migrations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable

import grpc

from services.contact.app import build_service
from services.contact.settings import ContactSettings
from services.contact.store.paths import MIGRATIONS_DIR
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2_grpc
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime.bootstrap import open_store
from telco360_runtime.db import Database
from telco360_runtime.server import GrpcService


@dataclasses.dataclass
class AccountFacts:
    """What the stand-in profile knows about one account."""

    time_zone: str = "Asia/Shanghai"
    tier: int = 5
    persons: dict[str, str] = dataclasses.field(default_factory=dict)
    """person_id -> preferred hours."""
    tags: set[str] = dataclasses.field(default_factory=set)
    """Tag ids held now."""
    features: dict[str, float | str | bool] = dataclasses.field(default_factory=lambda: {"status": "ACTIVE"})
    """Current features (status ACTIVE unless a test says otherwise)."""
    account_manager_id: str = ""
    """The account's manager in the master data (account-team scoping)."""


#: The stand-in's feature schema: a few of profile's built-in features and one attribute.
SCHEMA = {
    "status": profile_pb2.FEATURE_TYPE_STRING,
    "fee_total_last_month": profile_pb2.FEATURE_TYPE_NUMBER,
    "churn_probability": profile_pb2.FEATURE_TYPE_NUMBER,
    "risk_band": profile_pb2.FEATURE_TYPE_STRING,
    "predicted_value_fen": profile_pb2.FEATURE_TYPE_NUMBER,
    "competitor_active_approach": profile_pb2.FEATURE_TYPE_BOOL,
    "attr.industry": profile_pb2.FEATURE_TYPE_STRING,
}


def _value(value: float | str | bool) -> common_pb2.AttributeValue:
    if isinstance(value, bool):
        return common_pb2.AttributeValue(bool_value=value)
    if isinstance(value, (int, float)):
        return common_pb2.AttributeValue(number_value=float(value))
    return common_pb2.AttributeValue(string_value=value)


class FakeProfile(profile_pb2_grpc.ProfileServiceServicer):
    """Profile stand-in: Customer360 facts (features, tags), feature schema, events, validation."""

    def __init__(self) -> None:
        self.accounts: dict[str, AccountFacts] = {}
        self.events: list[profile_pb2.AccountEvent] = []
        self.watched_after: list[int] = []  # after_sequence of each WatchAccountEvents call
        self.calls = 0
        self.schema_calls = 0

    async def GetCustomer360(self, request, context):
        self.calls += 1
        facts = self.accounts.get(request.customer_id)
        if facts is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown customer")
        return profile_pb2.Customer360(
            account=profile_pb2.Account(
                customer_id=request.customer_id,
                time_zone=facts.time_zone,
                tier=facts.tier,
                account_manager_id=facts.account_manager_id,
            ),
            contacts=[profile_pb2.Contact(person_id=p, preferred_hours=h) for p, h in facts.persons.items()],
            tags=[profile_pb2.AssignedTag(tag_id=t, customer_id=request.customer_id) for t in sorted(facts.tags)],
            features={name: _value(v) for name, v in facts.features.items()},
        )

    async def GetFeatureSchema(self, request, context):
        self.schema_calls += 1
        return profile_pb2.FeatureSchema(
            features=[profile_pb2.FeatureSpec(name=n, type=t, builtin=True) for n, t in SCHEMA.items()]
        )

    async def WatchAccountEvents(self, request, context):
        self.watched_after.append(request.after_sequence)
        sent = request.after_sequence
        while True:
            for event in self.events:
                if event.sequence > sent:
                    sent = event.sequence
                    yield event
            if not request.follow:
                return
            await asyncio.sleep(0.05)

    async def ValidateExpression(self, request, context):
        if request.expression.count("(") != request.expression.count(")"):
            return profile_pb2.ValidateExpressionResponse(valid=False, error_position=0, error_message="unbalanced")
        return profile_pb2.ValidateExpressionResponse(valid=True, error_position=-1)


class FakeScoring(scoring_pb2_grpc.ScoringServiceServicer):
    """Scoring stand-in: churn probability, band and value per account."""

    def __init__(self) -> None:
        self.scores: dict[str, tuple[float, int, int]] = {}

    async def ScoreCustomers(self, request, context):
        out = []
        for customer_id in request.customer_ids:
            if customer_id in self.scores:
                p, band, value = self.scores[customer_id]
                out.append(
                    scoring_pb2.AccountScore(
                        customer_id=customer_id,
                        status=scoring_pb2.SCORE_STATUS_OK,
                        churn_probability=p,
                        risk_band=band,
                        predicted_value_fen=value,
                    )
                )
            else:
                out.append(scoring_pb2.AccountScore(customer_id=customer_id, status=scoring_pb2.SCORE_STATUS_NOT_FOUND))
        return scoring_pb2.ScoreCustomersResponse(scores=out)


class PeerServer:
    """A plain grpc.aio server for a stand-in servicer."""

    def __init__(self, add, servicer) -> None:
        self.add, self.servicer = add, servicer
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> str:
        self.server = grpc.aio.server()
        self.add(self.servicer, self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        await self.server.start()
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None


async def start_peers() -> tuple[FakeProfile, PeerServer, FakeScoring, PeerServer]:
    """Start profile and scoring stand-ins."""
    profile, scoring = FakeProfile(), FakeScoring()
    profile_server = PeerServer(profile_pb2_grpc.add_ProfileServiceServicer_to_server, profile)
    scoring_server = PeerServer(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, scoring)
    await profile_server.start()
    await scoring_server.start()
    return profile, profile_server, scoring, scoring_server


@dataclasses.dataclass
class ContactNode:
    """A running contact server with its store and a client stub."""

    service: GrpcService
    db: Database
    channel: grpc.aio.Channel
    stub: contact_pb2_grpc.ContactServiceStub

    async def close(self) -> None:
        await self.channel.close()
        await self.service.stop(0)
        self.db.dispose()


async def start_contact(
    db_url: str, profile_addr: str, scoring_addr: str, clock: Callable[[], dt.datetime] | None = None, **overrides
) -> ContactNode:
    """Start a contact server on port 0 against db_url (migrated on open); `clock` replaces the wall clock."""
    settings = ContactSettings(
        port=0,
        database_url=db_url,
        profile_addr=profile_addr,
        scoring_addr=scoring_addr,
        **{"follow_profile_events": False, "expiry_sweep_seconds": 0, "peer_timeout_seconds": 1.0, **overrides},
    )
    db = await asyncio.to_thread(open_store, settings, MIGRATIONS_DIR)
    service = build_service(settings, db, clock=clock)
    await service.start()
    channel = grpc.aio.insecure_channel(service.address)
    return ContactNode(service, db, channel, contact_pb2_grpc.ContactServiceStub(channel))
