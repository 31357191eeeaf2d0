"""The main job's pipeline (ordered steps) and its printed summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telco360_cli.commands.scoring import fetch_report
from telco360_cli.console import console
from telco360_cli.demo import steps_campaign, steps_contact, steps_data, steps_models, steps_value, summary
from telco360_cli.demo.state import DemoState
from telco360_cli.errors import CliError
from telco360_cli.rpc import Clients

Step = Callable[[DemoState, Clients], Awaitable[None]]


async def write_reports(state: DemoState, clients: Clients) -> None:
    """Fetch both models' evaluation reports and write the one-page summary."""
    for model in state.models.values():
        state.reports.append(await fetch_report(clients, model.model_id, state.out_dir))
    state.summary_path = summary.write(state)
    for path in [*state.reports, state.summary_path]:
        if path.stat().st_size == 0:
            raise CliError(f"{path} is empty")
        console.print(f"wrote {path}")


PIPELINE: list[tuple[str, Step]] = [
    ("generate the key-account base", steps_data.generate_base),
    ("ingest through the ingest API", steps_data.ingest_base),
    ("quarantine: list and replay corrected records", steps_data.show_and_replay_quarantine),
    ("profile catches up with the log", steps_data.wait_profile),
    ("tags and segments", steps_data.tags_and_segments),
    ("train churn and value models", steps_models.train_models),
    ("batch-score the base", steps_models.batch_score),
    ("value beyond revenue: margin, lifetime value, clusters, outliers", steps_value.value_analytics),
    ("contact: offers and policy", steps_contact.configure_contact),
    ("contact: last quarter's contact history", steps_contact.record_history),
    ("next-best-offers for inbound calls", steps_contact.next_best_offers),
    ("simulate a stricter contact policy", steps_contact.simulate_strict_policy),
    ("a retention campaign with a control group", steps_campaign.run_campaign),
    ("write the evaluation reports and summary", write_reports),
]


def print_final_summary(state: DemoState) -> None:
    """The summary printed at the end of a successful run."""
    console.rule("[bold green]Telco360 demo summary")
    for label, text in state.headline.items():
        console.print(f"[bold]{label}:[/] {text}", highlight=False)
    for name, seconds in state.timings:
        console.print(f"[dim]  {name:48} {seconds:7.1f} s[/]")
    if state.summary_path:
        console.print(f"[bold]summary:[/] {state.summary_path}")
    for path in state.reports:
        console.print(f"[bold]report:[/] {path}")
