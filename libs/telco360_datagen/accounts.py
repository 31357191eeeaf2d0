"""Planning the accounts themselves: identity, group hierarchy, revenue, tier, contracts.

About a quarter of the accounts belong to group customers: a headquarters account with
branches in other cities and subsidiaries carrying the group's brand, linked through
``parent_customer_id``. Revenue is log-normal, scaled by industry and by the account's
place in its group; tiers follow from each account's cumulative share of revenue
(catalog.TIER_CUTS). A few percent of accounts are acquired during the generated period.
"""

from __future__ import annotations

import math
import random
from typing import TypeVar

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen import credit_code, names
from telco360_datagen.catalog import INDUSTRIES, REGIONS, TIER_ACCOUNTS_PER_MANAGER, TIER_CUTS, IndustrySpec, Region
from telco360_datagen.model import AccountPlan, ContactPlan, Contract

LEVEL = ingest_pb2.ContactLevel
T = TypeVar("T")
_GROUP_SHARE = 0.25
_ACQUIRED_SHARE = 0.06
_ROLES: dict[int, tuple[str, ...]] = {
    LEVEL.CONTACT_LEVEL_DECISION_MAKER: (
        "General manager",
        "CIO",
        "Deputy general manager",
        "Chief financial officer",
        "Director",
    ),
    LEVEL.CONTACT_LEVEL_INFLUENCER: (
        "Procurement manager",
        "Office director",
        "Finance manager",
        "Operations director",
    ),
    LEVEL.CONTACT_LEVEL_USER: ("Administrative assistant", "Department head", "Sales manager", "Branch office manager"),
    LEVEL.CONTACT_LEVEL_TECHNICAL: (
        "IT director",
        "Network engineer",
        "IT operations lead",
        "Information centre engineer",
    ),
}
_HOURS = ("09:00-12:00", "14:00-17:30", "09:30-11:30", "10:00-16:00", "13:30-17:00", "08:30-18:00")


def customer_id(idx: int) -> str:
    """The customer id of the idx-th account (KA100001, KA100002, ...)."""
    return f"KA{idx + 100001}"


def _weighted(rng: random.Random, items: tuple[T, ...], weights: list[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def plan_identities(rng: random.Random, count: int) -> list[AccountPlan]:
    """Create ``count`` accounts with names, codes and the group hierarchy."""
    ind_w = [i.weight for i in INDUSTRIES]
    reg_w = [r.weight for r in REGIONS]
    group_industries = tuple(i for i in INDUSTRIES if i.groups)
    group_w = [i.weight for i in group_industries]
    used_names: set[str] = set()
    plans: list[AccountPlan] = []

    def add(
        name_cn: str, name_en: str, brand_en: str, industry: IndustrySpec, region: Region, parent: str, root: str
    ) -> AccountPlan:
        idx = len(plans)
        cid = customer_id(idx)
        prefix = (
            industry.credit_prefixes[0]
            if rng.random() < 0.85
            else industry.credit_prefixes[rng.randrange(len(industry.credit_prefixes))]
        )
        plan = AccountPlan(
            idx=idx,
            customer_id=cid,
            name=name_cn,
            name_en=name_en,
            brand_en=brand_en,
            industry=industry,
            region=region,
            credit_code=credit_code.make_code(rng, prefix, region.division_code),
            parent_id=parent,
            group_root=root or cid,
        )
        used_names.add(name_cn)
        plans.append(plan)
        return plan

    group_budget = int(count * _GROUP_SHARE)
    while group_budget >= 3 and len(plans) < count:
        industry = _weighted(rng, group_industries, group_w)
        brand = names.BRANDS[rng.randrange(len(names.BRANDS))]
        home = _weighted(rng, REGIONS, reg_w)
        hq_cn, hq_en = names.group_names(brand, industry)
        if hq_cn in used_names:
            # Brands repeat across cities: a second group of a brand carries its home city.
            hq_cn, hq_en = names.group_names((home.city_cn + brand[0], f"{home.city_en} {brand[1]}"), industry)
            if hq_cn in used_names:
                hq_cn, hq_en = f"{hq_cn}（{len(plans)}）", f"{hq_en} ({len(plans)})"
        size = min(rng.randint(2, 9), group_budget - 1, count - len(plans) - 1)
        hq = add(hq_cn, hq_en, brand[1], industry, home, "", "")
        for _ in range(size):
            region = _weighted(rng, REGIONS, reg_w)
            if rng.random() < 0.6:
                cn, en = names.branch_names(hq_cn, hq_en, region, industry)
            else:
                cn, en, _b = names.organisation_name(rng, industry, region, brand)
            if cn in used_names:
                continue
            add(cn, en, brand[1], industry, region, hq.customer_id, hq.customer_id)
        group_budget -= size + 1

    while len(plans) < count:
        industry = _weighted(rng, INDUSTRIES, ind_w)
        region = _weighted(rng, REGIONS, reg_w)
        for _ in range(20):
            cn, en, brand_en = names.organisation_name(rng, industry, region)
            if cn not in used_names:
                break
        else:
            serial = len(plans)
            cn, en = f"{cn}（{serial}）", f"{en} ({serial})"
        add(cn, en, brand_en, industry, region, "", "")
    return plans


def plan_business(rng: random.Random, plans: list[AccountPlan], months: int, first_abs: int) -> None:
    """Revenue, tier, managers, contracts, employees, time zone and attributes."""
    parents = {p.parent_id for p in plans if p.parent_id}
    for plan in plans:
        scale = plan.industry.scale
        if plan.parent_id:
            scale *= 0.6
        elif plan.customer_id in parents:
            scale *= 2.2
        plan.revenue_yuan = min(6_000_000.0, max(3_000.0, scale * rng.lognormvariate(math.log(28_000), 1.1)))
        plan.first_t = rng.randint(1, max(1, months - 4)) if rng.random() < _ACQUIRED_SHARE and months > 6 else 0

    # Tiers by cumulative revenue share, highest revenue first.
    total = sum(p.revenue_yuan for p in plans)
    running = 0.0
    for plan in sorted(plans, key=lambda p: (-p.revenue_yuan, p.idx)):
        share_before = running / total
        running += plan.revenue_yuan
        plan.tier = next(tier for cut, tier in TIER_CUTS if share_before < cut)

    # Managers: tier-specific pools so top accounts get nearly dedicated managers.
    next_manager = 1001
    by_tier: dict[int, list[AccountPlan]] = {}
    for plan in plans:
        by_tier.setdefault(plan.tier, []).append(plan)
    for tier in sorted(by_tier):
        pool = by_tier[tier]
        n_managers = max(1, math.ceil(len(pool) / TIER_ACCOUNTS_PER_MANAGER[tier]))
        ids = [f"AM{next_manager + k}" for k in range(n_managers)]
        next_manager += n_managers
        for plan in pool:
            plan.manager_id = ids[rng.randrange(n_managers)]

    for plan in plans:
        _plan_contracts(rng, plan, months, first_abs)
        plan.employees = int(min(200_000, max(20, plan.revenue_yuan / rng.uniform(60, 250))))
        if rng.random() < 0.05:
            plan.employees = 0  # unknown
        plan.time_zone = plan.region.time_zone if rng.random() < 0.93 else ""
        plan.email_domain = names.email_domain(plan.name_en, plan.brand_en, plan.industry.code, plan.region)
        plan.attributes = _attributes(rng, plan)
        plan.service_base = rng.gammavariate(4.0, 0.25)
        plan.survey_mean = min(4.8, max(2.8, rng.gauss(4.1, 0.35)))
        plan.diligence = rng.gammavariate(5.0, 0.2)
        plan.late_payer = 0.25 if rng.random() < 0.06 else (0.06 if plan.industry.code == "GOV" else 0.02)


def _plan_contracts(rng: random.Random, plan: AccountPlan, months: int, first_abs: int) -> None:
    """The contract current at the start and its renewals through the period.

    Renewals are planned here as if the account never churns; churn planning later drops
    the renewals after the termination.
    """
    length = rng.choices((12, 24, 36), weights=(0.3, 0.45, 0.25))[0]
    if plan.first_t > 0:
        start = first_abs + plan.first_t
    else:
        start = first_abs - rng.randrange(length)
    contract = Contract(start=start, end=start + length - 1, from_t=plan.first_t)
    plan.contracts = [contract]
    while contract.end < first_abs + months - 1:
        length = rng.choices((12, 24, 36), weights=(0.35, 0.45, 0.2))[0]
        renewal_t = contract.end - first_abs  # the renewal is signed in the contract's last month
        contract = Contract(start=contract.end + 1, end=contract.end + length, from_t=renewal_t)
        plan.contracts.append(contract)


def _attributes(rng: random.Random, plan: AccountPlan) -> dict[str, object]:
    """Operator-defined attributes of each type (string, number, bool)."""
    rating = rng.choices(("AAA", "AA", "A", "BBB", "BB"), weights=(0.2, 0.35, 0.3, 0.1, 0.05))[0]
    attrs: dict[str, object] = {
        "name_en": plan.name_en,
        "credit_rating": rating,
        "sales_channel": "direct" if plan.tier <= 3 or rng.random() < 0.6 else "partner",
        "sites": float(max(1, int(rng.lognormvariate(math.log(2 + plan.revenue_yuan / 40_000), 0.5)))),
        "annual_it_budget_wan": round(plan.revenue_yuan * 12 * rng.uniform(1.5, 4.0) / 10_000, 1),
        "state_owned": plan.industry.code in ("GOV", "EDU", "HEALTH", "ENERGY") or rng.random() < 0.15,
        "listed_company": plan.industry.code not in ("GOV", "EDU", "HEALTH") and rng.random() < 0.12,
    }
    if rng.random() < 0.3:
        attrs["strategic_account"] = plan.tier <= 2
    return attrs


def plan_contacts(rng: random.Random, plan: AccountPlan, months: int) -> None:
    """Contacts at onboarding, departures over time and their replacements.

    A departure of the decision maker is more likely inside a warning window with the
    ``contact_loss`` signal.
    """
    count = {1: 7, 2: 6, 3: 5, 4: 4, 5: 3, 6: 3}[plan.tier] + rng.randint(-1, 1)
    levels = [LEVEL.CONTACT_LEVEL_DECISION_MAKER, LEVEL.CONTACT_LEVEL_TECHNICAL]
    levels += rng.choices(
        (
            LEVEL.CONTACT_LEVEL_INFLUENCER,
            LEVEL.CONTACT_LEVEL_USER,
            LEVEL.CONTACT_LEVEL_TECHNICAL,
            LEVEL.CONTACT_LEVEL_DECISION_MAKER,
        ),
        weights=(0.4, 0.3, 0.2, 0.1),
        k=max(0, count - 2),
    )
    for level in levels:
        plan.contacts.append(_new_contact(rng, plan, level, plan.first_t))
    end_t = months if plan.churn_t is None else plan.churn_t
    k = 0
    while k < len(plan.contacts):
        contact = plan.contacts[k]
        k += 1
        for t in range(contact.joined_t + 1, end_t):
            p_leave = 0.006
            if contact.level == LEVEL.CONTACT_LEVEL_DECISION_MAKER:
                p_leave += 0.25 * plan.signal(t, "contact_loss")
            if rng.random() < p_leave:
                contact.left_t = t
                successor_t = t + rng.randint(0, 2)
                if successor_t < end_t:
                    plan.contacts.append(_new_contact(rng, plan, contact.level, successor_t))
                break


def _new_contact(rng: random.Random, plan: AccountPlan, level: int, joined_t: int) -> ContactPlan:
    name_cn, surname, given = names.person_name(rng)
    person_id = f"{plan.customer_id}-P{len(plan.contacts) + 1:02d}"
    suffix = "" if rng.random() < 0.7 else str(rng.randint(1, 99))
    email = f"{given}.{surname}{suffix}@{plan.email_domain}" if rng.random() < 0.85 else ""
    phone = names.format_mobile(rng, names.mobile_number(rng)) if rng.random() < 0.95 else ""
    roles = _ROLES[level]
    return ContactPlan(
        person_id=person_id,
        name=name_cn,
        role=roles[rng.randrange(len(roles))],
        level=level,
        phone=phone,
        email=email,
        hours=_HOURS[rng.randrange(len(_HOURS))] if rng.random() < 0.7 else "",
        joined_t=joined_t,
    )
