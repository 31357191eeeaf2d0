"""Tag evidence keeps two versions of the rule's inputs apart: at assignment, and now.

A tag assigned on one month's figures keeps holding while the figures move; Customer360
must not pass the old figures off as the account's present (the issue saw "-100 %" shown
while the account was at -37 %): `trigger_values` are labelled as the values at assignment
and `current_values` carry today's values of the same names.
"""

from __future__ import annotations

import datetime as dt

from services.profile.api import converters as cv
from services.profile.domain import events as ev
from services.profile.store import tagops, views
from services.profile.store.tagdefs import TagDefinitionView
from services.profile.tests.builders import NOW, Log
from telco360.profile.v1 import profile_pb2 as pb


def test_customer360_shows_current_values_beside_values_at_assignment(store, log: Log, clock) -> None:
    clock.now = NOW - dt.timedelta(days=31)
    store.apply([log.account("EV1"), *log.bills("EV1", {"2026-08": {"voice": 5000}, "2026-09": {"voice": 5000}})])
    with store.db.write_session() as s:
        tagops.create_definition(
            s,
            clock.now,
            TagDefinitionView(
                "spender",
                0,
                "Spender",
                "test",
                "",
                "fee_total_last_month >= 1000",
                True,
                False,
                False,
                clock.now,
                clock.now,
            ),
        )
    store.reevaluate({"spender"}, ev.CAUSE_DEFINITION_CHANGE)
    clock.now = NOW
    store.apply(log.bills("EV1", {"2026-10": {"voice": 3000}}))

    with store.db.session() as s:
        view = cv.customer360_to_pb(views.customer360(s, "EV1", False, 12, 20), pb.VIEW_LEVEL_ACCOUNT)
    tag = next(t for t in view.tags if t.tag_id == "spender")
    assert tag.trigger_values["fee_total_last_month"].number_value == 5000
    assert tag.current_values["fee_total_last_month"].number_value == 3000
    assert view.features["fee_total_last_month"].number_value == 3000
    assert tag.current_values_at.ToDatetime(dt.UTC) == NOW
