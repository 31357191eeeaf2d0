"""Demo steps about models: train churn and value on earlier cut-offs, evaluate later, batch-score."""

from __future__ import annotations

import datetime as dt

from telco360.profile.v1 import profile_pb2
from telco360.scoring.v1 import scoring_pb2
from telco360_cli import fmt
from telco360_cli.commands.profile import query_segment
from telco360_cli.commands.scoring import metric_line, run_job, train_model
from telco360_cli.console import console
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_runtime.timeconv import month_from_index, month_index, to_timestamp

CHURN_HORIZON = 3
VALUE_HORIZON = 6
#: Months of history a training cut-off needs before it (3-month features and references).
_MIN_HISTORY = 4


def _cut_off(window_start: int, day: int) -> dt.datetime:
    """The cut-off whose label window starts with month `window_start`, on day `day`.

    Day 1 is midnight of that month's first day; any other day is that day of the month
    before (a mid-month cut-off's window starts with the next calendar month).
    """
    year, mon = (int(x) for x in month_from_index(window_start - (day > 1)).split("-"))
    return dt.datetime(year, mon, day, tzinfo=dt.UTC)


def cutoffs(
    first_month: str, end_month: str, horizon: int, count: int = 4, day: int = 1
) -> tuple[list[dt.datetime], dt.datetime]:
    """Training cut-offs and the holdout cut-off for a label horizon, on a day of the month.

    The holdout's label window ends with the last generated month; each training cut-off's
    label window ends at or before the holdout cut-off (no overlap, no leakage). `day` is the
    day of the month the base will be scored on: features that count days (since the last
    payment, visit, ...) then look in training as they will when scored, instead of always
    as on the 1st.
    """
    after_end = month_index(end_month) + 1
    holdout = after_end - horizon - 1
    # A mid-month holdout cut-off falls in the month before its window: training windows
    # must end by then, one month earlier than for a cut-off on the 1st.
    last_start = holdout - horizon - (day > 1)
    earliest = month_index(first_month) + _MIN_HISTORY + (day > 1)
    # Monthly cut-offs stack one row per account and month: more churners to learn from.
    training = [last_start - k for k in range(count) if last_start - k >= earliest]
    if not training:
        raise CliError(f"{first_month}…{end_month} is too short for a {horizon}-month horizon with a holdout")
    return [_cut_off(m, day) for m in sorted(training)], _cut_off(holdout, day)


def scoring_day(now: dt.datetime) -> int:
    """The day of the month cut-offs are placed on: today's, at most the 28th (every month has it)."""
    return min(now.day, 28)


async def _train(
    state: DemoState, clients: Clients, kind: scoring_pb2.ModelKind, horizon: int, label: str
) -> scoring_pb2.Model:
    training, holdout = cutoffs(
        state.base.truth.months[0], state.end_month, horizon, day=scoring_day(dt.datetime.now(dt.UTC))
    )
    console.print(
        f"{label}: training cut-offs {', '.join(d.date().isoformat() for d in training)}, "
        f"holdout {holdout.date().isoformat()}, horizon {horizon} months"
    )
    request = scoring_pb2.TrainModelRequest(
        kind=kind,
        horizon_months=horizon,
        holdout_as_of=to_timestamp(holdout),
        auto_promote=scoring_pb2.AUTO_PROMOTE_ALWAYS,
        description=f"demo {label}",
    )
    request.as_of.extend(to_timestamp(d) for d in training)
    model = await train_model(clients, request, f"training {label}")
    console.print(f"  {model.model_id}: {metric_line(model)}", highlight=False)
    return model


async def train_models(state: DemoState, clients: Clients) -> None:
    """Train churn and value; each must beat its simple baseline on the later holdout."""
    churn = await _train(state, clients, scoring_pb2.MODEL_KIND_CHURN, CHURN_HORIZON, "churn")
    value = await _train(state, clients, scoring_pb2.MODEL_KIND_VALUE, VALUE_HORIZON, "value")
    state.models = {"churn": churn, "value": value}
    c, v = churn.churn_metrics, value.value_metrics
    state.headline["churn model"] = metric_line(churn)
    state.headline["value model"] = metric_line(value)
    if c.roc_auc <= c.baseline_roc_auc:
        raise CliError(f"churn ROC-AUC {c.roc_auc:.3f} does not beat the baseline {c.baseline_roc_auc:.3f}")
    if v.spearman <= v.baseline_spearman:
        raise CliError(f"value Spearman {v.spearman:.3f} does not beat the baseline {v.baseline_spearman:.3f}")


async def batch_score(state: DemoState, clients: Clients) -> None:
    """Score the whole base with the champions and read the scores back through profile."""
    job = await run_job(clients, await clients.scoring.ScoreAll(scoring_pb2.ScoreAllRequest()), "scoring the base")
    console.print(f"batch {job.result_ref}: {job.done:,} accounts scored")
    features = ["churn_probability", "risk_band", "predicted_value_fen"]
    _, members = await query_segment(clients, "", features, 10**9)
    for m in members:
        if "churn_probability" not in m.features:
            continue
        f = m.features
        state.scores[m.customer_id] = (
            fmt.attr_number(f["churn_probability"]),
            str(fmt.attr_py(f["risk_band"]) or "").lower(),
            int(fmt.attr_number(f["predicted_value_fen"])),
            fmt.tier(m.tier),
            m.name,
        )
    if not state.scores:
        raise CliError("profile holds no scores after batch scoring")
    bands: dict[str, int] = {}
    for _, band, _, _, _ in state.scores.values():
        bands[band] = bands.get(band, 0) + 1
    console.print("risk bands: " + ", ".join(f"{b} {n:,}" for b, n in sorted(bands.items())))
    state.headline["scored accounts"] = (
        f"{len(state.scores):,} (" + ", ".join(f"{b} {n:,}" for b, n in sorted(bands.items())) + ")"
    )
    # Valuable accounts at risk, ranked by expected loss: churn probability × predicted value.
    ranked = sorted(((p * v, cid) for cid, (p, _, v, _, _) in state.scores.items()), reverse=True)[:10]
    ids = [cid for _, cid in ranked]
    if ids:
        reply = await clients.scoring.ScoreCustomers(scoring_pb2.ScoreCustomersRequest(customer_ids=ids, top_reasons=3))
        state.at_risk = [s for s in reply.scores if s.status == scoring_pb2.SCORE_STATUS_OK]
    for s in state.at_risk[:5]:
        console.print(
            f"  {s.customer_id} {state.scores[s.customer_id][4]}: churn {fmt.percent(s.churn_probability)}, "
            f"value {fmt.yuan_short(s.predicted_value_fen)} — " + "; ".join(r.phrase for r in s.churn_reasons),
            highlight=False,
        )
    view = await clients.profile.GetCustomer360(profile_pb2.GetCustomer360Request(customer_id=ids[0])) if ids else None
    if view is not None and not view.HasField("score"):
        raise CliError(f"profile's Customer360 of {ids[0]} carries no score after batch scoring")
