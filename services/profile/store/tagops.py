"""Tag definition changes, re-evaluation over all accounts, dry runs and history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.profile.domain import events as ev
from services.profile.domain.features import FeatureResult
from services.profile.domain.tags import TagRule, compile_rule, evaluate_rules, validate_tag_id
from services.profile.store.codec import chunks, loads, utc
from services.profile.store.models import Account, AccountTag, TagHistory
from services.profile.store.readmodel import ViewRenderer
from services.profile.store.refresh import refresh_accounts
from services.profile.store.scope import Scope, in_scope_clause
from services.profile.store.tagdefs import (
    TagDefinitionView,
    expression_types,
    get_definition,
    insert_version,
    load_rules,
)
from services.profile.store.writer import Tx
from telco360_expr.errors import ExpressionError
from telco360_runtime.errors import Aborted, AlreadyExists, FieldViolation, InvalidArgument, NotFound


def expression_violation(error: ExpressionError, field: str = "definition.expression") -> InvalidArgument:
    """An INVALID_ARGUMENT naming the position of an expression error."""
    return InvalidArgument([FieldViolation(field, str(error), error.reason)])


def validate_draft(s: Session, view: TagDefinitionView) -> TagRule:
    """Check a definition's fields and compile its rule; raises InvalidArgument."""
    problems = []
    if not validate_tag_id(view.tag_id):
        problems.append(
            FieldViolation("definition.tag_id", "must be lower_snake_case, 1-64 characters", "INVALID_FORMAT")
        )
    if not view.display_name.strip():
        problems.append(FieldViolation("definition.display_name", "is required", "REQUIRED"))
    if not view.category.strip():
        problems.append(FieldViolation("definition.category", "is required", "REQUIRED"))
    if not view.expression.strip():
        problems.append(FieldViolation("definition.expression", "is required", "REQUIRED"))
    if problems:
        raise InvalidArgument(problems)
    try:
        return compile_rule(
            view.tag_id,
            view.version,
            view.expression,
            expression_types(s),
            display_name=view.display_name,
            category=view.category,
            description=view.description,
            enabled=view.enabled,
            builtin=view.builtin,
        )
    except ExpressionError as error:
        raise expression_violation(error) from None


def create_definition(s: Session, now: dt.datetime, draft: TagDefinitionView) -> TagDefinitionView:
    """Store version 1 of a new definition."""
    Tx(s, now)
    current = get_definition(s, draft.tag_id)
    if current is not None and not current.deleted:
        raise AlreadyExists("tag definition", draft.tag_id)
    version = current.version + 1 if current else 1
    view = replace(draft, version=version, builtin=False, deleted=False, created_at=now, updated_at=now)
    validate_draft(s, view)
    insert_version(s, view)
    return view


def update_definition(
    s: Session, now: dt.datetime, draft: TagDefinitionView, expected_version: int
) -> TagDefinitionView:
    """Store a new version of an existing definition."""
    Tx(s, now)
    current = get_definition(s, draft.tag_id)
    if current is None or current.deleted:
        raise NotFound("tag definition", draft.tag_id)
    if expected_version and expected_version != current.version:
        raise Aborted(f"tag definition '{draft.tag_id}' is at version {current.version}, not {expected_version}")
    view = replace(
        draft,
        version=current.version + 1,
        builtin=current.builtin,
        deleted=False,
        created_at=current.created_at,
        updated_at=now,
    )
    validate_draft(s, view)
    insert_version(s, view)
    return view


def delete_definition(s: Session, now: dt.datetime, tag_id: str) -> TagDefinitionView:
    """Store a deleted marker version."""
    Tx(s, now)
    current = get_definition(s, tag_id)
    if current is None or current.deleted:
        raise NotFound("tag definition", tag_id)
    view = replace(current, version=current.version + 1, deleted=True, enabled=False, updated_at=now)
    insert_version(s, view)
    return view


def all_account_ids(s: Session) -> list[str]:
    """Every live account id, in order."""
    return list(
        s.execute(select(Account.customer_id).where(Account.erased.is_(False)).order_by(Account.customer_id)).scalars()
    )


def reevaluate(
    open_session: Callable,
    clock: Callable[[], dt.datetime],
    base_for,
    tag_ids: set[str] | None,
    cause: int,
    progress=None,
    chunk: int = 500,
    render: ViewRenderer | None = None,
) -> int:
    """Re-evaluate tags (all, or `tag_ids`) over every account in chunks; returns accounts done."""
    with open_session() as s:
        ids = all_account_ids(s)
    if progress is not None:
        progress.update(done=0, total=len(ids), message="re-evaluating", force=True)
    done = 0
    for part in chunks(ids, chunk):
        with open_session() as s:
            tx = Tx(s, clock(), render)
            types = expression_types(s)
            rules = load_rules(s, types)
            refresh_accounts(tx, part, rules, types, base_for(s), cause, only_tags=tag_ids)
            tx.flush()
        done += len(part)
        if progress is not None:
            progress.update(done=done, message="re-evaluating")
    return done


def current_feature_rows(s: Session) -> list[FeatureResult]:
    """Stored current features of every live account."""
    rows = s.execute(
        select(Account.customer_id, Account.features).where(Account.erased.is_(False)).order_by(Account.customer_id)
    ).all()
    return [FeatureResult(cid, loads(f)) for cid, f in rows]


def dry_run(s: Session, draft: TagDefinitionView, sample: int) -> dict:
    """Who would hold, gain and lose the draft tag, compared with current holders."""
    rule = validate_draft(s, replace(draft, enabled=True))
    results = current_feature_rows(s)
    evaluation = evaluate_rules([rule], results, expression_types(s))
    holders = set(s.execute(select(AccountTag.customer_id).where(AccountTag.tag_id == draft.tag_id)).scalars())
    would = [r.customer_id for r, held in zip(results, evaluation.held[rule.tag_id], strict=False) if held]
    would_set = set(would)
    gain = sorted(would_set - holders)
    lose = sorted(holders - would_set)
    return {
        "evaluated": len(results),
        "would_hold": len(would),
        "would_gain": len(gain),
        "would_lose": len(lose),
        "gain_sample": gain[:sample],
        "lose_sample": lose[:sample],
        "referenced_names": list(rule.names),
    }


def tag_history(
    s: Session,
    customer_id: str,
    tag_id: str,
    after: dt.datetime | None,
    before: dt.datetime | None,
    page_size: int,
    before_id: int | None,
    scope: Scope = None,
) -> tuple[list[dict], int | None]:
    """History entries newest first (of the scope's accounts only, when one is given); (entries, next cursor id)."""
    q = select(TagHistory)
    if scope is not None:
        q = q.where(in_scope_clause(TagHistory.customer_id, scope))
    if customer_id:
        q = q.where(TagHistory.customer_id == customer_id)
    if tag_id:
        q = q.where(TagHistory.tag_id == tag_id)
    if after:
        q = q.where(TagHistory.changed_at >= after)
    if before:
        q = q.where(TagHistory.changed_at < before)
    if before_id:
        q = q.where(TagHistory.id < before_id)
    rows = list(s.execute(q.order_by(TagHistory.id.desc()).limit(page_size + 1)).scalars())
    more = len(rows) > page_size
    rows = rows[:page_size]
    entries = [
        {
            "change_id": r.id,
            "customer_id": r.customer_id,
            "tag_id": r.tag_id,
            "assigned": r.assigned,
            "rule_version": r.rule_version,
            "changed_at": utc(r.changed_at),
            "cause": r.cause,
            "trigger_values": loads(r.trigger_values),
        }
        for r in rows
    ]
    return entries, (rows[-1].id if more and rows else None)


CAUSE_DEFINITION = ev.CAUSE_DEFINITION_CHANGE
