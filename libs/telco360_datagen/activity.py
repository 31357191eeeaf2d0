"""Monthly activity of an account: service events, interactions, competitor intel, opportunities.

Rates are Poisson per account and month, scaled by tier (bigger accounts have more lines,
more tickets and more attention) and by the account's own baselines, then moved by the
warning signals of model.Window: ``complaints`` multiplies complaints (x up to 4) and
fault tickets (x up to 3), ``low_satisfaction`` lowers survey answers by up to 1.4 points,
``fewer_visits`` cuts account-manager visits by up to 70 %, ``competitor`` brings
competitor intelligence with an active approach. Account managers also visit more in the
last months of a contract (renewal talks), which blurs the "fewer visits" signal.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import records, texts
from telco360_datagen.catalog import COMPETITORS, TIER_VISIT_RATE
from telco360_datagen.model import SIGNALS, AccountPlan
from telco360_datagen.months import calendar_month, month_end, working_time

# Enum values as module constants: attribute access on protobuf enum wrappers is slow.
COMPLAINT = ingest_pb2.SERVICE_EVENT_TYPE_COMPLAINT
FAULT_TICKET = ingest_pb2.SERVICE_EVENT_TYPE_FAULT_TICKET
SERVICE_CALL = ingest_pb2.SERVICE_EVENT_TYPE_SERVICE_CALL
SURVEY = ingest_pb2.SERVICE_EVENT_TYPE_SATISFACTION_SURVEY
VISIT = ingest_pb2.INTERACTION_CHANNEL_VISIT
PHONE_CALL = ingest_pb2.INTERACTION_CHANNEL_PHONE_CALL
MEETING = ingest_pb2.INTERACTION_CHANNEL_MEETING
EXHIBITION = ingest_pb2.INTERACTION_CHANNEL_EXHIBITION
QUESTIONNAIRE = ingest_pb2.INTERACTION_CHANNEL_QUESTIONNAIRE
WEBSITE = ingest_pb2.INTERACTION_CHANNEL_WEBSITE
CALL_CENTER = ingest_pb2.INTERACTION_CHANNEL_CALL_CENTER
LEAD = ingest_pb2.OPPORTUNITY_STAGE_LEAD
NEGOTIATION = ingest_pb2.OPPORTUNITY_STAGE_NEGOTIATION
WON = ingest_pb2.OPPORTUNITY_STAGE_WON
LOST = ingest_pb2.OPPORTUNITY_STAGE_LOST
DECIDERS = (ingest_pb2.CONTACT_LEVEL_DECISION_MAKER, ingest_pb2.CONTACT_LEVEL_INFLUENCER)
TIER_FACTOR = {1: 1.6, 2: 1.4, 3: 1.2, 4: 1.0, 5: 0.85, 6: 0.7}
_COMPETITOR_LINES = dict(COMPETITORS)
Out = list[tuple[int, ingest_pb2.Record]]


@dataclass(slots=True)
class Opp:
    """An open opportunity while it moves through the stages."""

    opp_id: str
    version: int
    need: str
    budget_fen: int
    decision_makers: list[str]
    close_month: int
    stage: int
    lines: list[int]


@dataclass(slots=True)
class AccountState:
    """Per-account counters and open opportunities during emission."""

    serial: int = 0
    opps: list[Opp] = field(default_factory=list)
    opp_count: int = 0

    def next(self) -> int:
        """Next serial number for the account's record ids."""
        self.serial += 1
        return self.serial


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; rates here are small)."""
    if lam <= 0.0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _pick(rng: random.Random, items: tuple | list):
    return items[rng.randrange(len(items))]


def active_people(plan: AccountPlan, t: int, levels: tuple[int, ...] | None = None) -> list[str]:
    """person_ids of contacts at the account in month t (optionally of some levels)."""
    return [
        c.person_id
        for c in plan.contacts
        if c.joined_t <= t and (c.left_t is None or c.left_t > t) and (levels is None or c.level in levels)
    ]


def service_events(
    rng: random.Random,
    plan: AccountPlan,
    st: AccountState,
    t: int,
    month: int,
    before: int | None,
    live: list[int],
    out: Out,
) -> None:
    """Complaints, fault tickets, service calls and satisfaction surveys."""
    cid, tf = plan.customer_id, TIER_FACTOR[plan.tier]
    s_c, s_l = plan.signal(t, "complaints"), plan.signal(t, "low_satisfaction")
    sev_w = (0.35, 0.4, 0.2 + 0.2 * s_c, 0.05 + 0.1 * s_c)
    for _ in range(poisson(rng, 0.05 * plan.service_base * tf * (1 + 3.0 * s_c))):
        ts, line = working_time(rng, month, before), _pick(rng, live)
        out.append(
            (
                ts,
                records.service_event(
                    "callcenter",
                    "CMP",
                    cid,
                    st.next(),
                    ts,
                    type_=COMPLAINT,
                    line=line,
                    severity=rng.choices((1, 2, 3, 4), weights=sev_w)[0],
                    hours=round(rng.lognormvariate(math.log(30), 0.8), 1),
                    summary=_pick(rng, texts.COMPLAINTS[line]),
                ),
            )
        )
    for _ in range(poisson(rng, 0.22 * plan.service_base * tf * (1 + 2.0 * s_c))):
        ts, line = working_time(rng, month, before), _pick(rng, live)
        out.append(
            (
                ts,
                records.service_event(
                    "oss",
                    "FT",
                    cid,
                    st.next(),
                    ts,
                    type_=FAULT_TICKET,
                    line=line,
                    severity=rng.choices((1, 2, 3, 4), weights=sev_w)[0],
                    hours=round(rng.lognormvariate(math.log(6 + 6 * s_c), 0.9), 1),
                    summary=_pick(rng, texts.FAULTS[line]),
                ),
            )
        )
        if rng.random() < 0.2:
            limit = month_end(month) if before is None else before
            _survey(rng, plan, st, min(ts + rng.randrange(3600, 86_400), limit - 1), s_c, s_l, out)
    for _ in range(poisson(rng, 0.35 * tf)):
        ts = working_time(rng, month, before)
        out.append(
            (
                ts,
                records.service_event(
                    "callcenter",
                    "SC",
                    cid,
                    st.next(),
                    ts,
                    type_=SERVICE_CALL,
                    line=_pick(rng, live),
                    hours=round(rng.uniform(0.1, 4.0), 1),
                    summary=_pick(rng, texts.SERVICE_CALLS),
                ),
            )
        )
    p_survey = 0.45 if calendar_month(month) in (3, 6, 9, 12) else 0.04
    if rng.random() < p_survey * (1.2 if plan.tier <= 2 else 1.0):
        _survey(rng, plan, st, working_time(rng, month, before), s_c, s_l, out)


def _survey(rng: random.Random, plan: AccountPlan, st: AccountState, ts: int, s_c: float, s_l: float, out: Out) -> None:
    mean = plan.survey_mean - 1.4 * s_l - 0.5 * s_c
    questions = [q for q in texts.SURVEY_QUESTIONS[:-1] if rng.random() < 0.7] + ["overall"]
    answers = {q: min(5, max(1, round(rng.gauss(mean + texts.SURVEY_BIAS[q], 0.7)))) for q in questions}
    out.append(
        (ts, records.service_event("survey", "SRV", plan.customer_id, st.next(), ts, type_=SURVEY, answers=answers))
    )


def interactions(
    rng: random.Random, plan: AccountPlan, st: AccountState, t: int, month: int, before: int | None, out: Out
) -> None:
    """Visits, calls, meetings, exhibitions, questionnaires, website and call-centre contacts."""
    cid, tf = plan.customer_id, TIER_FACTOR[plan.tier]
    s_v = plan.signal(t, "fewer_visits")
    s_any = max(plan.signal(t, name) for name in SIGNALS)
    people = active_people(plan, t) or [""]
    renewal = 1.0 + (0.6 if 0 <= plan.contract_at(t).end - month <= 2 else 0.0)
    visit_rate = TIER_VISIT_RATE[plan.tier] * plan.diligence * renewal * (1 - 0.7 * min(1.0, s_v))

    def add(source: str, channel: int, by: str, person: str, notes: str, minutes: int) -> None:
        ts = working_time(rng, month, before)
        out.append((ts, records.interaction(source, cid, st.next(), ts, channel, by, person, notes, minutes)))

    for _ in range(poisson(rng, visit_rate)):
        notes = (
            _pick(rng, texts.VISIT_WARNING_NOTES)
            if s_any > 0.5 and rng.random() < 0.4
            else _pick(rng, texts.VISIT_NOTES)
        )
        add("field", VISIT, plan.manager_id, _pick(rng, people), notes, rng.randint(30, 120))
    for _ in range(poisson(rng, 0.8 * plan.diligence * tf * (1 - 0.4 * min(1.0, s_v)))):
        add("field", PHONE_CALL, plan.manager_id, _pick(rng, people), _pick(rng, texts.CALL_NOTES), rng.randint(3, 25))
    for _ in range(poisson(rng, 0.12 * tf + (0.2 if st.opps else 0.0))):
        add(
            "field", MEETING, plan.manager_id, _pick(rng, people), _pick(rng, texts.MEETING_NOTES), rng.randint(60, 180)
        )
    if calendar_month(month) in (4, 6, 9, 11) and rng.random() < 0.07 * tf:
        add(
            "field", EXHIBITION, plan.manager_id, _pick(rng, people), _pick(rng, texts.EXHIBITIONS), rng.randint(15, 60)
        )
    if rng.random() < 0.04:
        add(
            "survey",
            QUESTIONNAIRE,
            "SYS-SURVEY",
            _pick(rng, people),
            _pick(rng, texts.QUESTIONNAIRES),
            rng.randint(5, 20),
        )
    for _ in range(poisson(rng, 0.1)):
        add("web", WEBSITE, "SYS-WEB", "", _pick(rng, texts.WEB_NOTES), 0)
    for _ in range(poisson(rng, 0.2 + 0.6 * plan.signal(t, "complaints"))):
        add(
            "callcenter",
            CALL_CENTER,
            f"CC{rng.randint(2001, 2240)}",
            _pick(rng, people),
            _pick(rng, texts.CALLCENTER_NOTES),
            rng.randint(2, 15),
        )


def competitor_intel(
    rng: random.Random, plan: AccountPlan, st: AccountState, t: int, month: int, before: int | None, out: Out
) -> None:
    """What the account manager learns about competitors at the account."""
    s = plan.signal(t, "competitor")
    if s > 0:
        p, p_active, name = min(0.8, 0.3 + 0.35 * s), 0.8, plan.competitor
    elif plan.has_competitor:
        p, p_active, name = 0.06, 0.1, plan.competitor
    else:
        p, p_active, name = 0.012, 0.2, _pick(rng, COMPETITORS)[0]
    if rng.random() >= p:
        return
    offered = _COMPETITOR_LINES[name]
    lines = sorted(rng.sample(offered, min(len(offered), rng.randint(1, 2))))
    satisfaction = rng.randint(3, 5) if s > 0 else rng.choice((0, 2, 3, 3, 4))
    end = month + rng.randint(-2, 18) if rng.random() < 0.7 else None
    ts = working_time(rng, month, before)
    out.append(
        (
            ts,
            records.competitor(
                plan.customer_id, st.next(), ts, name, lines, satisfaction, end, rng.random() < p_active
            ),
        )
    )


def opportunities(
    rng: random.Random, plan: AccountPlan, st: AccountState, t: int, month: int, before: int | None, out: Out
) -> None:
    """New opportunities and stage changes of open ones (lost more often under warning)."""
    s_max = max(plan.signal(t, name) for name in SIGNALS)
    still_open: list[Opp] = []
    for opp in st.opps:
        if rng.random() < 0.4:
            if opp.stage == NEGOTIATION:
                won = rng.random() < 0.55 * (1 - 0.7 * min(1.0, s_max))
                opp.stage = WON if won else LOST
            elif rng.random() < 0.12 + 0.3 * s_max:
                opp.stage = LOST
            else:
                opp.stage += 1
            emit_opportunity(plan, opp, working_time(rng, month, before), out)
        if opp.stage not in (WON, LOST):
            still_open.append(opp)
    st.opps = still_open
    if rng.random() < 0.05 * TIER_FACTOR[plan.tier] * (1 - 0.6 * min(1.0, s_max)):
        st.opp_count += 1
        line = _pick(rng, tuple(texts.NEEDS))
        deciders = active_people(plan, t, DECIDERS)
        budget = round(plan.revenue_yuan * rng.uniform(1.0, 12.0) * 100, -4)
        opp = Opp(
            opp_id=f"{plan.customer_id}-O{st.opp_count:03d}",
            version=0,
            need=_pick(rng, texts.NEEDS[line]),
            budget_fen=int(budget),
            decision_makers=rng.sample(deciders, min(len(deciders), rng.randint(1, 2))),
            close_month=month + rng.randint(2, 9),
            stage=LEAD,
            lines=[line],
        )
        st.opps.append(opp)
        emit_opportunity(plan, opp, working_time(rng, month, before), out)


def emit_opportunity(plan: AccountPlan, opp: Opp, ts: int, out: Out) -> None:
    """Append a record of the opportunity's current stage."""
    opp.version += 1
    out.append(
        (
            ts,
            records.opportunity(
                plan.customer_id,
                opp.opp_id,
                opp.version,
                ts,
                opp.need,
                opp.budget_fen,
                opp.decision_makers,
                opp.close_month,
                opp.stage,
                opp.lines,
            ),
        )
    )
