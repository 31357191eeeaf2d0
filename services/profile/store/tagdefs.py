"""Tag definitions: versioned rows, compiled rules and the attribute types they check against."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.profile.domain.builtin_tags import BUILTIN_TAGS
from services.profile.domain.schema import type_map
from services.profile.domain.tags import TagDefinitionView, TagRule, compile_rule
from services.profile.store.codec import utc
from services.profile.store.models import AttributeType, TagDefinitionRow
from telco360_expr.errors import ExpressionError
from telco360_runtime.logs import get_logger


def _view(row: TagDefinitionRow) -> TagDefinitionView:
    return TagDefinitionView(
        row.tag_id,
        row.version,
        row.display_name,
        row.category,
        row.description,
        row.expression,
        row.enabled,
        row.builtin,
        row.deleted,
        utc(row.created_at),
        utc(row.updated_at),
    )


def attribute_types(s: Session) -> dict[str, str]:
    """Operator attribute name -> expression type."""
    return dict(s.execute(select(AttributeType.name, AttributeType.type)).tuples().all())


def expression_types(s: Session) -> dict[str, str]:
    """name -> type of everything an expression may read."""
    return type_map(attribute_types(s))


def latest_definitions(s: Session, include_deleted: bool = False) -> list[TagDefinitionView]:
    """The latest version of every definition, in tag_id order."""
    latest = (
        select(TagDefinitionRow.tag_id, func.max(TagDefinitionRow.version).label("v"))
        .group_by(TagDefinitionRow.tag_id)
        .subquery()
    )
    rows = s.execute(
        select(TagDefinitionRow)
        .join(latest, (TagDefinitionRow.tag_id == latest.c.tag_id) & (TagDefinitionRow.version == latest.c.v))
        .order_by(TagDefinitionRow.tag_id)
    ).scalars()
    return [_view(r) for r in rows if include_deleted or not r.deleted]


def get_definition(s: Session, tag_id: str, version: int = 0) -> TagDefinitionView | None:
    """One version (0 = latest) of a definition, deleted ones included."""
    q = select(TagDefinitionRow).where(TagDefinitionRow.tag_id == tag_id)
    q = q.where(TagDefinitionRow.version == version) if version else q.order_by(TagDefinitionRow.version.desc())
    row = s.execute(q.limit(1)).scalar()
    return _view(row) if row else None


def compile_view(view: TagDefinitionView, types: dict[str, str]) -> TagRule:
    """Compile a stored definition (raises ExpressionError)."""
    return compile_rule(
        view.tag_id,
        view.version,
        view.expression,
        types,
        display_name=view.display_name,
        category=view.category,
        description=view.description,
        enabled=view.enabled and not view.deleted,
        builtin=view.builtin,
    )


def load_rules(s: Session, types: dict[str, str] | None = None) -> list[TagRule]:
    """Compiled rules of every live definition (a rule that no longer compiles is skipped)."""
    types = types if types is not None else expression_types(s)
    rules = []
    for view in latest_definitions(s):
        try:
            rules.append(compile_view(view, types))
        except ExpressionError as error:
            get_logger().warning("tag_rule_skipped", tag_id=view.tag_id, version=view.version, error=str(error))
    return rules


def definitions_signature(s: Session) -> tuple:
    """Changes whenever a definition or an attribute type is added or changed."""
    defs = s.execute(select(func.count(), func.max(TagDefinitionRow.updated_at))).one()
    attrs = s.execute(select(func.count()).select_from(AttributeType)).scalar()
    return (defs[0], str(defs[1]), attrs)


def insert_version(s: Session, view: TagDefinitionView) -> None:
    """Store a new version."""
    s.add(
        TagDefinitionRow(
            tag_id=view.tag_id,
            version=view.version,
            display_name=view.display_name,
            category=view.category,
            description=view.description,
            expression=view.expression,
            enabled=view.enabled,
            builtin=view.builtin,
            deleted=view.deleted,
            created_at=view.created_at,
            updated_at=view.updated_at,
        )
    )
    s.flush()


def install_builtin_pack(s: Session, now: dt.datetime) -> int:
    """Add the built-in definitions that were never stored; returns how many were added."""
    existing = set(s.execute(select(TagDefinitionRow.tag_id).distinct()).scalars())
    added = 0
    for tag in BUILTIN_TAGS:
        if tag.tag_id not in existing:
            insert_version(
                s,
                TagDefinitionView(
                    tag.tag_id,
                    1,
                    tag.display_name,
                    tag.category,
                    tag.description,
                    tag.expression,
                    True,
                    True,
                    False,
                    now,
                    now,
                ),
            )
            added += 1
    return added


class RuleCache:
    """Compiled rules and types, reloaded only when the definitions change."""

    def __init__(self) -> None:
        self._signature: tuple | None = None
        self.rules: list[TagRule] = []
        self.types: dict[str, str] = {}

    def get(self, s: Session) -> tuple[list[TagRule], dict[str, str]]:
        """(rules, types), fresh as of this session."""
        signature = definitions_signature(s)
        if signature != self._signature:
            self.types = expression_types(s)
            self.rules = load_rules(s, self.types)
            self._signature = signature
        return self.rules, self.types
