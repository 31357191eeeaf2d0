"""Model reports (usecases layer): render a model's HTML report and write it to a file.

GetReport writes into the configured report directory (atomically, through a temporary
file); the report CLI (api/report_cli.py) reads the model straight from a store URL and
writes wherever the operator asks, without a running server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os

from telco360_runtime.db import Database
from telco360_runtime.errors import FieldViolation, InvalidArgument

from ..domain.report import render_report
from ..store import ScoringStore
from .base import UseCases
from .context import Context


def write_report(ctx: Context, model_id: str) -> tuple[str, str, dt.datetime]:
    """Render a model's report into the report directory: (path, html, generated_at)."""
    record = ctx.store.get_model(model_id)
    now = ctx.clock()
    document = render_report(record, now)
    os.makedirs(ctx.config.report_dir, exist_ok=True)
    path = os.path.abspath(os.path.join(ctx.config.report_dir, f"{model_id}.html"))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(document)
    os.replace(tmp, path)
    return path, document, now


def write_report_file(database_url: str, model_id: str, out: str) -> None:
    """Read a model from the store at `database_url` and write its report to `out`
    (NotFound for an unknown id, before anything is written)."""
    db = Database(database_url, workers=1)
    try:
        record = ScoringStore(db).get_model(model_id)
    finally:
        db.dispose()
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(render_report(record, dt.datetime.now(dt.UTC)))


class ReportUseCases(UseCases):
    """GetReport."""

    # -- reports ----------------------------------------------------------------------

    def write_report(self, model_id: str) -> tuple[str, str, dt.datetime]:
        """Render a model's report into the report directory: (path, html, generated_at)."""
        return write_report(self.ctx, model_id)

    async def report(self, model_id: str) -> tuple[str, str, dt.datetime]:
        """GetReport: render (in the CPU pool; plotting is slow) and return the document."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        return await asyncio.get_running_loop().run_in_executor(self.ctx.executor(), self.write_report, model_id)
