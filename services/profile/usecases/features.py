"""Use cases: point-in-time features, the feature schema, export candidates and outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from services.profile.domain.features import FeatureResult
from services.profile.domain.schema import BUILTIN_FEATURES, FeatureSpec
from services.profile.store import tagops, views
from services.profile.store.loader import features_at, known_customers
from services.profile.store.scope import Scope, ids_in_scope
from services.profile.store.tagdefs import attribute_types, expression_types
from services.profile.usecases.base import ProfileBase, require_in_scope


class FeatureCases(ProfileBase):
    """GetFeatures, GetFeatureSchema, ExportFeatures and ExportOutcomes."""

    def features(
        self, customer_ids: list[str], as_of: dt.datetime | None, scope: Scope = None
    ) -> tuple[list[FeatureResult], set[str]]:
        """Point-in-time features of known accounts and the set of ids known at as_of.

        `scope` (account-team scoping, None: every account): PERMISSION_DENIED unless every
        named account is one of the scope's.
        """
        with self.read_session() as s:
            require_in_scope(s, customer_ids, scope)
            found = known_customers(s, customer_ids, as_of)
            ids = [c for c in dict.fromkeys(customer_ids) if c in found]
            base = self.revenue_base(s) if as_of is None else self._base_at(s, as_of)
            return features_at(s, ids, as_of, self.clock(), base, self.priority), found

    def schema(self) -> tuple[Sequence[FeatureSpec], dict[str, str]]:
        """The built-in features and the operator attributes (name -> type)."""
        with self.db.session() as s:
            return BUILTIN_FEATURES, attribute_types(s)

    def export_candidates(self, customer_ids: list[str], scope: Scope = None) -> list[str]:
        """The accounts an export covers: those named, or every live one (of the scope); sorted, distinct."""
        with self.db.session() as s:
            require_in_scope(s, customer_ids, scope)
            if customer_ids:
                ids = customer_ids
            else:
                ids = tagops.all_account_ids(s) if scope is None else ids_in_scope(s, scope)
        return sorted(set(ids))

    def expression_types(self) -> dict[str, str]:
        """name -> type of everything an expression may read."""
        with self.db.session() as s:
            return expression_types(s)

    def outcomes(self, from_month: str, to_month: str, customer_ids: list[str], scope: Scope = None) -> list[dict]:
        """Monthly totals and lifecycle of accounts between two months (training labels; of the scope)."""
        with self.db.session() as s:
            require_in_scope(s, customer_ids, scope)
            if scope is not None and not customer_ids:
                customer_ids = ids_in_scope(s, scope)
                if not customer_ids:
                    return []
            return views.outcomes(s, from_month, to_month, customer_ids)
