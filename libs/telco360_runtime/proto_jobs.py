"""Conversion of stored jobs to the `telco360.common.v1.Job` message."""

from __future__ import annotations

from telco360.common.v1 import common_pb2

from telco360_runtime.jobs import JobView
from telco360_runtime.timeconv import to_timestamp


def job_to_proto(view: JobView) -> common_pb2.Job:
    """The protobuf Job for a stored job."""
    job = common_pb2.Job(
        job_id=view.job_id, kind=view.kind, state=common_pb2.JobState.Value(f"JOB_STATE_{view.state}"),
        done=view.done, total=view.total, message=view.message, error_message=view.error_message,
        result_ref=view.result_ref, created_at=to_timestamp(view.created_at),
    )
    if view.finished_at is not None:
        job.finished_at.CopyFrom(to_timestamp(view.finished_at))
    return job
