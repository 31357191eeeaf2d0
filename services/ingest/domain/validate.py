"""Validation and normalisation of one record, field by field.

`validate_record` never raises for bad input: it returns every violation found, each with
the field's path ("billing.fee_fen", "contact.phone", "service_event.survey_answers[q1]"),
so a client can fix everything in one go. Good records come back normalised (phones in
E.164, e-mails lower case, industry codes, trimmed text), with each rewrite reported.

Every number has a business range (money within limits.MAX_MONEY_FEN, quantities finite and
within MAX_QUANTITY, counts within MAX_COUNT), every text a length, every list and map a
number of entries (domain/limits.py): one record with fee_fen = 2^63-1 would otherwise
overflow the revenue sums of the whole base downstream. No description echoes more than a
short prefix of a bad value (`bounds.preview`), and map keys are cut in field paths.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from services.ingest.domain import formats, limits
from services.ingest.domain.codes import INDUSTRY_CODES, normalise_industry
from services.ingest.domain.records import (
    KINDS,
    PAYMENT_OVERDUE,
    PAYMENT_WRITTEN_OFF,
    SURVEY,
    TERMINATED,
    Checked,
    Record,
)
from services.ingest.domain.violations import (
    CHECKSUM,
    INCONSISTENT,
    INVALID_FORMAT,
    INVALID_VALUE,
    NOT_FINITE,
    OUT_OF_RANGE,
    REQUIRED,
    TOO_LONG,
    TOO_MANY,
    UNKNOWN_ENUM,
    Normalisation,
    Violation,
)
from telco360_runtime.bounds import preview

EARLIEST_SECONDS = 631_152_000  # 1990-01-01T00:00:00Z: nothing in a key-account feed is older
FUTURE_TOLERANCE_SECONDS = 86_400  # clocks and time zones of source systems drift
MIN_MONTH = formats.month_index(1990, 1)
MAX_MONTH = formats.month_index(2100, 12)


def key_path(name: str, key: str) -> str:
    """`name[key]` for a map entry, the key cut so that a path never carries a huge key."""
    shown = key if len(key) <= limits.KEY_SHOWN else key[: limits.KEY_SHOWN] + "…"
    return f"{name}[{shown}]"


class _Fields:
    """Reads one payload dict, writes its normalised copy, collects what went wrong."""

    __slots__ = ("src", "out", "prefix", "violations", "normalisations")

    def __init__(self, src: dict[str, Any], prefix: str, checked: Checked) -> None:
        self.src = src
        self.out: dict[str, Any] = {}
        self.prefix = prefix
        self.violations = checked.violations
        self.normalisations = checked.normalisations

    def bad(self, name: str, description: str, reason: str) -> None:
        self.violations.append(Violation(self.prefix + name, description, reason))

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_len: int = 200,
        pattern: Any = None,
        pattern_hint: str = "",
    ) -> str | None:
        """A string field, trimmed; checked for presence, length and shape."""
        raw = self.src.get(name, "")
        value = raw.strip()
        if not value:
            if required:
                self.bad(name, "is required", REQUIRED)
            return None
        if len(value) > max_len:
            self.bad(name, f"must be at most {max_len} characters (got {len(value)})", TOO_LONG)
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.bad(name, f"must be {pattern_hint}", INVALID_FORMAT)
            return None
        if value != raw:
            self.normalisations.append(Normalisation(self.prefix + name, "leading/trailing whitespace removed"))
        self.out[name] = value
        return value

    def enum(self, name: str, *, required: bool = False) -> str | None:
        """An enum field given by name; unknown numbers and required-but-unset fail."""
        value = self.src.get(name)
        if value is None or (isinstance(value, str) and value.endswith("_UNSPECIFIED")):
            if required:
                self.bad(name, "is required", REQUIRED)
            return None
        if not isinstance(value, str):
            self.bad(name, f"unknown value {value}", UNKNOWN_ENUM)
            return None
        self.out[name] = value
        return value

    def count(self, name: str, values: Any, max_items: int) -> bool:
        """Bound the entries of a list or map; the entries are checked only when it fits."""
        if len(values) > max_items:
            self.bad(name, f"must have at most {max_items} entries (got {len(values)})", TOO_MANY)
            return False
        return True

    def enum_list(self, name: str, max_items: int = limits.PRODUCT_LINES_MAX) -> None:
        """A repeated enum field: a bounded number of elements, every one known and set."""
        values = self.src.get(name)
        if not values or not self.count(name, values, max_items):
            return
        good = True
        for i, value in enumerate(values):
            if not isinstance(value, str):
                self.bad(f"{name}[{i}]", f"unknown value {value}", UNKNOWN_ENUM)
                good = False
            elif value.endswith("_UNSPECIFIED"):
                self.bad(f"{name}[{i}]", "must not be unspecified", INVALID_VALUE)
                good = False
        if good:
            self.out[name] = list(values)

    def integer(self, name: str, lo: int, hi: int) -> int:
        """An integer field within [lo, hi] (every integer has both bounds)."""
        value = self.src.get(name, 0)
        if value < lo or value > hi:
            self.bad(name, f"must be between {lo:,} and {hi:,} (got {preview(value)})", OUT_OF_RANGE)
            return 0
        if value:
            self.out[name] = value
        return value

    def number(self, name: str, lo: float, hi: float) -> None:
        """A finite double within [lo, hi]."""
        value = self.src.get(name, 0.0)
        if not math.isfinite(value):
            self.bad(name, f"must be a finite number (got {value})", NOT_FINITE)
        elif value < lo or value > hi:
            self.bad(name, f"must be between {lo:g} and {hi:g} (got {value!r})", OUT_OF_RANGE)
        elif value:
            self.out[name] = value

    def boolean(self, name: str) -> None:
        if self.src.get(name):
            self.out[name] = True

    def month(self, name: str, *, required: bool = False, latest: int = MAX_MONTH) -> int | None:
        """A "YYYY-MM" month between 1990-01 and `latest`; its index, or None."""
        value = self.src.get(name, "")
        if not value:
            if required:
                self.bad(name, "is required", REQUIRED)
            return None
        index = formats.parse_month(value)
        if index is None:
            self.bad(name, f"must be a month YYYY-MM (got {preview(value)})", INVALID_FORMAT)
            return None
        if index < MIN_MONTH:
            self.bad(name, "must not be before 1990-01", OUT_OF_RANGE)
            return None
        if index > latest:
            self.bad(name, "must not be in the future", OUT_OF_RANGE)
            return None
        self.out[name] = value
        return index

    def ids(self, name: str, max_items: int) -> None:
        """A repeated identifier field with a bounded number of elements."""
        values = self.src.get(name)
        if not values or not self.count(name, values, max_items):
            return
        good = True
        for i, value in enumerate(values):
            if not formats.IDENTIFIER.fullmatch(value):
                self.bad(f"{name}[{i}]", "must be 1-64 letters, digits, '-' or '_'", INVALID_FORMAT)
                good = False
        if good:
            self.out[name] = list(values)


_ID_HINT = "1-64 letters, digits, '-' or '_'"
PHONE_MAX = 32  # E.164 has at most 15 digits; room for spaces, dashes and an extension
EMAIL_MAX = 254  # RFC 5321 path limit


def _account(f: _Fields, record: Record, now_month: int) -> None:
    f.text("name", required=True, max_len=200)
    code = f.text("credit_code", max_len=18 * 4)
    if code is not None:
        upper = code.upper()
        problem = formats.check_credit_code(upper)
        if problem == "format":
            del f.out["credit_code"]
            f.bad("credit_code", "must be 18 characters from 0-9 and A-Y without I, O, Z, S, V", INVALID_FORMAT)
        elif problem == "checksum":
            del f.out["credit_code"]
            f.bad("credit_code", "check character does not match (GB 32100-2015)", CHECKSUM)
        elif upper != code:
            f.out["credit_code"] = upper
            f.normalisations.append(Normalisation(f.prefix + "credit_code", "upper-cased"))
    parent = f.text("parent_customer_id", max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    if parent is not None and parent == record.get("customer_id"):
        f.bad("parent_customer_id", "must not equal customer_id", INCONSISTENT)
    industry = f.text("industry", max_len=100)
    if industry is not None:
        code_ = normalise_industry(industry)
        if code_ is None:
            del f.out["industry"]
            f.bad("industry", f"unknown industry {industry!r}; use one of " + ", ".join(INDUSTRY_CODES), INVALID_VALUE)
        elif code_ != industry:
            f.out["industry"] = code_
            f.normalisations.append(
                Normalisation(f.prefix + "industry", f"industry {industry!r} normalised to {code_}")
            )
    f.text("region", required=True, max_len=100)
    f.enum("tier")
    f.text("account_manager_id", max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    start = f.month("contract_start_month")
    end = f.month("contract_end_month")
    if start is not None and end is not None and end < start:
        f.bad("contract_end_month", "must not be before contract_start_month", INCONSISTENT)
    f.integer("employee_count", 0, 10_000_000)
    zone = f.text("time_zone", max_len=64)
    if zone is not None and not formats.is_time_zone(zone):
        del f.out["time_zone"]
        f.bad("time_zone", f"unknown IANA time zone {zone!r}", INVALID_VALUE)
    attributes = f.src.get("attributes")
    if attributes and f.count("attributes", attributes, limits.ATTRIBUTES_MAX):
        good: dict[str, Any] = {}
        for name in sorted(attributes):
            value = attributes[name]
            path = key_path("attributes", name)
            number = value.get("number_value", 0.0) if value else 0.0
            if not formats.ATTRIBUTE_NAME.fullmatch(name):
                f.bad(path, "attribute names must be lower_snake_case, 1-64 characters", INVALID_FORMAT)
            elif not value:
                f.bad(path, "attribute value must be a string, number or bool", REQUIRED)
            elif not math.isfinite(number):
                f.bad(path, f"number must be finite (got {number})", NOT_FINITE)
            elif abs(number) > limits.MAX_QUANTITY:
                f.bad(
                    path,
                    f"number must be between {-limits.MAX_QUANTITY:g} and {limits.MAX_QUANTITY:g} (got {number:g})",
                    OUT_OF_RANGE,
                )
            elif len(value.get("string_value", "")) > limits.ATTRIBUTE_TEXT_MAX:
                f.bad(
                    path,
                    f"text must be at most {limits.ATTRIBUTE_TEXT_MAX} characters (got {len(value['string_value'])})",
                    TOO_LONG,
                )
            else:
                good[name] = value
        if good:
            f.out["attributes"] = good


def _contact(f: _Fields, record: Record, now_month: int) -> None:
    f.text("person_id", required=True, max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    f.text("name", required=True, max_len=100)
    f.text("role", max_len=100)
    f.enum("level", required=True)
    phone = f.src.get("phone", "")
    email = f.src.get("email", "")
    if len(phone) > PHONE_MAX:
        f.bad("phone", f"must be at most {PHONE_MAX} characters (got {len(phone)})", TOO_LONG)
    elif phone.strip():
        e164 = formats.normalise_phone(phone)
        if e164 is None:
            f.bad("phone", "not a valid phone number (E.164, or a mainland number)", INVALID_FORMAT)
        else:
            f.out["phone"] = e164
            if e164 != phone:
                f.normalisations.append(Normalisation(f.prefix + "phone", "normalised to E.164"))
    if len(email) > EMAIL_MAX:
        f.bad("email", f"must be at most {EMAIL_MAX} characters (got {len(email)})", TOO_LONG)
    elif email.strip():
        normal = formats.normalise_email(email)
        if normal is None:
            f.bad("email", "not a valid e-mail address", INVALID_FORMAT)
        else:
            f.out["email"] = normal
            if normal != email:
                f.normalisations.append(Normalisation(f.prefix + "email", "lower-cased/trimmed"))
    hours = f.text("preferred_hours", max_len=100)
    if hours is not None and not formats.check_hours(hours):
        del f.out["preferred_hours"]
        f.bad("preferred_hours", "must be HH:MM-HH:MM ranges, comma-separated", INVALID_FORMAT)
    f.boolean("inactive")


def _billing(f: _Fields, record: Record, now_month: int) -> None:
    f.month("month", required=True, latest=now_month)
    f.enum("product_line", required=True)
    f.integer("fee_fen", 0, limits.MAX_MONEY_FEN)
    f.number("usage_quantity", 0.0, limits.MAX_QUANTITY)
    f.text("usage_unit", max_len=32)
    f.integer("lines", 0, limits.MAX_COUNT)
    status = f.enum("payment_status")
    days = f.integer("days_overdue", 0, 3650)
    if days > 0 and status not in (PAYMENT_OVERDUE, PAYMENT_WRITTEN_OFF):
        f.bad("days_overdue", "must be 0 unless payment_status is OVERDUE or WRITTEN_OFF", INCONSISTENT)


def _subscription(f: _Fields, record: Record, now_month: int) -> None:
    f.text("product_code", required=True, max_len=64)
    f.enum("product_line", required=True)
    f.enum("action", required=True)
    f.integer("quantity", 0, limits.MAX_COUNT)
    f.integer("monthly_fee_fen", 0, limits.MAX_MONEY_FEN)


def _service_event(f: _Fields, record: Record, now_month: int) -> None:
    kind = f.enum("type", required=True)
    f.enum("product_line")
    f.integer("severity", 0, 4)
    f.number("resolution_hours", 0.0, limits.MAX_RESOLUTION_HOURS)
    answers = f.src.get("survey_answers")
    if kind == SURVEY and not answers:
        f.bad("survey_answers", "a satisfaction survey needs at least one answer", REQUIRED)
    elif answers and kind is not None and kind != SURVEY:
        f.bad("survey_answers", "only satisfaction surveys carry answers", INCONSISTENT)
    elif answers and f.count("survey_answers", answers, limits.SURVEY_ANSWERS_MAX):
        good = True
        for question in sorted(answers):
            score = answers[question]
            if not formats.IDENTIFIER.fullmatch(question):
                f.bad(key_path("survey_answers", question), f"question ids must be {_ID_HINT}", INVALID_FORMAT)
                good = False
            elif not 1 <= score <= 5:
                f.bad(key_path("survey_answers", question), f"answers must be 1-5, got {score}", OUT_OF_RANGE)
                good = False
        if good:
            f.out["survey_answers"] = {q: answers[q] for q in sorted(answers)}
    f.text("summary", max_len=2000)


def _interaction(f: _Fields, record: Record, now_month: int) -> None:
    f.enum("channel", required=True)
    f.text("recorded_by", required=True, max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    f.text("person_id", max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    f.text("notes", max_len=limits.NOTES_MAX)
    f.integer("duration_minutes", 0, 7 * 24 * 60)


def _competitor(f: _Fields, record: Record, now_month: int) -> None:
    f.text("competitor", required=True, max_len=100)
    f.enum_list("product_lines")
    f.integer("satisfaction", 0, 5)
    f.month("contract_end_month")
    f.boolean("active_approach")


def _opportunity(f: _Fields, record: Record, now_month: int) -> None:
    f.text("opportunity_id", required=True, max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    f.text("need", required=True, max_len=2000)
    f.integer("budget_fen", 0, limits.MAX_MONEY_FEN)
    f.ids("decision_maker_ids", limits.DECISION_MAKERS_MAX)
    f.month("expected_close_month")
    f.enum("stage", required=True)
    f.enum_list("product_lines")


def _lifecycle(f: _Fields, record: Record, now_month: int) -> None:
    action = f.enum("action", required=True)
    reason = f.enum("reason")
    if action == TERMINATED and reason is None and not isinstance(f.src.get("reason"), int):
        f.bad("reason", "is required when the account terminated", REQUIRED)
    elif action is not None and action != TERMINATED and reason is not None:
        f.bad("reason", "only a termination has a reason", INCONSISTENT)
    f.text("detail", max_len=2000)


def _cost(f: _Fields, record: Record, now_month: int) -> None:
    # Same month rule as billing: a cost belongs to a billed month, never a future one.
    f.month("month", required=True, latest=now_month)
    f.enum("product_line", required=True)
    f.enum("cost_type", required=True)
    f.integer("amount_fen", 0, limits.MAX_MONEY_FEN)
    f.text("note", max_len=limits.COST_NOTE_MAX)
    f.text("reference", max_len=limits.COST_REFERENCE_MAX)


_PAYLOAD_CHECKS: dict[str, Callable[[_Fields, Record, int], None]] = {
    "account": _account,
    "contact": _contact,
    "billing": _billing,
    "subscription": _subscription,
    "service_event": _service_event,
    "interaction": _interaction,
    "competitor": _competitor,
    "opportunity": _opportunity,
    "lifecycle": _lifecycle,
    "cost": _cost,
}
assert set(_PAYLOAD_CHECKS) == set(KINDS)


def _occurred_at(raw: Record, out: Record, checked: Checked, now: float) -> None:
    stamp = raw.get("occurred_at")
    if stamp is None:
        checked.violations.append(Violation("occurred_at", "is required", REQUIRED))
        return
    seconds = stamp.get("seconds", 0)
    nanos = stamp.get("nanos", 0)
    if not 0 <= nanos < 1_000_000_000:
        checked.violations.append(Violation("occurred_at", "nanos must be within 0..999999999", INVALID_FORMAT))
    elif seconds < EARLIEST_SECONDS:
        checked.violations.append(Violation("occurred_at", "must not be before 1990-01-01", OUT_OF_RANGE))
    elif seconds > now + FUTURE_TOLERANCE_SECONDS:
        checked.violations.append(Violation("occurred_at", "must not be more than 1 day in the future", OUT_OF_RANGE))
    else:
        out["occurred_at"] = {"seconds": seconds, "nanos": nanos} if nanos else {"seconds": seconds}


_MONTH_CACHE: dict[int, int] = {}


def _month_of(now: float) -> int:
    """Month index of an epoch time; cached per second since a batch shares one clock."""
    second = int(now)
    month = _MONTH_CACHE.get(second)
    if month is None:
        tm = time.gmtime(second)
        month = formats.month_index(tm.tm_year, tm.tm_mon)
        if len(_MONTH_CACHE) > 64:
            _MONTH_CACHE.clear()
        _MONTH_CACHE[second] = month
    return month


def validate_record(raw: Record, now: float | None = None) -> Checked:
    """Validate and normalise one record; never raises for bad content.

    `now` (epoch seconds, UTC) bounds timestamps and months; it defaults to the clock and
    is a parameter so that tests and replays are deterministic.
    """
    if now is None:
        now = time.time()
    checked = Checked(raw=raw, record=None)
    out: Record = {}
    top = _Fields(raw, "", checked)
    top.out = out
    top.text(
        "source",
        required=True,
        max_len=64,
        pattern=formats.SOURCE,
        pattern_hint="1-64 lower-case letters, digits, '-' or '_'",
    )
    source_record_id = raw.get("source_record_id", "")
    if not source_record_id:
        top.bad("source_record_id", "is required", REQUIRED)
    elif len(source_record_id) > 128:
        top.bad("source_record_id", "must be at most 128 characters", TOO_LONG)
    elif not source_record_id.isprintable():
        top.bad("source_record_id", "must not contain control characters", INVALID_FORMAT)
    else:
        # The id is part of the identity: never rewritten, not even trimmed.
        out["source_record_id"] = source_record_id
    top.text("customer_id", required=True, max_len=64, pattern=formats.IDENTIFIER, pattern_hint=_ID_HINT)
    _occurred_at(raw, out, checked, now)

    kinds = [k for k in KINDS if k in raw]
    if not kinds:
        checked.violations.append(Violation("payload", "one of " + ", ".join(KINDS) + " is required", REQUIRED))
    elif len(kinds) > 1:
        checked.violations.append(Violation("payload", "exactly one payload kind is allowed", INCONSISTENT))
    else:
        kind = kinds[0]
        payload = _Fields(raw[kind] or {}, kind + ".", checked)
        _PAYLOAD_CHECKS[kind](payload, raw, _month_of(now))
        out[kind] = payload.out
    if not checked.violations:
        checked.record = out
    return checked
