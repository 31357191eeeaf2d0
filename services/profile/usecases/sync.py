"""Use case: the account event feed (pages of events after a sequence)."""

from __future__ import annotations

from services.profile.store import views
from services.profile.store.models import AccountEventRow
from services.profile.usecases.base import ProfileBase


class EventFeedCases(ProfileBase):
    """WatchAccountEvents."""

    def read_events(self, after: int, limit: int, types: list[int], customer_id: str) -> list[AccountEventRow]:
        """Up to `limit` events after sequence `after`, optionally of some types or one account."""
        with self.db.session() as s:
            return views.read_events(s, after, limit, types, customer_id)
