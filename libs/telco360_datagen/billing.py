"""Planning product lines: the fee, lines and usage of every line in every month.

An account's monthly revenue is split over the lines it holds (industry-specific holding
probabilities, at least two lines). Each line's fee follows
``base * (1 + growth) ** t * season * decline * upgrade * noise``:

* growth: account-level drift (mean +0.4 %/month) plus faster growth for cloud and IoT;
* season: the industry's calendar (schools in the holidays, retail in November, the
  Spring Festival dip in manufacturing) on voice and mobile data;
* decline: in a warning window with the ``fee_decline`` signal, *some* of the account's
  lines (one, or up to all but one) fall by 25-70 % x the signal strength as the window
  ramps up, and a falling line is sometimes removed altogether before the termination;
  false alarms recover, latent churn stays down;
* upgrade: a few bandwidth or cloud upgrades (+20-60 %, subscription CHANGED);
* noise: log-normal, small for flat-rate lines.

ICT projects are time-limited installments; some accounts adopt a new line mid-period.
The termination month is billed pro rata up to the termination day; reactivated accounts
come back with part of their lines at 50-90 % of the former level.
"""

from __future__ import annotations

import random

from telco360.ingest.v1 import ingest_pb2
from telco360_datagen.catalog import PRODUCT_BY_KEY, PRODUCTS, ProductSpec
from telco360_datagen.model import AccountPlan, LinePlan
from telco360_datagen.months import calendar_month, days_in_month

ACTION = ingest_pb2.SubscriptionAction
_PER_LINE = ("voice", "mobile_data", "iot", "cloud")
_UPGRADABLE = ("broadband", "dedicated_line", "cloud")
_ADOPTABLE = ("cloud", "iot", "dedicated_line", "mobile_data")


def plan_lines(rng: random.Random, plan: AccountPlan, months: int, first_abs: int) -> None:
    """Fill ``plan.lines`` for the whole period."""
    industry = plan.industry
    held = [s for s in PRODUCTS if s.key != "ict_project" and rng.random() < industry.holding[s.key]]
    for key in ("mobile_data", "voice"):
        if len(held) < 2 and PRODUCT_BY_KEY[key] not in held:
            held.append(PRODUCT_BY_KEY[key])
    weights = [s.weight * rng.gammavariate(2.0, 0.5) for s in held]
    total_w = sum(weights)
    growth = rng.gauss(0.004, 0.006)

    # Which lines fall in each window with a fee decline, and how deep.
    depth: dict[str, list[tuple[int, float]]] = {s.key: [] for s in held}
    for w_idx, window in enumerate(plan.windows):
        strength = window.signals.get("fee_decline")
        if not strength:
            continue
        n = len(held)
        k = 1 if n <= 2 else rng.randint(1, min(3, n - 1))
        for spec in rng.sample(held, k):
            depth[spec.key].append((w_idx, min(0.9, rng.uniform(0.25, 0.7) * strength)))

    kept_on_reactivation = {s.key for s in held if rng.random() < 0.6} or {held[0].key}
    react_level = rng.uniform(0.5, 0.9)
    for spec, weight in zip(held, weights, strict=True):
        base_yuan = plan.revenue_yuan * weight / total_w
        line = _line(
            rng, plan, spec, base_yuan, growth, depth[spec.key], months, first_abs, start_t=plan.first_t, ramp=False
        )
        if plan.react_t is not None:
            _apply_reactivation(plan, line, spec.key in kept_on_reactivation, react_level)
        plan.lines.append(line)

    if rng.random() < 0.2 and months - plan.first_t > 3:
        options = [PRODUCT_BY_KEY[k] for k in _ADOPTABLE if PRODUCT_BY_KEY[k] not in held]
        if options:
            spec = options[rng.randrange(len(options))]
            start = rng.randint(plan.first_t + 1, months - 1)
            end = plan.churn_t if plan.churn_t is not None else months
            if start < end:
                plan.lines.append(
                    _line(
                        rng,
                        plan,
                        spec,
                        plan.revenue_yuan * 0.08,
                        growth,
                        [],
                        months,
                        first_abs,
                        start_t=start,
                        ramp=True,
                    )
                )
    if rng.random() < industry.holding["ict_project"]:
        plan.lines.append(_project(rng, plan, months))


def _line(
    rng: random.Random,
    plan: AccountPlan,
    spec: ProductSpec,
    base_yuan: float,
    growth: float,
    depths: list[tuple[int, float]],
    months: int,
    first_abs: int,
    start_t: int,
    ramp: bool,
) -> LinePlan:
    unit_fee = rng.uniform(*spec.unit_fee_yuan)
    n_lines = max(1, round(base_yuan / unit_fee))
    usage_per = rng.uniform(*spec.usage_per_line)
    g = growth + spec.growth
    up_t, up_factor = months, 1.0
    if spec.key in _UPGRADABLE and rng.random() < 0.15 and months - start_t > 2:
        up_t, up_factor = rng.randint(start_t + 1, months - 1), rng.uniform(1.2, 1.6)
    removed_t = months
    if depths and plan.churn_t is not None and rng.random() < 0.25:
        window = plan.windows[depths[0][0]]
        if window.kind == "churn" and window.end - window.start >= 3:
            removed_t = window.end - 1
    line = LinePlan(
        spec=spec,
        product_code=spec.codes[rng.randrange(len(spec.codes))],
        fees=[0] * months,
        lines=[0] * months,
        usage=[0.0] * months,
    )
    season = plan.industry.season
    for t in range(start_t, months):
        if not plan.active(t) or t >= removed_t:
            continue
        level = (1.0 + g) ** t
        if ramp:
            level *= min(1.0, (t - start_t + 1) / 3)
        decline = 1.0
        for w_idx, d in depths:
            decline *= 1.0 - d * plan.windows[w_idx].intensity(t)
        seasonal = season[calendar_month(first_abs + t)] if spec.seasonal else 1.0
        up = up_factor if t >= up_t else 1.0
        fee = base_yuan * level * seasonal * decline * up * rng.lognormvariate(0.0, spec.noise)
        part = plan.churn_day / days_in_month(first_abs + t) if t == plan.churn_t else 1.0
        fee *= part
        if spec.key in _PER_LINE:
            count = max(1, round(n_lines * level * decline**0.8 * (up if spec.key == "cloud" else 1.0)))
        else:
            count = n_lines
        if spec.key == "iot":
            usage = count * rng.uniform(0.85, 1.0) * decline**0.5
        elif spec.key in ("voice", "mobile_data"):
            usage = count * usage_per * seasonal * decline**0.6 * rng.lognormvariate(0.0, 0.12) * part
        else:
            usage = count * usage_per * up
        line.fees[t] = max(1, round(fee * 100))
        line.lines[t] = count
        line.usage[t] = round(usage, 1) if spec.unit != "connection" else float(round(usage))
    line.changes.append((start_t, ACTION.SUBSCRIPTION_ACTION_ADDED))
    if up_t < months and plan.active(up_t) and up_t < removed_t:
        line.changes.append((up_t, ACTION.SUBSCRIPTION_ACTION_CHANGED))
    if removed_t < months:
        line.changes.append((removed_t, ACTION.SUBSCRIPTION_ACTION_REMOVED))
    return line


def _apply_reactivation(plan: AccountPlan, line: LinePlan, kept: bool, level: float) -> None:
    react_t = plan.react_t
    assert react_t is not None and plan.churn_t is not None
    for t in range(react_t, len(line.fees)):
        if not kept:
            line.fees[t], line.lines[t], line.usage[t] = 0, 0, 0.0
        else:
            line.fees[t] = max(1, round(line.fees[t] * level))
            line.lines[t] = max(1, round(line.lines[t] * level))
            line.usage[t] = round(line.usage[t] * level, 1)
    if kept:
        line.changes.append((react_t, ACTION.SUBSCRIPTION_ACTION_ADDED))


def _project(rng: random.Random, plan: AccountPlan, months: int) -> LinePlan:
    spec = PRODUCT_BY_KEY["ict_project"]
    duration = rng.randint(3, 12)
    start = rng.randint(plan.first_t - 6, months - 2)
    end = start + duration
    installment = plan.revenue_yuan * rng.uniform(0.5, 2.0)
    line = LinePlan(
        spec=spec,
        product_code=spec.codes[rng.randrange(len(spec.codes))],
        fees=[0] * months,
        lines=[0] * months,
        usage=[0.0] * months,
    )
    first = max(start, plan.first_t)
    for t in range(first, min(end, months)):
        if plan.active(t) and (plan.churn_t is None or t < plan.churn_t or t >= (plan.react_t or months)):
            line.fees[t] = max(1, round(installment * 100))
            line.lines[t] = 1
            line.usage[t] = 1.0
    line.changes.append((first, ACTION.SUBSCRIPTION_ACTION_ADDED))
    if end < months and (plan.churn_t is None or end < plan.churn_t):
        line.changes.append((end, ACTION.SUBSCRIPTION_ACTION_REMOVED))
    return line
