"""The base of scoring's use-case classes (usecases layer): their shared dependencies.

Every capability module (models, train, score, score_all, reports) defines one class on
top of `UseCases`; `scoring_app.ScoringApp` combines them into the one object the servicer
calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import Context
from .jobs import start_job


class UseCases:
    """The context and the store runner every use case needs."""

    def __init__(self, ctx: Context, db_run: Callable[..., Any]) -> None:
        self.ctx = ctx
        self._db_run = db_run

    def _start_job(self, kind: str, body: Callable[[str, Any], str]) -> str:
        """Start a job whose body also learns its own job id (failures become clean sentences)."""
        return start_job(self.ctx.runner, kind, body)
