"""The Customer360 read model answers exactly what the live assembly answers, and follows changes."""

from __future__ import annotations

import datetime as dt

from services.profile.api import converters as cv
from services.profile.domain.model import Score
from services.profile.peers.ingest import log_entry_to_record
from services.profile.store import MIGRATIONS_DIR, readmodel, views
from services.profile.usecases.profile import ProfileUseCases
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_datagen import generate
from telco360_runtime.db import Database, migrate


def _store(url: str) -> ProfileUseCases:
    migrate(url, MIGRATIONS_DIR)
    store = ProfileUseCases(Database(url, workers=2), base_ttl_seconds=0, render_view=cv.render_view)
    store.install_builtin_tags()
    records = list(generate(40, 8, seed=11).records())
    entries = []
    for seq, record in enumerate(records, 1):
        entry = ingest_pb2.LogEntry(sequence=seq, record=record, version=1)
        entry.ingested_at.CopyFrom(record.occurred_at)
        entries.append(log_entry_to_record(entry))
    store.apply(entries[: len(entries) // 2], defer=True)
    store.apply(entries[len(entries) // 2 :], defer=False)
    while store.refresh_pending():
        pass
    return store


def _both(store: ProfileUseCases, hierarchy: readmodel.Hierarchy, cid: str) -> tuple[pb.Customer360, pb.Customer360]:
    with store.db.session() as s:
        live = views.customer360(s, cid, False, readmodel.TREND_MONTHS, readmodel.RECENT_LIMIT)
        stored = readmodel.read_view(s, hierarchy, cid)
    assert live is not None and stored is not None, cid
    return cv.customer360_to_pb(live, pb.VIEW_LEVEL_ACCOUNT), cv.stored_view_to_pb(*stored)


def test_stored_views_equal_live_views_and_follow_changes(db_url) -> None:
    store = _store(db_url)
    try:
        hierarchy = readmodel.Hierarchy()
        with store.db.session() as s:
            ids = sorted(s.execute(views.select(views.Account.customer_id)).scalars())
        grouped = 0
        for cid in ids:
            live, stored = _both(store, hierarchy, cid)
            assert stored == live, cid
            grouped += len(live.group.member_customer_ids) > 1
        assert grouped, "the generated base should hold group accounts"
        cid = ids[3]
        store.record_scores([Score(cid, 0.7, 3, 1000, 12, "churn:t", dt.datetime.now(dt.UTC))])
        live, stored = _both(store, hierarchy, cid)
        assert stored == live and stored.score.risk_band == 3
        store.erase(cid, "request", False)
        with store.db.session() as s:
            assert readmodel.read_view(s, hierarchy, cid) is None
            assert views.customer360(s, cid, False, 12, 20) is None
        for other in ids:
            if other != cid:
                live, stored = _both(store, hierarchy, other)
                assert stored == live, other
    finally:
        store.db.dispose()
