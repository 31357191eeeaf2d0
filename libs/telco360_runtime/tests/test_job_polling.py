"""wait_job: one polling loop for every client of an asynchronous job."""

from __future__ import annotations

import pytest

from telco360.common.v1 import common_pb2
from telco360_runtime.proto_jobs import FINISHED, wait_job


class FakeJobs:
    """A job API whose job finishes after `rounds` polls (the real servers are tested per service)."""

    def __init__(self, rounds: int, final: int) -> None:
        self.rounds, self.final, self.calls = rounds, final, 0

    async def __call__(self, request: common_pb2.GetJobRequest) -> common_pb2.Job:
        self.calls += 1
        state = self.final if self.calls >= self.rounds else common_pb2.JOB_STATE_RUNNING
        return common_pb2.Job(job_id=request.job_id, state=state)


@pytest.mark.parametrize("final", sorted(FINISHED))
async def test_polls_until_a_finished_state_and_reports_each_state(final):
    jobs = FakeJobs(rounds=3, final=final)
    seen: list[int] = []
    done = await wait_job(
        jobs,
        common_pb2.Job(job_id="j1", state=common_pb2.JOB_STATE_PENDING),
        on_progress=lambda job: seen.append(job.state),
        poll_seconds=0,
    )
    assert done.state == final and jobs.calls == 3
    assert seen[0] == common_pb2.JOB_STATE_PENDING and seen[-1] == final


async def test_a_job_that_never_finishes_times_out():
    jobs = FakeJobs(rounds=10**9, final=common_pb2.JOB_STATE_SUCCEEDED)
    with pytest.raises(TimeoutError, match="j2"):
        await wait_job(
            jobs, common_pb2.Job(job_id="j2", state=common_pb2.JOB_STATE_RUNNING), poll_seconds=0.001, timeout=0.05
        )
