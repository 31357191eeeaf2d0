"""API layer: protobuf <-> domain conversion for the profile service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping
from typing import Any, cast

from google.protobuf import json_format

from services.profile.domain import model as m
from services.profile.domain.features import reference_month_of
from services.profile.domain.model import Score
from services.profile.domain.tags import TagDefinitionView
from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2 as pb
from telco360_runtime import masking
from telco360_runtime.auth import mask
from telco360_runtime.timeconv import from_timestamp, is_set, to_timestamp


def to_value(value: Any) -> common_pb2.AttributeValue:
    """An AttributeValue from a Python value."""
    if isinstance(value, bool):
        return common_pb2.AttributeValue(bool_value=value)
    if isinstance(value, (int, float)):
        return common_pb2.AttributeValue(number_value=float(value))
    return common_pb2.AttributeValue(string_value=str(value))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fen(value: Any) -> int:
    """A money sum for an int64 field: summed in Python (never overflows), clamped to int64.

    One absurd stored fee must not make every view of the account or its group fail.
    """
    return max(INT64_MIN, min(INT64_MAX, int(value or 0)))


def fill_values(target, values: Mapping[str, Any], only: set[str] | None = None) -> None:
    """Copy a name -> value dict into a protobuf map of AttributeValue (None left out)."""
    # Setting the map entry in place avoids building and copying a message per value (hot in views).
    for name, value in values.items():
        if value is None or (only is not None and name not in only):
            continue
        entry = target[name]
        if isinstance(value, bool):
            entry.bool_value = value
        elif isinstance(value, (int, float)):
            entry.number_value = float(value)
        else:
            entry.string_value = str(value)


def mask_personal_values(values: MutableMapping[str, common_pb2.AttributeValue], names: frozenset[str]) -> None:
    """Mask the personal entries of an AttributeValue map for roles that may not see personal
    attributes (telco360_runtime.masking, kind ATTRIBUTES).

    Text is masked like names (`auth.mask`); a number or flag under a personal name cannot be
    masked usefully and is left out.
    """
    if not names or masking.shows(masking.ATTRIBUTES):
        return
    for name in names & set(values.keys()):
        entry = values[name]
        if entry.WhichOneof("kind") == "string_value":
            entry.string_value = mask(entry.string_value)
        else:
            del values[name]


def mask_customer360_attributes(out: pb.Customer360, attributes: frozenset[str], features: frozenset[str]) -> None:
    """Personal operator attributes masked in every map of a Customer360 (see mask_personal_values)."""
    mask_personal_values(out.account.attributes, attributes)
    mask_personal_values(out.features, features)
    for tag in out.tags:
        mask_personal_values(tag.trigger_values, features)
        mask_personal_values(tag.current_values, features)


def ts(value: dt.datetime | str | None):
    """A Timestamp, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return to_timestamp(value)


def opt_time(msg_time) -> dt.datetime | None:
    """An aware datetime from an optional Timestamp field."""
    return from_timestamp(msg_time) if is_set(msg_time) else None


def personal(value: str, kind: str = masking.NOTES) -> str:
    """Personal data of one kind (telco360_runtime.masking), masked for roles that may not see it
    (without a kind: the strictest, shown only to roles that see every personal field)."""
    return masking.reveal(value, kind)


def definition_to_pb(
    view: TagDefinitionView, names: tuple[str, ...] = (), time_dependent: bool = False
) -> pb.TagDefinition:
    """A TagDefinition message."""
    return pb.TagDefinition(
        tag_id=view.tag_id,
        display_name=view.display_name,
        category=view.category,
        description=view.description,
        expression=view.expression,
        version=view.version,
        enabled=view.enabled,
        builtin=view.builtin,
        referenced_names=list(names),
        time_dependent=time_dependent,
        created_at=ts(view.created_at),
        updated_at=ts(view.updated_at),
    )


def definition_from_pb(msg: pb.TagDefinition, now: dt.datetime) -> TagDefinitionView:
    """A draft definition view from a message."""
    return TagDefinitionView(
        msg.tag_id.strip(),
        0,
        msg.display_name.strip(),
        msg.category.strip(),
        msg.description,
        msg.expression,
        msg.enabled,
        False,
        False,
        now,
        now,
    )


def score_from_pb(msg: pb.AccountScore, now: dt.datetime) -> Score:
    """A domain score."""
    return Score(
        msg.customer_id,
        msg.churn_probability,
        int(msg.risk_band),
        msg.predicted_value_fen,
        msg.value_horizon_months,
        msg.model_version,
        opt_time(msg.scored_at) or now,
        tuple((r.feature, r.description, r.contribution) for r in msg.reasons),
        analytics_from_pb(msg.analytics) if msg.HasField("analytics") else None,
    )


def analytics_from_pb(msg: common_pb2.ValueAnalytics) -> dict[str, Any]:
    """ValueAnalytics as a JSON-ready dict keyed by the proto's field names (absent parts omitted)."""
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


def analytics_to_pb(analytics: Mapping[str, Any]) -> common_pb2.ValueAnalytics:
    """The ValueAnalytics message of a stored dict (fields a later version added are ignored)."""
    return json_format.ParseDict(dict(analytics), common_pb2.ValueAnalytics(), ignore_unknown_fields=True)


def score_to_pb(score: Score) -> pb.AccountScore:
    """An AccountScore message."""
    return pb.AccountScore(
        customer_id=score.customer_id,
        churn_probability=score.churn_probability,
        risk_band=cast(common_pb2.RiskBand, score.risk_band),
        predicted_value_fen=score.predicted_value_fen,
        value_horizon_months=score.value_horizon_months,
        model_version=score.model_version,
        scored_at=ts(score.scored_at),
        reasons=[pb.ScoreReason(feature=f, description=d, contribution=c) for f, d, c in score.reasons],
        analytics=None if score.analytics is None else analytics_to_pb(score.analytics),
    )


def account_to_pb(data: dict, personal=personal) -> pb.Account:
    """The Account message of a Customer360 read (`personal` masks personal data for the caller)."""
    acct, master = data["account"], data["master"]
    fields = master.get("fields", {})
    msg = pb.Account(
        customer_id=acct.customer_id,
        name=personal(str(fields.get("name", "")), masking.ACCOUNT_NAME),
        credit_code=str(fields.get("credit_code", "")),
        parent_customer_id=str(fields.get("parent_customer_id", "")),
        group_root_customer_id=data["root"],
        child_customer_ids=data["children"],
        industry=str(fields.get("industry", "")),
        region=str(fields.get("region", "")),
        tier=cast(common_pb2.AccountTier, int(fields.get("tier") or 0)),
        account_manager_id=str(fields.get("account_manager_id", "")),
        contract_start_month=str(fields.get("contract_start_month", "")),
        contract_end_month=str(fields.get("contract_end_month", "")),
        employee_count=int(fields.get("employee_count") or 0),
        time_zone=str(fields.get("time_zone", "")),
        status=cast(pb.AccountStatus, int(master.get("status") or m.STATUS_ACTIVE)),
        termination_reason=cast(ingest_pb2.TerminationReason, int(master.get("termination_reason") or 0)),
        field_sources=master.get("field_sources", {}),
    )
    fill_values(msg.attributes, master.get("attributes", {}))
    if master.get("terminated_at") and msg.status == m.STATUS_TERMINATED:
        msg.terminated_at.CopyFrom(ts(master["terminated_at"]))
    if master.get("first_seen_at"):
        msg.first_seen_at.CopyFrom(ts(master["first_seen_at"]))
    msg.updated_at.CopyFrom(ts(acct.updated_at.replace(tzinfo=acct.updated_at.tzinfo or dt.UTC)))
    return msg


def customer360_to_pb(data: dict, level: pb.ViewLevel, personal=personal) -> pb.Customer360:
    """The local part of a Customer360 message (`personal` masks personal data for the caller)."""
    total, lines = data["group_fee_last_month"]
    out = pb.Customer360(
        level=level,
        group=pb.GroupSummary(
            root_customer_id=data["root"],
            member_customer_ids=data["members_all"],
            total_fee_last_month_fen=fen(total),
            product_lines=lines,
        ),
    )
    _state_to_pb(data, out, personal)
    _facts_to_pb(data, out, personal)
    return out


def _facts_to_pb(data: dict, out: pb.Customer360, personal) -> None:
    """Contacts, products, spend trend, recent events and interactions, opportunities, competitors."""
    for c in data["contacts"]:
        out.contacts.add(
            person_id=c.get("person_id", ""),
            name=personal(c.get("name", ""), masking.CONTACT_NAME),
            role=c.get("role", ""),
            level=int(c.get("level") or 0),
            phone=personal(c.get("phone", ""), masking.PHONE),
            email=personal(c.get("email", ""), masking.EMAIL),
            preferred_hours=c.get("preferred_hours", ""),
            inactive=bool(c.get("inactive")),
            customer_id=c["customer_id"],
        )
    for p in data["products"]:
        out.products.add(
            product_code=p.get("product_code", ""),
            product_line=int(p.get("product_line") or 0),
            quantity=int(p.get("quantity") or 0),
            monthly_fee_fen=int(p.get("monthly_fee_fen") or 0),
            since=ts(p["since"]),
            customer_id=p["customer_id"],
        )
    for month in data["spend"]:
        spend = out.spend_trend.add(
            month=month["month"],
            total_fee_fen=fen(month["total"]),
            max_days_overdue=month["overdue"],
            # Views stored before cost facts existed have none: read as not costed.
            cost_fen=fen(month.get("cost", 0)),
            margin_fen=fen(month.get("margin", 0)),
            costed=bool(month.get("costed", False)),
        )
        for line in sorted(month["lines"]):
            spend.lines.add(**month["lines"][line])
    for e in data["service_events"]:
        answers = [int(v) for v in (e.get("survey_answers") or {}).values()]
        out.recent_service_events.add(
            occurred_at=ts(e["occurred_at"]),
            type=int(e.get("type") or 0),
            product_line=int(e.get("product_line") or 0),
            severity=int(e.get("severity") or 0),
            resolution_hours=float(e.get("resolution_hours") or 0.0),
            summary=personal(e.get("summary", ""), masking.NOTES),
            survey_mean=sum(answers) / len(answers) if answers else 0.0,
            customer_id=e["customer_id"],
        )
    for i in data["interactions"]:
        out.recent_interactions.add(
            occurred_at=ts(i["occurred_at"]),
            channel=int(i.get("channel") or 0),
            recorded_by=i.get("recorded_by", ""),
            person_id=i.get("person_id", ""),
            notes=personal(i.get("notes", ""), masking.NOTES),
            duration_minutes=int(i.get("duration_minutes") or 0),
            customer_id=i["customer_id"],
        )
    for o in data["opportunities"]:
        out.open_opportunities.add(
            opportunity_id=o.get("opportunity_id", ""),
            need=o.get("need", ""),
            budget_fen=int(o.get("budget_fen") or 0),
            decision_maker_ids=o.get("decision_maker_ids", []),
            expected_close_month=o.get("expected_close_month", ""),
            stage=int(o.get("stage") or 0),
            product_lines=o.get("product_lines", []),
            updated_at=ts(o["updated_at"]),
            customer_id=o["customer_id"],
        )
    for c in data["competitors"]:
        out.competitors.add(
            competitor=c.get("competitor", ""),
            product_lines=c.get("product_lines", []),
            satisfaction=int(c.get("satisfaction") or 0),
            contract_end_month=c.get("contract_end_month", ""),
            active_approach=bool(c.get("active_approach")),
            observed_at=ts(c["observed_at"]),
            customer_id=c["customer_id"],
        )


def _state_to_pb(data: dict, out: pb.Customer360, personal) -> None:
    """Account, tags, features and score."""
    out.account.CopyFrom(account_to_pb(data, personal))
    for t in data["tags"]:
        tag = out.tags.add(
            tag_id=t["tag_id"],
            display_name=t["display_name"],
            category=t["category"],
            rule_version=t["rule_version"],
            assigned_at=ts(t["assigned_at"]),
            expression=t["expression"],
            customer_id=t["customer_id"],
        )
        fill_values(tag.trigger_values, t["trigger_values"])
        fill_values(tag.current_values, t.get("current_values") or {})
        if t.get("current_values_at"):
            tag.current_values_at.CopyFrom(ts(t["current_values_at"]))
    fill_values(out.features, data["features"])
    updated_at = data["account"].updated_at
    out.fee_reference_month = reference_month_of(
        data["features"], updated_at.replace(tzinfo=updated_at.tzinfo or dt.UTC)
    )
    if data["score"] is not None:
        out.score.CopyFrom(score_to_pb(data["score"]))


def _unmasked(value: str, kind: str) -> str:
    return value


class ViewRenderer:
    """Renders the two stored parts of an account-level view (read model): unmasked, group fields empty."""

    def facts(self, data: dict) -> bytes:
        """The record-derived part."""
        out = pb.Customer360()
        _facts_to_pb(data, out, _unmasked)
        return out.SerializeToString()

    def state(self, data: dict) -> bytes:
        """The recomputed part (account, tags, features, score) and the view level."""
        out = pb.Customer360(level=pb.VIEW_LEVEL_ACCOUNT)
        _state_to_pb(data, out, _unmasked)
        return out.SerializeToString()


render_view = ViewRenderer()


def stored_view_to_pb(body: bytes, group: dict) -> pb.Customer360:
    """A Customer360 from a stored view plus the group fields read now, masked for the caller."""
    out = pb.Customer360.FromString(body)
    out.account.group_root_customer_id = group["root"]
    out.account.child_customer_ids.extend(group["children"])
    out.group.root_customer_id = group["root"]
    out.group.member_customer_ids.extend(group["members"])
    out.group.total_fee_last_month_fen = fen(group["fee"])
    out.group.product_lines.extend(group["lines"])
    if not masking.shows_everything():
        _mask_view(out)
    return out


def _mask_view(out: pb.Customer360) -> None:
    """Mask the same fields customer360_to_pb passes through `personal`, each by its kind."""
    out.account.name = personal(out.account.name, masking.ACCOUNT_NAME)
    for c in out.contacts:
        c.name = personal(c.name, masking.CONTACT_NAME)
        c.phone, c.email = personal(c.phone, masking.PHONE), personal(c.email, masking.EMAIL)
    for e in out.recent_service_events:
        e.summary = personal(e.summary, masking.NOTES)
    for i in out.recent_interactions:
        i.notes = personal(i.notes, masking.NOTES)


def event_to_pb(row) -> pb.AccountEvent:
    """An AccountEvent message from a stored event row."""
    import json

    def utc(value: dt.datetime) -> dt.datetime:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    msg = pb.AccountEvent(
        sequence=row.sequence,
        customer_id=row.customer_id,
        type=row.type,
        occurred_at=ts(utc(row.occurred_at)),
        published_at=ts(utc(row.published_at)),
        tag_id=row.tag_id,
        rule_version=row.rule_version,
        previous_risk_band=row.previous_risk_band,
        risk_band=row.risk_band,
        source_sequence=row.source_sequence,
        group_root_customer_id=row.group_root,
    )
    fill_values(msg.details, json.loads(row.details or "{}"))
    return msg
