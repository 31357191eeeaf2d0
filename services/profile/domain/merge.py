"""Merging account master data from several sources, with field-level precedence.

Every master-data field is taken from the record with the highest source priority that
sets it (a non-empty value); among equal priorities the latest `occurred_at` (then the
latest log sequence) wins. The merge is recomputed from the current version of every
account record, so a correction simply replaces its earlier version's contribution.
Lifecycle records decide the status: the latest termination or reactivation wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from services.profile.domain.model import (
    LIFECYCLE_TERMINATED,
    STATUS_ACTIVE,
    STATUS_TERMINATED,
    Fact,
    MergedAccount,
)

MASTER_FIELDS = (
    "name",
    "credit_code",
    "parent_customer_id",
    "industry",
    "region",
    "tier",
    "account_manager_id",
    "contract_start_month",
    "contract_end_month",
    "employee_count",
    "time_zone",
)

DEFAULT_SOURCE_PRIORITY: dict[str, int] = {"crm": 100, "billing": 80, "field": 60, "survey": 40}


def _is_set(value: object) -> bool:
    return value not in (None, "", 0)


def merge_account(customer_id: str, facts: Iterable[Fact], priority: Mapping[str, int] | None = None) -> MergedAccount:
    """Merge the visible account and lifecycle facts of one account.

    `facts` may contain any kinds; only "account" and "lifecycle" facts are used for the
    master data, but every fact counts towards `first_seen_at`.
    """
    priority = DEFAULT_SOURCE_PRIORITY if priority is None else priority
    merged = MergedAccount(customer_id)
    # (source priority, occurred_at, sequence, value[, source]): the first three rank a value.
    winners: dict[str, tuple[int, dt.datetime, int, object, str]] = {}
    attr_winners: dict[str, tuple[int, dt.datetime, int, object]] = {}
    lifecycle: list[Fact] = []
    for fact in facts:
        if merged.first_seen_at is None or fact.occurred_at < merged.first_seen_at:
            merged.first_seen_at = fact.occurred_at
        if fact.kind == "lifecycle":
            lifecycle.append(fact)
            continue
        if fact.kind != "account":
            continue
        rank = (priority.get(fact.source, 0), fact.occurred_at, fact.sequence)
        for name in MASTER_FIELDS:
            value = fact.payload.get(name)
            if _is_set(value) and (name not in winners or rank > winners[name][:3]):
                winners[name] = (*rank, value, fact.source)
        for name, value in (fact.payload.get("attributes") or {}).items():
            if value is not None and (name not in attr_winners or rank > attr_winners[name][:3]):
                attr_winners[name] = (*rank, value)
    for name, won in winners.items():
        merged.fields[name] = won[3]
        merged.field_sources[name] = won[4]
    merged.attributes = {name: won[3] for name, won in sorted(attr_winners.items())}
    if lifecycle:
        last = max(lifecycle, key=lambda f: (f.occurred_at, f.sequence))
        if last.payload.get("action") == LIFECYCLE_TERMINATED:
            merged.status = STATUS_TERMINATED
            merged.terminated_at = last.occurred_at
            merged.termination_reason = int(last.payload.get("reason") or 0)
        else:
            merged.status = STATUS_ACTIVE
    return merged


def changed_fields(before: MergedAccount | None, after: MergedAccount) -> dict[str, tuple[object, object]]:
    """Master-data fields (and attributes as attr.<name>) whose value differs: name -> (old, new)."""
    old_fields = before.fields if before else {}
    old_attrs = before.attributes if before else {}
    changes: dict[str, tuple[object, object]] = {}
    for name in MASTER_FIELDS:
        if old_fields.get(name) != after.fields.get(name):
            changes[name] = (old_fields.get(name), after.fields.get(name))
    for name in sorted(set(old_attrs) | set(after.attributes)):
        if old_attrs.get(name) != after.attributes.get(name):
            changes[f"attr.{name}"] = (old_attrs.get(name), after.attributes.get(name))
    old_status = before.status if before else None
    if old_status != after.status:
        changes["status"] = (old_status, after.status)
    return changes
