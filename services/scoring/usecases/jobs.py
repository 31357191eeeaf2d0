"""Long work as jobs (usecases layer): start a job that knows its id, and word its failures.

A job's error message is a sentence: domain errors keep their own words, LightGBM's errors
and unexpected ones point at the server log, where the original traceback is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from telco360_runtime.errors import DomainError, FailedPrecondition
from telco360_runtime.logs import get_logger

from .context import Runner


class JobFailed(FailedPrecondition):
    """A job failed for a reason that is not the caller's input; its message is a sentence."""


def clean_failures(kind: str, job_id: str, body: Callable[[str, Any], str], progress: Any) -> str:
    """Run a job body so that its error message is a sentence, never a raw exception.

    Domain errors already say what is wrong in words. LightGBM's own errors quote its C++
    checks and anything else is a bug: both become a sentence pointing at the server log,
    where the original traceback is kept (chained).
    """
    try:
        return body(job_id, progress)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into a sentence; the cause stays chained for the log
        from lightgbm.basic import LightGBMError  # deferred: LightGBM loads slowly

        if not isinstance(exc, LightGBMError):
            raise JobFailed(
                f"the {kind.replace('_', ' ')} job failed unexpectedly; the server log has the details of job {job_id}"
            ) from exc
        get_logger().error("lightgbm_failed", job_id=job_id, kind=kind, error=type(exc).__name__)
        raise JobFailed(
            f"LightGBM could not train on this data with these parameters; "
            f"the server log has the details of job {job_id}"
        ) from exc


def start_job(runner: Runner, kind: str, body: Callable[[str, Any], str]) -> str:
    """Start a job whose body also learns its own job id (failures become clean sentences)."""
    ready = threading.Event()
    holder: dict[str, str] = {}

    def fn(progress: Any) -> str:
        ready.wait(10)
        return clean_failures(kind, holder.get("job_id", ""), body, progress)

    job_id = runner.start(kind, fn)
    holder["job_id"] = job_id
    ready.set()
    return job_id
