"""Demo steps about data: generate, ingest (with quarantine), profile catch-up, tags and segments."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2
from telco360_cli import fmt
from telco360_cli.commands.ingest import ingest_records, print_ingest_summary, violations_text
from telco360_cli.commands.profile import list_tags, query_segment, tag_counts
from telco360_cli.console import console, progress_bar
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients
from telco360_datagen import generate
from telco360_runtime.timeconv import to_timestamp

#: Share of generated accounts given a planted anomaly (usage surge, arrears, line burst, ...).
DEMO_ANOMALY_SHARE = 0.02
#: Records per account-month the generator emits on average (to size the bad-record share).
_RECORDS_PER_ACCOUNT_MONTH = 11.6  # 6.5 without cost records


async def generate_base(state: DemoState, clients: Clients) -> None:
    """Plan a seeded base of key accounts (records are built lazily while ingesting)."""
    o = state.options
    share = min(0.5, o.bad_records / max(1.0, o.accounts * o.months * _RECORDS_PER_ACCOUNT_MONTH))
    # Cost records give margin and lifetime value something real to measure; a few planted
    # anomalies (truth kept aside) show what the outlier review finds.
    state.base = generate(
        o.accounts,
        o.months,
        o.seed,
        end_month=state.end_month,
        bad_record_share=share,
        anomaly_share=DEMO_ANOMALY_SHARE,
        cost_records=True,
    )
    truth = state.base.truth
    churners = sum(1 for a in truth.accounts.values() if a.churn_month)
    console.print(
        f"{len(truth.accounts):,} key accounts, months {truth.months[0]} … {truth.months[-1]}; "
        f"{churners:,} will terminate during the period (ground truth, kept aside for checking)"
    )


async def ingest_base(state: DemoState, clients: Clients) -> None:
    """Stream every record through the ingest API; bad ones must land in quarantine."""
    expected = int(state.options.accounts * state.options.months * _RECORDS_PER_ACCOUNT_MONTH)
    began = time.monotonic()
    with progress_bar() as bar:
        task = bar.add_task("ingesting records", total=expected)
        summary = await ingest_records(clients, state.base.records(), lambda n: bar.advance(task, n))
        bar.update(task, total=summary.sent, completed=summary.sent)
    seconds = time.monotonic() - began
    print_ingest_summary(summary)
    stats = await clients.ingest.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    bad = len(state.base.truth.bad_records)
    rejected = summary.count(ingest_pb2.RECORD_STATUS_REJECTED)
    console.print(
        f"ingest store: {stats.records:,} records, {stats.log_entries:,} log entries, "
        f"{stats.customers:,} customers, {stats.quarantined:,} quarantined "
        f"({summary.sent / seconds:,.0f} records/s)"
    )
    if rejected < bad or stats.quarantined < bad:
        raise CliError(
            f"{bad} records were made bad but only {rejected} were rejected ({stats.quarantined} in quarantine)"
        )
    if stats.customers != state.options.accounts:
        raise CliError(f"ingest knows {stats.customers} customers, expected {state.options.accounts}")
    state.ingest = {
        "sent": summary.sent,
        "rejected": rejected,
        "quarantined": stats.quarantined,
        "log_entries": stats.log_entries,
        "customers": stats.customers,
        "last_sequence": stats.last_sequence,
    }
    state.headline["records ingested"] = (
        f"{summary.sent:,} sent, {stats.log_entries:,} in the log, {rejected:,} rejected into quarantine"
    )


async def show_and_replay_quarantine(state: DemoState, clients: Clients) -> None:
    """List the quarantine and replay a few entries with their corrected payloads."""
    request = ingest_pb2.ListQuarantineRequest()
    request.page.page_size = 1000
    reply = await clients.ingest.ListQuarantine(request)
    for entry in reply.entries[:5]:
        console.print(
            f"  {entry.quarantine_id}  {entry.record.source}/{entry.record.source_record_id}: "
            f"{violations_text(entry.violations)}",
            highlight=False,
        )
    truth = state.base.truth.bad_records
    corrections: list[ingest_pb2.QuarantineCorrection] = []
    for entry in reply.entries:
        bad = truth.get((entry.record.source, entry.record.source_record_id))
        if bad is not None and len(corrections) < 5:
            corrections.append(ingest_pb2.QuarantineCorrection(quarantine_id=entry.quarantine_id, record=bad.corrected))
    if not corrections:
        raise CliError("no quarantined record matched a known bad record: nothing to replay")
    replay = await clients.ingest.ReplayQuarantine(ingest_pb2.ReplayQuarantineRequest(corrections=corrections))
    console.print(
        f"replayed {len(corrections)} corrected records: {replay.moved} moved into the log, "
        f"{replay.still_rejected} still rejected"
    )
    if replay.moved != len(corrections):
        raise CliError("corrected records did not all pass validation on replay")
    state.ingest["replayed"] = replay.moved
    stats = await clients.ingest.GetIngestStats(ingest_pb2.GetIngestStatsRequest())
    state.ingest["last_sequence"] = stats.last_sequence
    state.ingest["log_entries"] = stats.log_entries


async def wait_profile(state: DemoState, clients: Clients, timeout: float = 1800) -> None:
    """Wait until profile has applied the whole ingest log and knows every account."""
    target = state.ingest["last_sequence"]
    expected = state.ingest["customers"]
    deadline = time.monotonic() + timeout
    with progress_bar() as bar:
        task = bar.add_task("profile applying the log", total=target)
        while True:
            sync = await clients.profile.GetSyncStatus(profile_pb2.GetSyncStatusRequest())
            bar.update(task, completed=min(sync.applied_sequence, target))
            # After a bulk catch-up profile recomputes the queued accounts once: wait for them too.
            if sync.applied_sequence >= target and sync.accounts >= expected:
                break
            if time.monotonic() > deadline:
                raise CliError(
                    f"profile applied {sync.applied_sequence} of {target} entries and knows "
                    f"{sync.accounts} of {expected} accounts after {timeout:.0f} s"
                )
            await asyncio.sleep(1.0)
    if sync.accounts != expected:
        raise CliError(f"profile knows {sync.accounts} accounts, ingest {expected}")
    await _wait_recompute(clients, max(deadline - time.monotonic(), 60.0))
    console.print(
        f"profile: {sync.accounts:,} accounts, cursor at {sync.applied_sequence:,}, "
        f"{sync.last_event_sequence:,} account events published"
    )
    state.ingest["profile_accounts"] = sync.accounts


async def _wait_recompute(clients: Clients, timeout: float) -> None:
    """Wait until profile's cached account view agrees with its point-in-time features
    and profile no longer reports itself settling (revenue shares re-ranked on the full base).

    Profile's cursor reaches the end of the log before its post-catch-up recompute has
    rewritten the accounts it queued (status, tier, tags). Segments read that cached view;
    ExportFeatures computes from the facts. Counting tiers before the two agree counted
    accounts that had already terminated as active (about 10 % of the 400-account base),
    which ScoreAll, exporting later, rightly did not score.
    """
    deadline = time.monotonic() + timeout
    while True:
        cached, _ = await query_segment(clients, "", [], 0)
        request = profile_pb2.ExportFeaturesRequest(
            as_of=to_timestamp(dt.datetime.now(dt.UTC)), batch_size=5000, feature_names=["status"]
        )
        exported = 0
        async for batch in clients.profile.ExportFeatures(request, timeout=600):
            exported += len(batch.vectors)
        sync = await clients.profile.GetSyncStatus(profile_pb2.GetSyncStatusRequest())
        if cached == exported and not sync.settling:  # settling: value tiers about to be re-ranked
            return
        if time.monotonic() > deadline:
            console.print(
                f"[yellow]profile still recomputing: {cached:,} active accounts in its cached view, "
                f"{exported:,} from its facts[/yellow]"
            )
            return
        await asyncio.sleep(1.0)


async def tags_and_segments(state: DemoState, clients: Clients) -> None:
    """Counts per tier and tag, and a few segments an analyst would ask for."""
    members: list[profile_pb2.SegmentMember]
    count, members = await query_segment(clients, "", [], 10**9)
    tiers: dict[str, int] = {}
    for m in members:
        tiers[fmt.tier(m.tier)] = tiers.get(fmt.tier(m.tier), 0) + 1
    state.tier_counts = tiers
    console.print(
        f"{count:,} active accounts by {fmt.SERVICE_TIER} (master data): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(tiers.items()))
    )
    definitions = [d for d in await list_tags(clients) if d.enabled]
    counts = await tag_counts(clients, [d.tag_id for d in definitions])
    # English names in charts: the Chinese terms in parentheses need CJK fonts to render.
    state.tag_counts = {d.tag_id: (d.display_name.split(" (")[0], counts[d.tag_id]) for d in definitions}
    for d in definitions:
        console.print(f"  {d.display_name:32} {counts[d.tag_id]:6,}  ({d.category})")
    if not any(counts.values()):
        raise CliError("no account holds any tag")
    segments = [
        ("Valuable accounts showing a fee drop", "tag(vip) and tag(fee_drop)"),
        (
            "Competitor approaching, contract ending within 6 months",
            "competitor_active_approach and months_to_contract_end between 0 and 6",
        ),
        (
            "Government and education accounts with low satisfaction",
            "industry in ('GOV', 'EDU') and tag(low_satisfaction)",
        ),
        ("Total fee down 10 %+ against own reference", "fee_total_vs_ref3_pct <= -10"),
    ]
    for title, expression in segments:
        n, sample = await query_segment(clients, expression, ["fee_total_last_month"], 3)
        state.segments.append((title, expression, n))
        shown = ", ".join(
            f"{m.customer_id} ({fmt.yuan_short(fmt.attr_number(m.features['fee_total_last_month']))}/month)"
            for m in sample
            if "fee_total_last_month" in m.features
        )
        console.print(f"  {title}: [bold]{n:,}[/]  e.g. {shown}", highlight=False)
    state.headline["tags"] = ", ".join(f"{name} {n:,}" for name, n in state.tag_counts.values() if n)
