"""`telco360 nbo`, `contact check|reserve`, `policy create|simulate`, `campaign metrics` (contact)."""

from __future__ import annotations

import json
import pathlib
import tomllib
import uuid

import typer
from google.protobuf import json_format
from rich.table import Table

from telco360.contact.v1 import contact_pb2
from telco360_cli import fmt
from telco360_cli.console import console, run_command
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients, wait_job
from telco360_runtime.timeconv import to_timestamp

contact_group = typer.Typer(help="Contact-frequency control: may we contact this account now?", no_args_is_help=True)
policy_group = typer.Typer(help="Contact policies.", no_args_is_help=True)
campaign_group = typer.Typer(help="Campaigns (营销案).", no_args_is_help=True)


def channel_of(name: str) -> contact_pb2.Channel:
    """Channel enum from a short name (sms, inbound_offer, visit, ...)."""
    return fmt.enum_value(contact_pb2.Channel, name)


def render_rule(rule: contact_pb2.RuleEvaluation) -> str:
    """One rule evaluation in words."""
    text = f"{fmt.enum_name(contact_pb2.RuleKind, rule.kind)} {rule.rule_id}"
    if rule.detail:
        text += f": {rule.detail}"
    if rule.next_allowed_at.seconds:
        text += f" (next allowed {fmt.when(rule.next_allowed_at)})"
    return text


def render_nbo(reply: contact_pb2.GetNextBestOfferResponse, customer_id: str, channel: str) -> None:
    """Ranked offers with reasons, and suppressed ones with why."""
    risk = (
        f"risk {fmt.risk(reply.risk_band)} ({fmt.percent(reply.churn_probability)})"
        if reply.risk_band
        else "risk unknown"
    )
    console.print(
        f"[bold]next-best-offer[/] for {customer_id} on {channel}: {risk}, predicted value "
        f"{fmt.yuan_short(reply.predicted_value_fen)}; policies {', '.join(reply.policy_versions) or '-'}"
    )
    if reply.offers:
        table = Table(title="Offers, best first")
        for column in ("#", "offer", "category", "propensity", "expected value", "why"):
            table.add_column(column, overflow="fold")
        for o in reply.offers:
            table.add_row(
                str(o.rank),
                f"{o.name} ({o.offer_id})",
                fmt.enum_name(contact_pb2.OfferCategory, o.category),
                f"{o.propensity:.3f}",
                fmt.yuan_short(o.expected_value_fen),
                "\n".join(o.reasons),
            )
        console.print(table)
    else:
        console.print(
            "no offer to make now"
            + (
                " (every candidate is suppressed, see below)"
                if reply.suppressed
                else " (the catalogue has no active offer for this channel)"
            )
        )
    if reply.suppressed:
        suppressed = Table(title="Suppressed")
        for column in ("offer", "reason", "detail"):
            suppressed.add_column(column, overflow="fold")
        for s in reply.suppressed:
            detail = "\n".join([s.detail, *(render_rule(r) for r in s.blocking)]).strip()
            suppressed.add_row(s.offer_id, fmt.enum_name(contact_pb2.SuppressionReason, s.reason), detail)
        console.print(suppressed)
    if reply.degraded:
        console.print(f"[yellow]degraded: {'; '.join(reply.degraded_reasons)}[/]")


def nbo(
    ctx: typer.Context,
    customer_id: str,
    channel: str = typer.Option("inbound_offer", help="touchpoint: inbound_offer, sms, outbound_call, visit, ..."),
    reason: str = typer.Option("", help="reason of the call or visit, e.g. bill_query"),
    person: str = typer.Option("", help="person spoken to"),
    max_offers: int = typer.Option(3, help="offers to rank"),
    inbound: bool = typer.Option(True, help="the customer called in (inbound call context)"),
) -> None:
    """Next-best-offer for an account on a channel, with reasons and suppressed offers."""

    async def run(clients: Clients) -> contact_pb2.GetNextBestOfferResponse:
        kind = contact_pb2.INTERACTION_KIND_INBOUND_CALL if inbound else contact_pb2.INTERACTION_KIND_OUTBOUND
        return await clients.contact.GetNextBestOffer(
            contact_pb2.GetNextBestOfferRequest(
                customer_id=customer_id,
                person_id=person,
                channel=channel_of(channel),
                max_offers=max_offers,
                context=contact_pb2.InteractionContext(kind=kind, reason=reason),
                exploit_only=True,
            )
        )

    render_nbo(run_command(ctx.obj, run), customer_id, channel)


def _check_request(
    customer_id: str, channel: str, purpose: str, offer: str, person: str, campaign: str
) -> contact_pb2.CheckContactRequest:
    return contact_pb2.CheckContactRequest(
        customer_id=customer_id,
        person_id=person,
        channel=channel_of(channel),
        purpose=fmt.enum_value(contact_pb2.Purpose, purpose),
        offer_id=offer,
        campaign_id=campaign,
    )


def render_decision(decision: contact_pb2.ContactDecision) -> None:
    """Allowed or not, the blocking rules and when it would next be allowed."""
    verdict = "[green]allowed[/]" if decision.allowed else "[red]not allowed[/]"
    console.print(f"{verdict} (decision {decision.decision_id}; policies {', '.join(decision.policy_versions) or '-'})")
    for rule in decision.blocking:
        console.print(f"  blocked by {render_rule(rule)}")
    if decision.never_allowed:
        console.print("  no future time allows it under the current rules")
    elif decision.next_allowed_at.seconds:
        console.print(f"  next allowed {fmt.when(decision.next_allowed_at)} UTC")


# Exit status of `contact check|reserve` when the contact is not allowed (1 stays for errors),
# so scripts can branch on the verdict.
NOT_ALLOWED = 3
_CHANNEL = typer.Option("sms", help="sms, outbound_call, email, app_push, visit, inbound_offer, outlet, web")
_PURPOSE = typer.Option("marketing", help="service, regulatory, retention, marketing")


@contact_group.command("check")
def contact_check(
    ctx: typer.Context,
    customer_id: str,
    channel: str = _CHANNEL,
    purpose: str = _PURPOSE,
    offer: str = typer.Option("", help="offer the contact makes"),
    person: str = typer.Option("", help="person addressed"),
    campaign: str = typer.Option("", help="campaign it belongs to"),
) -> None:
    """May we contact this account now on this channel for this purpose? (records nothing; exit 3 if not)"""
    request = _check_request(customer_id, channel, purpose, offer, person, campaign)
    decision = run_command(ctx.obj, lambda c: c.contact.CheckContact(request))
    render_decision(decision)
    if not decision.allowed:
        raise typer.Exit(NOT_ALLOWED)


@contact_group.command("reserve")
def contact_reserve(
    ctx: typer.Context,
    customer_id: str,
    channel: str = _CHANNEL,
    purpose: str = _PURPOSE,
    offer: str = typer.Option("", help="offer the contact makes"),
    person: str = typer.Option("", help="person addressed"),
    campaign: str = typer.Option("", help="campaign it belongs to"),
    key: str = typer.Option("", help="idempotency key (default: a new one)"),
    confirm: bool = typer.Option(False, help="confirm delivery at once"),
) -> None:
    """Check and reserve a contact slot (optionally confirming it as delivered); exit 3 if not granted."""
    request = contact_pb2.ReserveContactRequest(
        idempotency_key=key or f"cli-{uuid.uuid4().hex}",
        contact=_check_request(customer_id, channel, purpose, offer, person, campaign),
    )

    async def run(clients: Clients):
        reply = await clients.contact.ReserveContact(request)
        confirmed = None
        if reply.granted and confirm:
            confirmed = await clients.contact.ConfirmContact(
                contact_pb2.ConfirmContactRequest(reservation_id=reply.reservation.reservation_id)
            )
        return reply, confirmed

    reply, confirmed = run_command(ctx.obj, run)
    render_decision(reply.decision)
    if reply.granted:
        state = confirmed.state if confirmed is not None else reply.reservation.state
        console.print(
            f"reservation {reply.reservation.reservation_id} "
            f"{fmt.enum_name(contact_pb2.ReservationState, state)}"
            f"{' (replayed)' if reply.replayed else ''}"
        )
    else:
        raise typer.Exit(NOT_ALLOWED)


def load_policy(path: pathlib.Path) -> contact_pb2.ContactPolicy:
    """A ContactPolicy from a JSON or TOML file (field names as in contact.proto)."""
    try:
        data = tomllib.loads(path.read_text()) if path.suffix.lower() == ".toml" else json.loads(path.read_text())
        return json_format.ParseDict(data, contact_pb2.ContactPolicy())
    except (ValueError, json_format.ParseError) as error:
        raise CliError(f"{path}: not a ContactPolicy: {error}") from None


@policy_group.command("create")
def policy_create(
    ctx: typer.Context,
    path: pathlib.Path = typer.Argument(..., exists=True, dir_okay=False, help="policy as JSON or TOML"),
) -> None:
    """Create a contact policy from a file."""
    policy = load_policy(path)
    created = run_command(ctx.obj, lambda c: c.contact.CreatePolicy(contact_pb2.CreatePolicyRequest(policy=policy)))
    console.print(
        f"policy {created.policy_id} v{created.version} {'active' if created.active else 'inactive'}: "
        f"{len(created.caps)} caps, {len(created.cool_downs)} cool-downs"
    )


async def simulate(
    clients: Clients, draft: contact_pb2.ContactPolicy, start, end, replaces: list[str]
) -> contact_pb2.SimulationResult:
    """Replay a period under a draft policy (waiting for the job when it runs as one)."""
    reply = await clients.contact.SimulatePolicy(
        contact_pb2.SimulatePolicyRequest(
            draft=draft, replaces_policy_ids=replaces, period_start=to_timestamp(start), period_end=to_timestamp(end)
        ),
        timeout=600,
    )
    if reply.HasField("result"):
        return reply.result
    job = await wait_job(clients.contact.GetJob, reply.job)
    return await clients.contact.GetSimulationResult(contact_pb2.GetSimulationResultRequest(job_id=job.job_id))


def render_simulation(result: contact_pb2.SimulationResult) -> None:
    """Before/after figures of a policy simulation."""
    console.print(
        f"[bold]{result.draft}[/]: {result.contacts_replayed:,} contacts replayed, "
        f"{result.contacts_suppressed:,} would be suppressed; per account per month "
        f"{result.per_account_month_before:.2f} → {result.per_account_month_after:.2f}"
    )
    table = Table(title="Suppressed by rule")
    table.add_column("rule")
    table.add_column("kind")
    table.add_column("contacts", justify="right")
    for rule in result.suppressed_by_rule:
        table.add_row(rule.rule_id, fmt.enum_name(contact_pb2.RuleKind, rule.kind), f"{rule.count:,}")
    console.print(table)


@policy_group.command("simulate")
def policy_simulate(
    ctx: typer.Context,
    path: pathlib.Path = typer.Argument(..., exists=True, dir_okay=False, help="draft policy"),
    start: str = typer.Option(..., "--from", help="period start (date)"),
    end: str = typer.Option(..., "--to", help="period end (date, exclusive)"),
    replaces: list[str] = typer.Option([], help="active policies the draft replaces"),
) -> None:
    """Replay recorded contacts under a draft policy and show what would change."""
    draft = load_policy(path)
    result = run_command(ctx.obj, lambda c: simulate(c, draft, fmt.parse_time(start), fmt.parse_time(end), replaces))
    render_simulation(result)


def campaign_metrics_line(m: contact_pb2.CampaignMetrics) -> str:
    """A campaign's figures in one paragraph: reach, conversion, uplift against control, cost."""
    return (
        f"{m.campaign_id}: targeted {m.accounts_targeted:,} accounts ({m.treatment_accounts:,} treated, "
        f"{m.control_accounts:,} control); contacted {m.accounts_contacted:,} with {m.contacts:,} contacts; "
        f"accepted {m.accepted:,} (conversion {fmt.percent(m.conversion_rate)}); control accepted "
        f"{m.control_accepted:,} on their own; uplift {m.uplift * 100:+.1f} points against the control group; "
        f"{m.contacts_per_account_month:.2f} contacts per contacted account per month; "
        f"cost {fmt.yuan_short(m.cost_fen)}, value {fmt.yuan_short(m.value_fen)}"
    )


@campaign_group.command("metrics")
def campaign_metrics(
    ctx: typer.Context,
    campaign_id: str,
    start: str = typer.Option("", "--from", help="period start (default: campaign start)"),
    end: str = typer.Option("", "--to", help="period end (default: now)"),
) -> None:
    """A campaign's results: targeted, contacted, suppressed, accepted, uplift against control, disturbance."""
    request = contact_pb2.GetCampaignMetricsRequest(campaign_id=campaign_id)
    if start:
        request.period_start.CopyFrom(to_timestamp(fmt.parse_time(start)))
    if end:
        request.period_end.CopyFrom(to_timestamp(fmt.parse_time(end)))
    m = run_command(ctx.obj, lambda c: c.contact.GetCampaignMetrics(request))
    console.print(campaign_metrics_line(m), highlight=False)
    for item in m.suppressed_by_reason:
        console.print(f"  suppressed {item.label}: {item.count:,}")


def register(app: typer.Typer) -> None:
    """Add the commands to the application."""
    app.command("nbo")(nbo)
    app.add_typer(contact_group, name="contact")
    app.add_typer(policy_group, name="policy")
    app.add_typer(campaign_group, name="campaign")
