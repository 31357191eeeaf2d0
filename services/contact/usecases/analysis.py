"""Use cases of analysis: policy simulation (direct or as a job) and campaign metrics."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from services.contact.domain import metrics, simulation, validation
from services.contact.domain.decide import lookback
from services.contact.domain.model import Policy
from services.contact.store import catalogue as catalogue_repo
from services.contact.store import codec, runs
from services.contact.store.ledger import write_transaction
from services.contact.usecases.deps import Deps
from telco360_runtime.errors import FailedPrecondition, FieldViolation, InvalidArgument
from telco360_runtime.jobs import SUCCEEDED, Progress

MAX_PERIOD = dt.timedelta(days=366)


class AnalysisUseCases:
    """SimulatePolicy and GetCampaignMetrics."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _run_simulation(
        self,
        draft: Policy,
        replaces: list[str],
        start: dt.datetime,
        end: dt.datetime,
        progress: Progress | None = None,
    ) -> simulation.SimulationResult:
        with self.deps.db.session() as session:
            cat = self.deps.catalogue.get(session)
            replaced = set(replaces or [draft.policy_id])
            others = [p for p in cat.active_policies if p.policy_id not in replaced]
            reach = lookback([draft, *others])
            replay, account_records = runs.simulation_inputs(session, start, end, reach, self.deps.clock())
        report = None
        if progress is not None:

            def report(done: int, total: int) -> None:
                progress.update(done=done, total=total, message="replaying contacts")

        return simulation.simulate(
            dataclasses.replace(draft, active=True), others, replay, account_records, start, end, report
        )

    async def simulate(
        self, draft: Policy, replaces: list[str], start: dt.datetime | None, end: dt.datetime | None, as_job: bool
    ) -> tuple[simulation.SimulationResult | None, str]:
        """Simulate directly (result, "") or as a job (None, job id)."""
        validation.validate_policy(draft, "draft.")
        problems = []
        if start is None:
            problems.append(FieldViolation("period_start", "period_start is required", "REQUIRED"))
        if end is None:
            problems.append(FieldViolation("period_end", "period_end is required", "REQUIRED"))
        if start and end and not (start < end <= start + MAX_PERIOD):
            problems.append(
                FieldViolation("period_end", "period_end must be after start, at most 366 days", "BAD_RANGE")
            )
        if problems:
            raise InvalidArgument(problems)
        assert start is not None and end is not None
        if not as_job:

            def count() -> int:
                with self.deps.db.session() as session:
                    replay, _ = runs.simulation_inputs(session, start, end, dt.timedelta(0), self.deps.clock())
                return len(replay)

            if await self.deps.db.run(count) <= self.deps.config.simulation_direct_max_contacts:
                return await self.deps.db.run(self._run_simulation, draft, replaces, start, end), ""

        holder: list[str] = []
        ready = threading.Event()

        def job(progress: Progress) -> str:
            ready.wait(30)
            result = self._run_simulation(draft, replaces, start, end, progress)
            with write_transaction(self.deps.db) as session:
                runs.save_simulation(session, holder[0], codec.dumps(result))
            return holder[0]

        job_id = await self.deps.db.run(self.deps.runner.start, "simulate_policy", job)
        holder.append(job_id)
        ready.set()
        return None, job_id

    async def simulation_result(self, job_id: str) -> simulation.SimulationResult:
        """The stored result of a finished simulation job."""
        view = await self.deps.db.run(self.deps.jobs.get, job_id)

        def load() -> str | None:
            with self.deps.db.session() as session:
                return runs.load_simulation(session, job_id)

        payload = await self.deps.db.run(load)
        if view.state != SUCCEEDED or payload is None:
            raise FailedPrecondition(f"simulation job {job_id} is {view.state.lower()}", metadata={"state": view.state})
        return codec.loads(simulation.SimulationResult, payload)

    async def campaign_metrics(
        self, campaign_id: str, start: dt.datetime | None, end: dt.datetime | None
    ) -> metrics.CampaignMetrics:
        """Metrics of a campaign over a period (default: its start, or first change, to now)."""

        def tx() -> metrics.CampaignMetrics:
            with self.deps.db.session() as session:
                campaign = catalogue_repo.get_campaign(session, campaign_id)
                offers = {o.offer_id: o for o in catalogue_repo.all_offers(session)}
                now = self.deps.clock()
                period_start = start or campaign.starts_at or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                period_end = end or now
                proposals, contacts, acceptances = runs.campaign_period_facts(
                    session, campaign_id, campaign.offer_ids, period_start, period_end
                )
            return metrics.compute(campaign, offers, proposals, contacts, acceptances, period_start, period_end)

        return await self.deps.db.run(tx)
