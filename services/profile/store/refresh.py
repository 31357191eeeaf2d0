"""Recomputing accounts: merged master data, current features, tags, expiry and events.

Called inside a serialised write transaction (`Tx`) whenever accounts change: after log
entries were applied, when a tag definition changed (job), when a time window expired,
when scores arrived, or when the base-wide revenue shares moved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.profile.domain import events as ev
from services.profile.domain.billing import RevenueBase
from services.profile.domain.features import FeatureResult, compute_features, set_score_features
from services.profile.domain.merge import changed_fields
from services.profile.domain.model import STATUS_TERMINATED, MergedAccount, Score
from services.profile.domain.tags import TagRule, decide, evaluate_rules, next_expiry
from services.profile.store.bulk import insert_rows
from services.profile.store.codec import chunks, dumps, loads, utc
from services.profile.store.loader import load_inputs
from services.profile.store.models import Account, AccountEventRow, AccountHistory, AccountTag, BillingFact, TagHistory
from services.profile.store.readmodel import rebuild_views
from services.profile.store.writer import Tx

SHARE = "revenue_cum_share_pct"


@dataclass
class RefreshStats:
    """What a refresh changed."""

    accounts: int = 0
    created: int = 0
    assigned: int = 0
    removed: int = 0


def master_json(merged: MergedAccount) -> dict:
    """The stored form of merged master data."""
    return {
        "fields": merged.fields,
        "attributes": merged.attributes,
        "field_sources": merged.field_sources,
        "status": merged.status,
        "terminated_at": merged.terminated_at.isoformat() if merged.terminated_at else None,
        "termination_reason": merged.termination_reason,
        "first_seen_at": merged.first_seen_at.isoformat() if merged.first_seen_at else None,
    }


def _merged_from_json(customer_id: str, data: dict) -> MergedAccount:
    return MergedAccount(
        customer_id,
        dict(data.get("fields") or {}),
        dict(data.get("field_sources") or {}),
        dict(data.get("attributes") or {}),
        int(data.get("status") or 1),
    )


def group_roots(s: Session, customer_ids: Iterable[str]) -> dict[str, str]:
    """The top of each account's group hierarchy (itself when top-level)."""
    parent: dict[str, str] = {}
    todo = set(customer_ids)
    for _ in range(16):
        todo -= set(parent)
        if not todo:
            break
        found: dict[str, Any] = dict(
            s.execute(
                select(Account.customer_id, Account.parent_customer_id).where(Account.customer_id.in_(list(todo)))
            )
            .tuples()
            .all()
        )
        for cid in todo:
            parent[cid] = found.get(cid, "")
        todo = {p for p in parent.values() if p and p not in parent}
    roots = {}
    for cid in customer_ids:
        node, seen = cid, {cid}
        while parent.get(node) and parent[node] not in seen:
            node = parent[node]
            seen.add(node)
        roots[cid] = node
    return roots


def holdings_of(s: Session, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """customer_id -> {tag_id: rule_version} held now."""
    out: dict[str, dict[str, int]] = {}
    for part in chunks(customer_ids):
        for cid, tag_id, version in s.execute(
            select(AccountTag.customer_id, AccountTag.tag_id, AccountTag.rule_version).where(
                AccountTag.customer_id.in_(part)
            )
        ):
            out.setdefault(cid, {})[tag_id] = version
    return out


def refresh_accounts(
    tx: Tx,
    customer_ids: Sequence[str],
    rules: Sequence[TagRule],
    types: dict[str, str],
    base: RevenueBase | None,
    cause: int,
    *,
    only_tags: set[str] | None = None,
    source_sequences: dict[str, int] | None = None,
    sources: dict[str, str] | None = None,
    priority: dict[str, int] | None = None,
    bill_months: Mapping[str, set[str] | None] | None = None,
    keep_shares: bool = False,
) -> RefreshStats:
    """Recompute and persist the given accounts as of tx.now; returns what changed.

    `bill_months` names, per account, the billing months to announce (BILL_ISSUED) when their
    current total differs from the one last announced (None for an account: every month).
    With `keep_shares` each account keeps its stored revenue share instead of one ranked
    against `base` (catch-up: the base is incomplete until the queue is drained).
    """
    s, now, stats = tx.s, tx.now, RefreshStats()
    ids = sorted(set(customer_ids))
    if not ids:
        return stats
    source_sequences = source_sequences or {}
    columns = (Account.customer_id, Account.master, Account.erased) + ((Account.features,) if keep_shares else ())
    existing = {
        r.customer_id: r
        for part in chunks(ids)
        for r in s.execute(select(*columns).where(Account.customer_id.in_(part))).all()
    }
    ids = [cid for cid in ids if not (cid in existing and existing[cid].erased)]
    loaded = load_inputs(s, ids, None, now, priority)
    results = compute_features(loaded.inputs, loaded.billing, now, loaded.ref_month, base, loaded.costs)
    if keep_shares:
        for result in results:
            old = loads(existing[result.customer_id].features).get(SHARE) if result.customer_id in existing else None
            if old is None:
                result.features.pop(SHARE, None)
            else:
                result.features[SHARE] = old
    events: list[ev.AccountEvent] = []
    inserts, updates, history = [], [], []
    for item, result in zip(loaded.inputs, results, strict=False):
        merged, cid = item.account, item.customer_id
        seq = source_sequences.get(cid, 0)
        previous = _merged_from_json(cid, loads(existing[cid].master)) if cid in existing else None
        changes = changed_fields(previous, merged)
        row = {
            "customer_id": cid,
            "name": str(merged.fields.get("name", ""))[:200],
            "parent_customer_id": str(merged.fields.get("parent_customer_id", "")),
            "account_manager_id": str(merged.fields.get("account_manager_id", ""))[:64],
            "tier": int(merged.fields.get("tier") or 0),
            "status": merged.status,
            "master": dumps(master_json(merged)),
            "features": dumps(result.features),
            "revenue_12m": result.features.get("fee_total_sum_12m"),
            "first_seen_at": merged.first_seen_at,
            "updated_at": now,
            "change_seq": tx.change_seq,
            "next_expiry_at": next_expiry(rules, result, now),
        }
        if previous is None:
            inserts.append({**row, "erased": False})
            stats.created += 1
            events.append(ev.AccountEvent(cid, ev.ACCOUNT_CREATED, now, source_sequence=seq))
        else:
            updates.append(row)
        for name, (old, new) in changes.items():
            if previous is not None or new is not None:
                history.append(
                    {
                        "customer_id": cid,
                        "field": name,
                        "old_value": dumps(old),
                        "new_value": dumps(new),
                        "source": merged.field_sources.get(name, (sources or {}).get(cid, "")),
                        "changed_at": now,
                        "sequence": seq,
                    }
                )
        if previous is not None:
            events.extend(_master_events(cid, previous, merged, changes, now, seq))
    if inserts:
        insert_rows(s, Account.__table__, inserts)
    if updates:
        s.execute(update(Account), updates)
    if history:
        insert_rows(s, AccountHistory.__table__, history)
    stats.accounts = len(ids)
    if bill_months:
        events.extend(bill_events(s, ids, bill_months))
    _apply_tags(tx, rules, types, results, cause, only_tags, source_sequences, stats, events)
    # The Customer360 read model changes in the same transaction as the account; only new
    # records change its record-derived part.
    rebuild_views(s, ids, now, tx.render, facts_changed=cause == ev.CAUSE_ACCOUNT_CHANGE)
    tx.publish(events, group_roots(s, {e.customer_id for e in events}) if events else {})
    return stats


def bill_events(
    s: Session, customer_ids: Sequence[str], bill_months: Mapping[str, set[str] | None]
) -> list[ev.AccountEvent]:
    """One BILL_ISSUED per (account, month) whose current total differs from the last one announced.

    Totals are summed here from the current versions of all the month's product lines (Python
    integers: no SQL aggregate to overflow), so a bill whose lines arrived in several batches,
    or were replayed after a crash, is still one event with the whole total; a correction that
    changes the total is announced again with the new total.
    """
    wanted = {c: bill_months[c] for c in customer_ids if c in bill_months and bill_months[c] != set()}
    out: list[ev.AccountEvent] = []
    for part in chunks(sorted(wanted)):
        q = select(
            BillingFact.customer_id,
            BillingFact.month,
            BillingFact.fee_fen,
            BillingFact.occurred_at,
            BillingFact.sequence,
        ).where(BillingFact.customer_id.in_(part), BillingFact.superseded_at.is_(None))
        if all(wanted[c] is not None for c in part):
            q = q.where(BillingFact.month.in_(sorted(set().union(*(wanted[c] or () for c in part)))))
        totals: dict[tuple[str, str], list] = {}
        for cid, month, fee, occurred, seq in s.execute(q):
            months = wanted[cid]
            if months is not None and month not in months:
                continue
            bill = totals.setdefault((cid, month), [0, utc(occurred), seq])
            bill[0] += int(fee)
            bill[1] = max(bill[1], utc(occurred))
            bill[2] = max(bill[2], seq)
        if not totals:
            continue
        announced: dict[tuple[str, str], int] = {}
        for cid, details in s.execute(
            select(AccountEventRow.customer_id, AccountEventRow.details)
            .where(AccountEventRow.customer_id.in_(part), AccountEventRow.type == ev.BILL_ISSUED)
            .order_by(AccountEventRow.sequence)
        ):
            data = loads(details)
            announced[(cid, str(data.get("month", "")))] = int(data.get("total_fee_fen") or 0)
        for (cid, month), (total, occurred, seq) in sorted(totals.items()):
            if announced.get((cid, month)) != total:
                out.append(
                    ev.AccountEvent(
                        cid,
                        ev.BILL_ISSUED,
                        occurred,
                        details={"month": month, "total_fee_fen": total},
                        source_sequence=seq,
                    )
                )
    return out


def refresh_scores(tx: Tx, scores: dict[str, Score], rules: Sequence[TagRule], types: dict[str, str]) -> RefreshStats:
    """React to new scores: patch the score features, re-evaluate tags, re-render the view state.

    Scores feed only the score features, so the full recompute (facts, billing, merge) that
    `refresh_accounts` does would rebuild the same values; skipping it is what lets scoring
    record thousands of accounts per call. Time-relative features stay as of the account's
    last refresh (their windows are re-evaluated by the expiry scheduler as always).
    """
    s = tx.s
    results: list[FeatureResult] = []
    for part in chunks(sorted(scores)):
        for cid, features in s.execute(
            select(Account.customer_id, Account.features).where(
                Account.customer_id.in_(part), Account.erased.is_(False)
            )
        ):
            result = FeatureResult(cid, loads(features))
            set_score_features(result, scores[cid])
            results.append(result)
    return _store_patched(tx, results, rules, types, ev.CAUSE_SCORE_CHANGE)


def refresh_revenue_shares(
    tx: Tx, base: RevenueBase, customer_ids: Sequence[str], rules: Sequence[TagRule], types: dict[str, str]
) -> RefreshStats:
    """Re-rank the accounts' revenue shares against `base`; patch and re-tag those that moved.

    The share (`revenue_cum_share_pct`, behind the value tiers) is the one feature that depends
    on other accounts. Accounts recomputed while the base was still filling (a bulk load, a
    catch-up) hold their share of that partial base until this runs; their facts have not
    changed, so only the share is patched, as `refresh_scores` patches scores.
    """
    results: list[FeatureResult] = []
    for part in chunks(sorted(customer_ids)):
        rows = tx.s.execute(
            select(Account.customer_id, Account.features, Account.revenue_12m).where(
                Account.customer_id.in_(part), Account.erased.is_(False)
            )
        ).all()
        revenues = np.array([math.nan if r[2] is None else float(r[2]) for r in rows], dtype=np.float64)
        for (cid, features, _), share in zip(rows, base.cum_share_pct(revenues).tolist(), strict=False):
            parsed = loads(features)
            new = share if share == share else None  # NaN: no revenue, no share (compute_features leaves it out)
            if parsed.get(SHARE) == new:
                continue
            if new is None:
                parsed.pop(SHARE, None)
            else:
                parsed[SHARE] = new
            results.append(FeatureResult(cid, parsed))
    return _store_patched(tx, results, rules, types, ev.CAUSE_BASE_REFRESH)


def _store_patched(
    tx: Tx, results: list[FeatureResult], rules: Sequence[TagRule], types: dict[str, str], cause: int
) -> RefreshStats:
    """Persist patched feature maps, re-evaluate their tags, re-render their view state, publish."""
    s, now, stats = tx.s, tx.now, RefreshStats()
    if not results:
        return stats
    s.execute(
        update(Account),
        [
            {
                "customer_id": r.customer_id,
                "features": dumps(r.features),
                "updated_at": now,
                "change_seq": tx.change_seq,
            }
            for r in results
        ],
    )
    events: list[ev.AccountEvent] = []
    _apply_tags(tx, rules, types, results, cause, None, {}, stats, events)
    rebuild_views(s, [r.customer_id for r in results], now, tx.render, facts_changed=False)
    tx.publish(events, group_roots(s, {e.customer_id for e in events}) if events else {})
    stats.accounts = len(results)
    return stats


def _master_events(cid: str, before: MergedAccount, after: MergedAccount, changes: dict, now, seq: int):
    if before.status != after.status:
        if after.status == STATUS_TERMINATED:
            yield ev.AccountEvent(
                cid,
                ev.ACCOUNT_TERMINATED,
                after.terminated_at or now,
                details={"reason": after.termination_reason},
                source_sequence=seq,
            )
        else:
            yield ev.AccountEvent(cid, ev.ACCOUNT_REACTIVATED, now, source_sequence=seq)
    fields = sorted(k for k in changes if k != "status")
    if fields:
        yield ev.AccountEvent(cid, ev.ACCOUNT_UPDATED, now, details={"fields": ",".join(fields)}, source_sequence=seq)


def _apply_tags(tx: Tx, rules, types, results, cause, only_tags, source_sequences, stats, events) -> None:
    s, now = tx.s, tx.now
    active_rules = [r for r in rules if only_tags is None or r.tag_id in only_tags]
    evaluation = evaluate_rules(active_rules, results, types)
    holdings = holdings_of(s, [r.customer_id for r in results])
    if only_tags is not None:
        holdings = {c: {t: v for t, v in h.items() if t in only_tags} for c, h in holdings.items()}
    known = {r.tag_id for r in active_rules}
    # Tags held under a definition that no longer exists are removed as well.
    orphan = [
        (cid, tag_id, version)
        for cid, held in holdings.items()
        for tag_id, version in held.items()
        if tag_id not in known and (only_tags is None or tag_id in only_tags)
    ]
    decisions = decide(active_rules, results, evaluation, holdings)
    add_rows, history, removals = [], [], []
    for d in decisions:
        history.append(
            {
                "customer_id": d.customer_id,
                "tag_id": d.tag_id,
                "assigned": d.assigned,
                "rule_version": d.rule_version,
                "changed_at": now,
                "cause": cause,
                "trigger_values": dumps(d.trigger_values),
            }
        )
        events.append(
            ev.AccountEvent(
                d.customer_id,
                ev.TAG_ASSIGNED if d.assigned else ev.TAG_REMOVED,
                now,
                tag_id=d.tag_id,
                rule_version=d.rule_version,
                details=d.trigger_values,
                source_sequence=source_sequences.get(d.customer_id, 0),
            )
        )
        if d.assigned:
            stats.assigned += 1
            add_rows.append(
                {
                    "customer_id": d.customer_id,
                    "tag_id": d.tag_id,
                    "rule_version": d.rule_version,
                    "assigned_at": now,
                    "trigger_values": dumps(d.trigger_values),
                }
            )
        else:
            stats.removed += 1
            removals.append((d.customer_id, d.tag_id))
    for cid, tag_id, version in orphan:
        stats.removed += 1
        s.execute(delete(AccountTag).where(AccountTag.customer_id == cid, AccountTag.tag_id == tag_id))
        history.append(
            {
                "customer_id": cid,
                "tag_id": tag_id,
                "assigned": False,
                "rule_version": version,
                "changed_at": now,
                "cause": ev.CAUSE_DEFINITION_CHANGE,
                "trigger_values": "{}",
            }
        )
        events.append(ev.AccountEvent(cid, ev.TAG_REMOVED, now, tag_id=tag_id, rule_version=version))
    for tag_id in {t for _, t in removals}:
        for part in chunks([c for c, t in removals if t == tag_id]):
            s.execute(delete(AccountTag).where(AccountTag.tag_id == tag_id, AccountTag.customer_id.in_(part)))
    if add_rows:
        insert_rows(s, AccountTag.__table__, add_rows)
    if history:
        insert_rows(s, TagHistory.__table__, history)
    # A rule version bump with the same outcome keeps the tag; record the version now deciding it.
    by_id = {r.tag_id: r for r in active_rules}
    decided = {(d.customer_id, d.tag_id) for d in decisions}
    for cid, held in holdings.items():
        for tag_id, version in held.items():
            rule = by_id.get(tag_id)
            if rule is not None and rule.version != version and (cid, tag_id) not in decided:
                s.execute(
                    update(AccountTag)
                    .where(AccountTag.customer_id == cid, AccountTag.tag_id == tag_id)
                    .values(rule_version=rule.version)
                )
