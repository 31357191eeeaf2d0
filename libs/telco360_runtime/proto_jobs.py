"""Jobs over gRPC: stored jobs as `telco360.common.v1.Job`, and polling one until it ends
(the CLI, tests and benches all wait for jobs with `wait_job`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

from telco360.common.v1 import common_pb2
from telco360_runtime.jobs import JobView
from telco360_runtime.timeconv import to_timestamp


def job_to_proto(view: JobView) -> common_pb2.Job:
    """The protobuf Job for a stored job."""
    job = common_pb2.Job(
        job_id=view.job_id,
        kind=view.kind,
        state=cast(common_pb2.JobState, common_pb2.JobState.Value(f"JOB_STATE_{view.state}")),
        done=view.done,
        total=view.total,
        message=view.message,
        error_message=view.error_message,
        result_ref=view.result_ref,
        created_at=to_timestamp(view.created_at),
    )
    if view.finished_at is not None:
        job.finished_at.CopyFrom(to_timestamp(view.finished_at))
    return job


JobGetter = Callable[[common_pb2.GetJobRequest], Awaitable[common_pb2.Job]]
FINISHED = {common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED, common_pb2.JOB_STATE_CANCELLED}


async def wait_job(
    get_job: JobGetter,
    job: common_pb2.Job,
    on_progress: Callable[[common_pb2.Job], None] | None = None,
    poll_seconds: float = 0.5,
    timeout: float = 3600.0,
) -> common_pb2.Job:
    """Poll a long-running job until it finishes; call on_progress with each state seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while job.state not in FINISHED:
        if on_progress:
            on_progress(job)
        if loop.time() > deadline:
            raise TimeoutError(f"job {job.job_id} ({job.kind}) did not finish within {timeout:.0f} s")
        await asyncio.sleep(poll_seconds)
        job = await get_job(common_pb2.GetJobRequest(job_id=job.job_id))
    if on_progress:
        on_progress(job)
    return job
