"""`telco360 account show`, `tags list|create|dry-run|history`, `segment` (the profile service)."""

from __future__ import annotations

import csv
import pathlib

import typer
from rich.columns import Columns
from rich.panel import Panel
from rich.table import Table

from telco360.common.v1 import common_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2
from telco360_cli import fmt
from telco360_cli.console import console, err_console, progress_bar, run_command
from telco360_cli.errors import CliError, print_error
from telco360_cli.rpc import Clients, wait_job

account_group = typer.Typer(help="One account's 360° view.", no_args_is_help=True)
tags_group = typer.Typer(help="Tag definitions, dry runs and history.", no_args_is_help=True)


# --------------------------------------------------------------------------- account
def analytics_text(a: common_pb2.ValueAnalytics) -> str:
    """Lifetime value, RFM, cluster and outlier lines of an account's value analytics."""
    lines = []
    if a.HasField("lifetime_value"):
        lv = a.lifetime_value
        lines.append(
            f"lifetime value [bold]{fmt.yuan_short(lv.clv_fen)}[/] ({lv.tier or '?'}) over {lv.horizon_months} months"
            f" · margin {fmt.yuan_short(lv.monthly_margin_fen)}/month · stays {lv.expected_months:.1f} months"
        )
        lines += [f"  • {r}" for r in lv.reasons]
    if a.HasField("rfm"):
        r = a.rfm
        lines.append(f"RFM {r.recency}-{r.frequency}-{r.monetary} · segment [bold]{r.segment}[/]")
    if a.HasField("cluster"):
        lines.append(f"cluster [bold]{a.cluster.label}[/]: {a.cluster.name}")
    if a.HasField("outlier"):
        o = a.outlier
        state = "dismissed by a reviewer" if o.dismissed else ("[bold red]flagged[/]" if o.flagged else "not flagged")
        lines.append(f"outlier score {o.score:.2f} · {state}")
        lines += [f"  • {r}" for r in o.reasons]
    return "\n".join(lines) or "(not computed yet)"


def render_customer360(view: profile_pb2.Customer360) -> None:
    """Print a Customer360 as panels and tables an account manager can read."""
    a = view.account
    status = fmt.enum_name(profile_pb2.AccountStatus, a.status)
    head = (
        f"[bold]{a.name}[/]  ({a.customer_id})\n"
        f"{fmt.SERVICE_TIER} [bold]{fmt.tier(a.tier)}[/] (master data) · {a.industry} · {a.region}"
        f" · manager {a.account_manager_id}\n"
        f"status {status} · contract {a.contract_start_month or '?'} → {a.contract_end_month or '?'}"
        f" · {a.employee_count or '?'} employees"
    )
    if a.parent_customer_id:
        head += f"\nbranch of {a.parent_customer_id} (group {a.group_root_customer_id})"
    if view.group.member_customer_ids and len(view.group.member_customer_ids) > 1:
        head += (
            f"\ngroup of {len(view.group.member_customer_ids)} accounts, "
            f"{fmt.yuan_short(view.group.total_fee_last_month_fen)} last month"
        )
    console.print(Panel(head, title="Customer 360", expand=False))

    if view.HasField("score"):
        s = view.score
        reasons = "\n".join(f"• {r.description}" for r in s.reasons[:5]) or "(no reasons)"
        console.print(
            Panel(
                f"churn risk [bold]{fmt.percent(s.churn_probability)}[/] ({fmt.risk(s.risk_band)}) · "
                f"predicted value {fmt.yuan_short(s.predicted_value_fen)} over "
                f"{s.value_horizon_months} months · model {s.model_version}\n{reasons}",
                title="Scores",
                expand=False,
            )
        )
        if s.HasField("analytics"):
            console.print(Panel(analytics_text(s.analytics), title="Value analytics", expand=False))
    if view.tags:
        tags = Table(title="Tags", show_lines=False)
        for column in ("tag", "category", "since", "why (values when assigned)"):
            tags.add_column(column)
        for tag in view.tags:
            # Evidence as it was when the tag was given, and the same names now (they move).
            why = ", ".join(
                f"{k}={fmt.attr(v)}"
                + (
                    f" (now {fmt.attr(tag.current_values[k])})"
                    if k in tag.current_values and tag.current_values[k] != v
                    else ""
                )
                for k, v in sorted(tag.trigger_values.items())
            )
            category = f"{fmt.VALUE_TIER} (revenue share)" if tag.tag_id.startswith("value_") else tag.category
            tags.add_row(tag.display_name or tag.tag_id, category, fmt.when(tag.assigned_at), why)
        console.print(tags)
    if view.spend_trend:
        caption = (
            f"fee features describe {view.fee_reference_month or '(no bill in 12 months)'}; "
            f"base closed through {view.billing_closed_month or '(no month closed yet)'}"
        )
        trend = Table(title="Monthly spend", caption=caption)
        trend.add_column("month")
        trend.add_column("total", justify="right")
        trend.add_column("lines")
        trend.add_column("max days overdue", justify="right")
        for month in view.spend_trend:
            lines = ", ".join(
                f"{fmt.enum_name(common_pb2.ProductLine, line.product_line)} {fmt.yuan_short(line.fee_fen)}"
                for line in month.lines
            )
            trend.add_row(month.month, fmt.yuan(month.total_fee_fen), lines, str(month.max_days_overdue or ""))
        console.print(trend)
    side: list[Table] = []
    if view.contacts:
        contacts = Table(title="Contacts")
        for column in ("name", "role", "level", "phone"):
            contacts.add_column(column)
        for c in view.contacts[:8]:
            contacts.add_row(
                c.name + (" (left)" if c.inactive else ""),
                c.role,
                fmt.enum_name(ingest_pb2.ContactLevel, c.level),
                c.phone,
            )
        side.append(contacts)
    if view.products:
        products = Table(title="Products held")
        for column in ("product", "line", "qty", "monthly fee"):
            products.add_column(column)
        for p in view.products:
            products.add_row(
                p.product_code,
                fmt.enum_name(common_pb2.ProductLine, p.product_line),
                str(p.quantity),
                fmt.yuan(p.monthly_fee_fen),
            )
        side.append(products)
    if side:
        console.print(Columns(side))
    if view.recent_service_events:
        events = Table(title="Recent service events")
        for column in ("when", "type", "line", "severity", "survey"):
            events.add_column(column)
        for e in view.recent_service_events[:8]:
            events.add_row(
                fmt.when(e.occurred_at),
                fmt.enum_name(ingest_pb2.ServiceEventType, e.type),
                fmt.enum_name(common_pb2.ProductLine, e.product_line),
                str(e.severity or ""),
                f"{e.survey_mean:.1f}" if e.survey_mean else "",
            )
        console.print(events)
    if view.competitors:
        console.print(
            "competitors: "
            + "; ".join(
                f"{c.competitor}{' (approaching now)' if c.active_approach else ''}"
                + (f", contract ends {c.contract_end_month}" if c.contract_end_month else "")
                for c in view.competitors
            )
        )
    if view.open_opportunities:
        console.print(
            "open opportunities: "
            + "; ".join(
                f"{o.need} ({fmt.enum_name(ingest_pb2.OpportunityStage, o.stage)}, {fmt.yuan_short(o.budget_fen)})"
                for o in view.open_opportunities
            )
        )
    if view.recent_contacts:
        console.print(
            "recent contacts: "
            + "; ".join(
                f"{fmt.when(c.occurred_at)} {c.channel}/{c.purpose} {c.offer_id} {c.outcome}".strip()
                for c in view.recent_contacts[:5]
            )
        )
    if view.partial:
        console.print(f"[yellow]partial view: unavailable {', '.join(view.unavailable)}[/]")


@account_group.command("show")
def account_show(
    ctx: typer.Context,
    customer_id: str,
    group: bool = typer.Option(False, help="roll up the account's branches and subsidiaries"),
    months: int = typer.Option(12, help="months of spend trend"),
) -> None:
    """Show one account's Customer360: master data, scores, tags, spend, contacts, events."""

    async def run(clients: Clients) -> profile_pb2.Customer360:
        level = profile_pb2.VIEW_LEVEL_GROUP if group else profile_pb2.VIEW_LEVEL_ACCOUNT
        return await clients.profile.GetCustomer360(
            profile_pb2.GetCustomer360Request(customer_id=customer_id, level=level, trend_months=months)
        )

    render_customer360(run_command(ctx.obj, run))


# --------------------------------------------------------------------------- tags
async def list_tags(clients: Clients, category: str = "") -> list[profile_pb2.TagDefinition]:
    """Every tag definition (all pages)."""
    found: list[profile_pb2.TagDefinition] = []
    token = ""
    while True:
        request = profile_pb2.ListTagDefinitionsRequest(category=category)
        request.page.page_size = 1000
        request.page.page_token = token
        reply = await clients.profile.ListTagDefinitions(request)
        found.extend(reply.definitions)
        token = reply.page.next_page_token
        if not token:
            return found


async def tag_counts(clients: Clients, tag_ids: list[str]) -> dict[str, int]:
    """How many active accounts hold each tag now."""
    counts: dict[str, int] = {}
    for tag_id in tag_ids:
        reply = await clients.profile.QuerySegment(
            profile_pb2.QuerySegmentRequest(expression=f"tag({tag_id})", count_only=True)
        )
        counts[tag_id] = reply.count
    return counts


@tags_group.command("list")
def tags_list(
    ctx: typer.Context,
    category: str = typer.Option("", help="only this category"),
    counts: bool = typer.Option(True, help="count holders of each tag"),
) -> None:
    """List tag definitions (and how many accounts hold each)."""

    async def run(clients: Clients):
        definitions = await list_tags(clients, category)
        held = await tag_counts(clients, [d.tag_id for d in definitions if d.enabled]) if counts else {}
        return definitions, held

    definitions, held = run_command(ctx.obj, run)
    table = Table(title=f"Tag definitions ({len(definitions)})")
    for column in ("tag", "name", "category", "v", "holders", "expression"):
        table.add_column(column, overflow="fold")
    for d in definitions:
        table.add_row(
            d.tag_id,
            d.display_name,
            d.category,
            str(d.version),
            f"{held[d.tag_id]:,}" if d.tag_id in held else "",
            d.expression,
        )
    console.print(table)


def _definition(tag_id: str, expression: str, name: str, category: str, description: str) -> profile_pb2.TagDefinition:
    return profile_pb2.TagDefinition(
        tag_id=tag_id,
        display_name=name or tag_id,
        category=category,
        description=description,
        expression=expression,
        enabled=True,
    )


@tags_group.command("create")
def tags_create(
    ctx: typer.Context,
    tag_id: str,
    expression: str,
    name: str = typer.Option("", help="display name"),
    category: str = typer.Option("custom", help="category"),
    description: str = typer.Option("", help="what the tag means"),
    wait: bool = typer.Option(True, help="wait for the evaluation over all accounts"),
) -> None:
    """Create a tag from an expression; it is evaluated over every account."""

    async def run(clients: Clients):
        change = await clients.profile.CreateTagDefinition(
            profile_pb2.CreateTagDefinitionRequest(
                definition=_definition(tag_id, expression, name, category, description)
            )
        )
        job = change.job
        if wait and job.job_id:
            with progress_bar() as bar:
                task = bar.add_task(f"evaluating {tag_id}", total=None)
                job = await wait_job(
                    clients.profile.GetJob, job, lambda j: bar.update(task, completed=j.done, total=j.total or None)
                )
            if job.state != common_pb2.JOB_STATE_SUCCEEDED:
                raise CliError(
                    f"evaluation job {job.job_id} ended {fmt.enum_name(common_pb2.JobState, job.state)}: "
                    f"{job.error_message}"
                )
        count = await clients.profile.QuerySegment(
            profile_pb2.QuerySegmentRequest(expression=f"tag({tag_id})", count_only=True)
        )
        return change.definition, count.count

    definition, holders = run_command(ctx.obj, run)
    console.print(
        f"created [bold]{definition.tag_id}[/] v{definition.version} reading "
        f"{', '.join(definition.referenced_names)}; {holders:,} accounts hold it"
    )


@tags_group.command("dry-run")
def tags_dry_run(
    ctx: typer.Context, tag_id: str, expression: str, sample: int = typer.Option(10, help="accounts listed per outcome")
) -> None:
    """Show who would gain or lose a tag under a draft expression, without saving it."""

    async def run(clients: Clients) -> profile_pb2.DryRunTagDefinitionResponse:
        return await clients.profile.DryRunTagDefinition(
            profile_pb2.DryRunTagDefinitionRequest(
                definition=_definition(tag_id, expression, "", "custom", ""), sample_size=sample
            ),
            timeout=600,
        )

    reply = run_command(ctx.obj, run)
    console.print(
        f"evaluated {reply.evaluated:,}: would hold {reply.would_hold:,}, gain {reply.would_gain:,}, "
        f"lose {reply.would_lose:,}"
    )
    if reply.gain_sample:
        console.print("  gain: " + ", ".join(reply.gain_sample))
    if reply.lose_sample:
        console.print("  lose: " + ", ".join(reply.lose_sample))


@tags_group.command("history")
def tags_history(
    ctx: typer.Context,
    customer_id: str = typer.Option("", help="only this account"),
    tag_id: str = typer.Option("", help="only this tag"),
    limit: int = typer.Option(30, help="changes to show"),
) -> None:
    """Tag assignments and removals, newest first, with cause and trigger values."""

    async def run(clients: Clients) -> profile_pb2.ListTagHistoryResponse:
        request = profile_pb2.ListTagHistoryRequest(customer_id=customer_id, tag_id=tag_id)
        request.page.page_size = min(max(limit, 1), 1000)
        return await clients.profile.ListTagHistory(request)

    reply = run_command(ctx.obj, run)
    table = Table(title="Tag history (newest first)")
    for column in ("when", "account", "tag", "change", "v", "cause", "values"):
        table.add_column(column, overflow="fold")
    for c in reply.changes:
        values = ", ".join(f"{k}={fmt.attr(v)}" for k, v in sorted(c.trigger_values.items()))
        table.add_row(
            fmt.when(c.changed_at),
            c.customer_id,
            c.tag_id,
            "assigned" if c.assigned else "removed",
            str(c.rule_version),
            fmt.enum_name(profile_pb2.TagChangeCause, c.cause),
            values,
        )
    console.print(table)


# --------------------------------------------------------------------------- segment
async def query_segment(
    clients: Clients, expression: str, features: list[str], limit: int, include_terminated: bool = False
) -> tuple[int, list[profile_pb2.SegmentMember]]:
    """Count a segment and fetch up to `limit` members (paging through)."""
    members: list[profile_pb2.SegmentMember] = []
    token = ""
    count = 0
    while True:
        request = profile_pb2.QuerySegmentRequest(
            expression=expression, feature_names=features, include_terminated=include_terminated, count_only=limit == 0
        )
        request.page.page_size = min(1000, max(1, limit - len(members)))
        request.page.page_token = token
        reply = await clients.profile.QuerySegment(request, timeout=600)
        count = reply.count
        members.extend(reply.members)
        token = reply.page.next_page_token
        if not token or len(members) >= limit:
            return count, members[:limit]


async def check_features(clients: Clients, names: list[str]) -> None:
    """Fail with the unknown names when a --feature is not in profile's feature schema."""
    schema = await clients.profile.GetFeatureSchema(profile_pb2.GetFeatureSchemaRequest())
    known = {spec.name for spec in schema.features}
    unknown = [name for name in names if name not in known]
    if unknown:
        hints = {name: sorted(k for k in known if name.split("_")[0] in k)[:5] for name in unknown}
        raise CliError(
            "; ".join(
                f"--feature {name}: unknown feature" + (f" (similar: {', '.join(h)})" if h else "")
                for name, h in hints.items()
            )
            + " — the full list: profile's GetFeatureSchema"
        )


def write_segment_csv(path: pathlib.Path, members: list[profile_pb2.SegmentMember], features: list[str]) -> None:
    """Members as CSV: customer_id, name, tier and the requested features."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "name", "tier", *features])
        for m in members:
            writer.writerow(
                [
                    m.customer_id,
                    m.name,
                    fmt.tier(m.tier),
                    *(fmt.attr_py(m.features[f]) if f in m.features else "" for f in features),
                ]
            )


def segment(
    ctx: typer.Context,
    expression: str = typer.Argument("", help="e.g. \"tag(fee_drop_warning) and industry = 'GOV'\""),
    feature: list[str] = typer.Option([], "--feature", "-f", help="feature to show (repeatable)"),
    limit: int | None = typer.Option(None, help="members to show (default 20; with --csv: all)"),
    csv_path: pathlib.Path | None = typer.Option(None, "--csv", help="write members to this CSV file"),
    include_terminated: bool = typer.Option(False, help="include terminated accounts"),
) -> None:
    """Count the accounts matching an expression and show (or export) them."""
    wanted = limit if limit is not None else (20 if csv_path is None else 10**9)

    async def run(clients: Clients):
        if feature:
            await check_features(clients, feature)
        if csv_path is not None and not csv_path.resolve().parent.is_dir():
            raise CliError(f"--csv {csv_path}: directory {csv_path.resolve().parent} does not exist")
        return await query_segment(clients, expression, feature, wanted, include_terminated)

    count, members = run_command(ctx.obj, run)
    console.print(f"[bold]{count:,}[/] accounts match {expression or '(every active account)'}")
    if csv_path is not None:
        try:
            write_segment_csv(csv_path, members, feature)
        except OSError as error:
            print_error(err_console, CliError(f"--csv {csv_path}: {error.strerror or error}"))
            raise typer.Exit(1) from None
        console.print(f"wrote {len(members):,} rows to {csv_path}")
        return
    if not members:
        return
    table = Table()
    for column in ("account", "name", "tier", *feature):
        table.add_column(column)
    for m in members:
        table.add_row(
            m.customer_id,
            m.name,
            fmt.tier(m.tier),
            *(fmt.attr(m.features[f]) if f in m.features else "" for f in feature),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the commands to the application."""
    app.add_typer(account_group, name="account")
    app.add_typer(tags_group, name="tags")
    app.command("segment")(segment)
