"""Record versions are ordered by the source's own time, not by arrival (SQLite and PostgreSQL).

Re-sending an old extract must not revert a correction: a version that occurred before the
one in force is kept in history and never wins, so the same set of versions yields the
same current account in any arrival order and however the log is cut into batches.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.profile.domain.model import LogRecord
from services.profile.store import views
from services.profile.store.models import AccountFact, BillingFact
from services.profile.tests.builders import NOW, month_end

DAY = dt.timedelta(days=1)
_ids = itertools.count(1)
# One store serves every example: sequences keep rising across them, accounts are distinct.
_sequence = itertools.count(1)


def _master(store, cid: str) -> dict:
    with store.db.session() as s:
        data = views.customer360(s, cid, False, 12, 20)
    return data["master"]


def _deliver(store, cid: str, versions: list[tuple[str, str, dt.datetime, dict]], cuts: list[int]) -> None:
    """Deliver versions in the given arrival order, numbered as ingest numbers them, in batches."""
    arrived: dict[tuple[str, str], int] = {}
    records = []
    for i, (kind, srid, occurred, payload) in enumerate(versions):
        source = "billing" if kind == "billing" else "crm"
        version = arrived.get((source, srid), 0) + 1
        arrived[(source, srid)] = version
        records.append(
            LogRecord(
                next(_sequence),
                source,
                srid,
                version,
                cid,
                occurred,
                NOW - 30 * DAY + i * dt.timedelta(minutes=1) if version > 1 else occurred,
                kind,
                payload,
            )
        )
    bounds = sorted({0, len(records), *[c % (len(records) + 1) for c in cuts]})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        store.apply(records[lo:hi])


names = st.sampled_from(["Alpha Co", "Beta Co", "Gamma Co", "Delta Co"])
regions = st.sampled_from(["Guangdong/Shenzhen", "Beijing", "Shanghai"])


@st.composite
def version_sets(draw):
    """Versions of one account record and one billing record, with distinct source times."""
    n_acc = draw(st.integers(1, 4))
    n_bill = draw(st.integers(0, 3))
    days = draw(st.lists(st.integers(0, 300), min_size=n_acc + n_bill, max_size=n_acc + n_bill, unique=True))
    out = []
    for d in days[:n_acc]:
        out.append(
            (
                "account",
                "ACC",
                NOW - 400 * DAY + d * DAY,
                {"name": draw(names), "region": draw(regions), "industry": "GOV", "tier": draw(st.integers(1, 6))},
            )
        )
    for d in days[n_acc:]:
        out.append(
            (
                "billing",
                "BILL",
                month_end("2026-09") + d * dt.timedelta(seconds=1),
                {
                    "month": "2026-09",
                    "product_line": 1,
                    "fee_fen": draw(st.integers(0, 10**6)),
                    "usage_quantity": 1.0,
                    "usage_unit": "u",
                    "lines": 1,
                    "payment_status": 1,
                    "days_overdue": 0,
                },
            )
        )
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=version_sets(), data=st.data())
def test_same_versions_in_any_arrival_order_give_the_same_account(store, versions, data) -> None:
    order = data.draw(st.permutations(versions), label="arrival order")
    cuts = data.draw(st.lists(st.integers(0, 10), max_size=3), label="batch cuts")
    run = next(_ids)
    reference, shuffled = f"REF{run}", f"SHUF{run}"
    # The reference delivers in the source's own order (what an operator sending only fresh
    # extracts does); the other delivers the same versions in an arbitrary order.
    by_time = sorted(versions, key=lambda v: v[2])
    _deliver(store, reference, [(k, f"{reference}-{srid}", t, p) for k, srid, t, p in by_time], [])
    _deliver(store, shuffled, [(k, f"{shuffled}-{srid}", t, p) for k, srid, t, p in order], cuts)

    want = _master(store, reference)
    got = _master(store, shuffled)
    assert got["fields"] == want["fields"]
    newest = max((v for v in versions if v[0] == "account"), key=lambda v: v[2])[3]
    assert got["fields"]["name"] == newest["name"] and got["fields"]["region"] == newest["region"]
    with store.db.session() as s:
        current = (
            s.execute(
                select(AccountFact.payload).where(
                    AccountFact.customer_id == shuffled, AccountFact.superseded_at.is_(None)
                )
            )
            .scalars()
            .all()
        )
        kept = s.execute(select(AccountFact.id).where(AccountFact.customer_id == shuffled)).scalars().all()
        fees = (
            s.execute(
                select(BillingFact.fee_fen).where(
                    BillingFact.customer_id == shuffled, BillingFact.superseded_at.is_(None)
                )
            )
            .scalars()
            .all()
        )
    assert len(current) == 1 and len(kept) == sum(1 for v in versions if v[0] == "account")
    bills = [v for v in versions if v[0] == "billing"]
    assert fees == ([max(bills, key=lambda v: v[2])[3]["fee_fen"]] if bills else [])


def test_resent_old_extract_does_not_revert_a_correction(store) -> None:
    """The reported case: v1 from an extract, v2 a fix from a later one, v3 = the first extract re-sent."""
    first = {"name": "Wrong Name Ltd", "region": "Beijing", "industry": "GOV"}
    fixed = {"name": "Right Name Ltd", "region": "Beijing", "industry": "GOV"}
    t1, t2 = NOW - 60 * DAY, NOW - 30 * DAY
    _deliver(
        store,
        "RESEND",
        [("account", "RESEND-1", t1, first), ("account", "RESEND-1", t2, fixed), ("account", "RESEND-1", t1, first)],
        [1, 2],
    )
    assert _master(store, "RESEND")["fields"]["name"] == "Right Name Ltd"
    with store.db.session() as s:
        versions = s.execute(
            select(AccountFact.version, AccountFact.superseded_at.is_(None))
            .where(AccountFact.customer_id == "RESEND")
            .order_by(AccountFact.version)
        ).all()
    # All three versions are kept; only the fix is in force.
    assert [(v, bool(c)) for v, c in versions] == [(1, False), (2, True), (3, False)]
