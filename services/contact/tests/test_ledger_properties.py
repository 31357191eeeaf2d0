"""Property: no window of any cap ever holds more than its limit (issue 21, done-when).

A Hypothesis state machine drives two contact replicas on one database (SQLite file or
PostgreSQL) through random interleavings of reserve (with `at` inside and outside the
allowed window), confirm, cancel and expiry (a controllable clock moved forward), plus a
race: a confirmation that arrives as its reservation expires while another reservation
for the same account goes through the other replica. After every step the ledger, read
straight from the database, is checked against a simple reference model: the contacts
that count now (confirmed, or reserved and unexpired), and for every cap the largest
number of them inside any rolling window / calendar day, which must not exceed the limit.

The race: the test clock runs a hook on the first read after it is armed. The hook moves
time past the reservation's expiry and sends the competing ReserveContact, waiting for
it only briefly: where the confirmation reads the time before taking the account's lock
(the old code), that reservation completes inside the hook and the confirmation then
revives the slot it gave away; where the time is read under the lock, the reservation
waits for the confirmation and is refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Callable

import grpc
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from services.contact.app import build_service
from services.contact.settings import ContactSettings
from services.contact.store.paths import MIGRATIONS_DIR
from services.contact.tests.harness import AccountFacts, start_peers
from telco360.contact.v1 import contact_pb2 as pb
from telco360.contact.v1 import contact_pb2_grpc
from telco360_runtime.bootstrap import open_store
from telco360_runtime.status import field_violations
from telco360_runtime.timeconv import to_timestamp

UTC = dt.UTC
BEHIND, AHEAD, SKEW = dt.timedelta(days=2), dt.timedelta(days=3), dt.timedelta(seconds=60)
SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL


@dataclasses.dataclass(frozen=True)
class Cap:
    """A cap of the test policy as the reference model counts it."""

    cap_id: str
    limit: int
    channels: frozenset[int]
    rolling: dt.timedelta | None
    """Rolling window length; None for a calendar day (UTC: the accounts' zone)."""


CAPS = (
    Cap("sms-3d", 2, frozenset({SMS}), dt.timedelta(days=3)),
    Cap("all-day", 2, frozenset(), None),
    Cap("all-7d", 3, frozenset(), dt.timedelta(days=7)),
)


def policy() -> pb.ContactPolicy:
    caps = []
    for cap in CAPS:
        window = (
            pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=pb.WINDOW_UNIT_DAY, size=cap.rolling.days)
            if cap.rolling
            else pb.Window(kind=pb.WINDOW_KIND_CALENDAR, unit=pb.WINDOW_UNIT_DAY, size=1)
        )
        caps.append(
            pb.FrequencyCap(
                cap_id=cap.cap_id,
                scope=pb.CAP_SCOPE_ACCOUNT,
                channels=sorted(cap.channels),
                max_contacts=cap.limit,
                window=window,
            )
        )
    return pb.ContactPolicy(
        policy_id="prop",
        name="property",
        active=True,
        caps=caps,
        purpose_classes=[pb.PurposeClass(purpose=pb.PURPOSE_MARKETING, requires_consent=False)],
    )


def worst_window(cap: Cap, contacts: list[tuple[int, dt.datetime]]) -> int:
    """The most contacts of `cap` inside any one of its windows (reference model)."""
    times = sorted(at for channel, at in contacts if not cap.channels or channel in cap.channels)
    if cap.rolling is None:
        per_day: dict[dt.date, int] = {}
        for at in times:
            per_day[at.date()] = per_day.get(at.date(), 0) + 1
        return max(per_day.values(), default=0)
    # A window (s, s + L] holding the most contacts can be slid until it ends on one.
    return max((sum(1 for t in times if end - cap.rolling < t <= end) for end in times), default=0)


class Clock:
    """The replicas' shared clock: moved by the test; optionally runs a hook on a read."""

    def __init__(self, start: dt.datetime) -> None:
        self._now, self._lock = start, threading.Lock()
        self.hook: Callable[[], None] | None = None

    def __call__(self) -> dt.datetime:
        with self._lock:
            now, hook, self.hook = self._now, self.hook, None
        if hook is not None:
            hook()
        return now  # the time read before the hook moved it on

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta


class Env:
    """Two contact replicas on one database, served from an event loop in its own thread."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.clock = Clock(dt.datetime(2030, 1, 7, 8, 0, tzinfo=UTC))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="property-loop", daemon=True)
        self.thread.start()
        self.engine = sa.create_engine(db_url)
        self.run(self._start())

    def run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.profile, self.profile_server, _, self.scoring_server = await start_peers()
        peers = (f"127.0.0.1:{self.profile_server.port}", f"127.0.0.1:{self.scoring_server.port}")
        self.nodes = []
        for _ in range(2):
            config = ContactSettings(
                port=0,
                database_url=self.db_url,
                profile_addr=peers[0],
                scoring_addr=peers[1],
                follow_profile_events=False,
                expiry_sweep_seconds=0,
                peer_timeout_seconds=5.0,
                reserve_behind_seconds=BEHIND.total_seconds(),
                reserve_ahead_seconds=AHEAD.total_seconds(),
                clock_skew_seconds=SKEW.total_seconds(),
            )
            db = await asyncio.to_thread(open_store, config, MIGRATIONS_DIR)
            service = build_service(config, db, clock=self.clock)
            await service.start()
            channel = grpc.aio.insecure_channel(service.address)
            self.nodes.append((service, db, channel, contact_pb2_grpc.ContactServiceStub(channel)))
        await self.nodes[0][3].CreatePolicy(pb.CreatePolicyRequest(policy=policy()))

    async def _stop(self) -> None:
        for service, db, channel, _ in self.nodes:
            await channel.close()
            await service.stop(0)
            db.dispose()
        await self.profile_server.stop()
        await self.scoring_server.stop()

    def close(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.engine.dispose()

    def submit(self, replica: int, method: str, request) -> concurrent.futures.Future:
        """Send one call on a replica; the future holds (reply, None) or (None, error)."""

        async def call():
            try:
                return await getattr(self.nodes[replica][3], method)(request, timeout=60), None
            except grpc.aio.AioRpcError as error:
                return None, error

        return asyncio.run_coroutine_threadsafe(call(), self.loop)

    def call(self, replica: int, method: str, request):
        return self.submit(replica, method, request).result(120)

    def counting(self, accounts: list[str]) -> dict[str, list[tuple[int, dt.datetime]]]:
        """Per account, the contacts that count now, read straight from the ledger tables."""
        now_us = int((self.clock.now() - dt.datetime(1970, 1, 1, tzinfo=UTC)) / dt.timedelta(microseconds=1))
        found: dict[str, list[tuple[int, dt.datetime]]] = {a: [] for a in accounts}
        query = sa.text(
            "SELECT customer_id, channel, at_us, state, expires_at_us FROM reservations WHERE customer_id IN :accounts"
        ).bindparams(sa.bindparam("accounts", expanding=True))
        with self.engine.connect() as conn:
            for row in conn.execute(query, {"accounts": accounts}):
                live = row.state == pb.RESERVATION_STATE_RESERVED and row.expires_at_us > now_us
                if row.state == pb.RESERVATION_STATE_CONFIRMED or live:
                    at = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=row.at_us)
                    found[row.customer_id].append((row.channel, at))
        return found


@dataclasses.dataclass
class Held:
    """A granted reservation as the test saw it."""

    reservation_id: str
    account: str
    at: dt.datetime
    expires_at: dt.datetime


def contact(account: str, channel: int, at: dt.datetime | None) -> pb.CheckContactRequest:
    request = pb.CheckContactRequest(customer_id=account, channel=channel, purpose=pb.PURPOSE_MARKETING)
    if at is not None:
        request.at.CopyFrom(to_timestamp(at))
    return request


def machine_for(env: Env) -> type[RuleBasedStateMachine]:
    """The state machine over one environment (servers live across examples)."""

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            env.clock.advance(dt.timedelta(days=30))  # each example far from the previous ones
            self.prefix = uuid.uuid4().hex[:8]
            self.accounts: list[str] = []
            for n in range(2):
                self._account(f"{self.prefix}-{n}")
            self.held: list[Held] = []
            self.keys = 0
            self.races = 0

        def _account(self, account: str) -> str:
            env.profile.accounts[account] = AccountFacts(time_zone="UTC")
            self.accounts.append(account)
            return account

        def _reserve(self, replica: int, account: str, channel: int, at: dt.datetime | None, hold: int):
            self.keys += 1
            request = pb.ReserveContactRequest(
                idempotency_key=f"{self.prefix}-{self.keys}", contact=contact(account, channel, at), hold_seconds=hold
            )
            return env.call(replica, "ReserveContact", request)

        def _keep(self, account: str, reply: pb.ReserveContactResponse) -> None:
            if reply.granted:
                r = reply.reservation
                self.held.append(
                    Held(r.reservation_id, account, r.contact.at.ToDatetime(UTC), r.expires_at.ToDatetime(UTC))
                )

        @rule(
            replica=st.integers(0, 1),
            which=st.integers(0, 1),
            channel=st.sampled_from([SMS, EMAIL]),
            offset_hours=st.one_of(
                st.none(),
                st.integers(-int(BEHIND / dt.timedelta(hours=1)) - 30, int(AHEAD / dt.timedelta(hours=1)) + 30),
            ),
            hold=st.sampled_from([60, 3600, 4 * 3600]),
        )
        def reserve(self, replica, which, channel, offset_hours, hold):
            now = env.clock.now()
            at = None if offset_hours is None else now + dt.timedelta(hours=offset_hours)
            account = self.accounts[which]
            reply, error = self._reserve(replica, account, channel, at, hold)
            if at is not None and not now - BEHIND <= at <= now + AHEAD:
                assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT, (at, now, reply)
                assert [v.field for v in field_violations(error)] == ["contact.at"]
                return
            assert error is None, error
            self._keep(account, reply)

        @precondition(lambda self: self.held)
        @rule(replica=st.integers(0, 1), pick=st.integers(0, 10_000), late=st.booleans())
        def confirm(self, replica, pick, late):
            held = self.held[pick % len(self.held)]
            request = pb.ConfirmContactRequest(reservation_id=held.reservation_id)
            if late:
                request.delivered_at.CopyFrom(to_timestamp(held.at))
            now = env.clock.now()
            reply, error = env.call(replica, "ConfirmContact", request)
            if error is not None:
                assert error.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT), error
            else:
                assert reply.state == pb.RESERVATION_STATE_CONFIRMED
            if now >= held.expires_at and reply is not None:
                # Only one confirmed before its expiry may answer CONFIRMED afterwards.
                assert reply.closed_at.ToDatetime(UTC) < held.expires_at + SKEW

        @precondition(lambda self: self.held)
        @rule(replica=st.integers(0, 1), pick=st.integers(0, 10_000))
        def cancel(self, replica, pick):
            held = self.held[pick % len(self.held)]
            _, error = env.call(
                replica, "CancelContact", pb.CancelContactRequest(reservation_id=held.reservation_id, reason="not sent")
            )
            assert error is None or error.code() == grpc.StatusCode.FAILED_PRECONDITION, error

        @rule(minutes=st.sampled_from([1, 10, 61, 6 * 60, 24 * 60]))
        def advance(self, minutes):
            env.clock.advance(dt.timedelta(minutes=minutes))

        @rule(replica=st.integers(0, 1))
        def sweep(self, replica):
            """The expiry sweeper of one replica (housekeeping; counting never waits for it)."""
            ledger = env.nodes[replica][0].registrations[0].servicer.ledger
            env.run(ledger.expire())

        @precondition(lambda self: self.races < 2)
        @rule(confirming=st.integers(0, 1), competing=st.integers(0, 1))
        def confirm_as_it_expires(self, confirming, competing):
            """A confirmed contact, then one reserved for a minute whose confirmation meets
            its expiry while a competing reservation goes through a replica."""
            self.races += 1
            account = self._account(f"{self.prefix}-race{self.races}")
            first, error = self._reserve(0, account, SMS, None, 3600)
            assert error is None and first.granted
            assert (
                env.call(
                    0, "ConfirmContact", pb.ConfirmContactRequest(reservation_id=first.reservation.reservation_id)
                )[1]
                is None
            )
            second, error = self._reserve(1, account, SMS, None, 60)
            assert error is None and second.granted
            self._keep(account, second)
            competitor: list[concurrent.futures.Future] = []

            def hook() -> None:
                env.clock.advance(dt.timedelta(seconds=61))
                request = pb.ReserveContactRequest(
                    idempotency_key=f"{self.prefix}-race{self.races}-c", contact=contact(account, SMS, None)
                )
                competitor.append(env.submit(competing, "ReserveContact", request))
                try:
                    competitor[0].result(timeout=0.3)
                except concurrent.futures.TimeoutError:
                    pass  # it waits for the account's lock: the confirmation decides first

            env.clock.hook = hook
            env.call(
                confirming, "ConfirmContact", pb.ConfirmContactRequest(reservation_id=second.reservation.reservation_id)
            )
            env.clock.hook = None
            assert competitor, "the confirmation never read the clock"
            reply, error = competitor[0].result(120)
            assert error is None, error
            self._keep(account, reply)

        @invariant()
        def no_window_over_its_cap(self):
            for account, contacts in env.counting(self.accounts).items():
                for cap in CAPS:
                    worst = worst_window(cap, contacts)
                    assert worst <= cap.limit, (account, cap.cap_id, worst, sorted(contacts, key=lambda c: c[1]))

    return LedgerMachine


def test_no_window_of_any_cap_ever_exceeds_its_limit(db_url):
    env = Env(db_url)
    try:
        run_state_machine_as_test(
            machine_for(env),
            settings=settings(
                max_examples=12,
                stateful_step_count=12,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        env.close()


def test_reference_model_counts_windows():
    """The reference model itself: rolling windows slide, calendar days are UTC days."""
    base = dt.datetime(2030, 1, 1, 23, 0, tzinfo=UTC)
    sms = [(SMS, base), (SMS, base + dt.timedelta(hours=2)), (SMS, base + dt.timedelta(days=3))]
    assert worst_window(CAPS[0], sms) == 2  # 3 days: (t, t + 3d] never holds all three
    assert worst_window(CAPS[1], sms) == 1  # 23:00 and 01:00 fall on different days
    assert worst_window(CAPS[2], sms + [(EMAIL, base + dt.timedelta(days=1))]) == 4
    assert worst_window(CAPS[0], [(EMAIL, base)]) == 0
    with pytest.raises(AssertionError):
        assert worst_window(CAPS[0], sms[:2]) <= 1
