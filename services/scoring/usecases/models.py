"""Model registry use cases (usecases layer): champions at start and from other replicas,
GetModel, ListModels (keyset pages, telco360_runtime.paging), PromoteModel."""

from __future__ import annotations

import asyncio
import datetime as dt

from telco360_runtime.errors import FieldViolation, InvalidArgument
from telco360_runtime.paging import PageMessage, encode_token, page_violation, read_page, scope_of

from ..domain.params import CHURN, VALUE
from ..domain.registry import ModelRecord
from .base import UseCases


def models_scope(kind: str | None) -> str:
    """The page-token scope of ListModels for one kind filter."""
    return scope_of("scoring.ListModels", kind or "")


def model_key(record: ModelRecord) -> str:
    """The sort key of a model in ListModels: its creation time (UTC, ISO) and id."""
    return f"{record.created_at.astimezone(dt.UTC).isoformat()}|{record.model_id}"


def _model_key(key: str) -> tuple[dt.datetime, str]:
    created, sep, model_id = key.partition("|")
    try:
        when = dt.datetime.fromisoformat(created)
    except ValueError:
        when = None
    if not sep or not model_id or when is None or when.tzinfo is None:
        raise page_violation("is not a page token from this listing")
    return when, model_id


class ModelUseCases(UseCases):
    """Champions and the model registry."""

    # -- lifecycle --------------------------------------------------------------------

    def load_champions(self) -> bool:
        """Install the stored champions (start-up, and when another replica promoted)."""
        return self.ctx.serving.sync(self.ctx.store.champions())

    async def refresh_champions(self) -> bool:
        """Pick up promotions made by other replicas (cheap id check first)."""
        ids = await self._db_run(self.ctx.store.champion_ids)
        current = self.ctx.serving.current
        if all(((m.model_id if (m := current.get(k)) else None) == ids.get(k)) for k in (CHURN, VALUE)):
            return False
        return await self._db_run(self.load_champions)

    # -- registry ---------------------------------------------------------------------

    async def get_model(self, model_id: str) -> ModelRecord:
        """One model version (NotFound for an unknown id)."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        return await self._db_run(self.ctx.store.get_model, model_id, False)

    async def list_models(self, kind: str | None, page: PageMessage) -> tuple[list[ModelRecord], str, int]:
        """A page of models, newest first: (records, next page token, total of the listing).

        Keyset paging on (created_at, model_id): a model trained meanwhile is neither skipped
        nor repeated. The page request is checked here (telco360_runtime.paging)."""
        asked = read_page(page, scope=models_scope(kind))
        after = _model_key(asked.after) if asked.after else None
        records, more, total = await self._db_run(self.ctx.store.list_models, kind, asked.size, after)
        return records, asked.next_token(model_key(records[-1])) if more and records else "", total

    def resume_token(self, kind: str | None, last_sent: ModelRecord) -> str:
        """The ListModels token that resumes after `last_sent` (pages end early when their
        encoded size reaches the message limit)."""
        return encode_token(models_scope(kind), model_key(last_sent))

    async def promote(self, model_id: str) -> ModelRecord:
        """Make a model the champion: stored first, then swapped atomically in memory."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        record = await self._db_run(self.ctx.store.promote, model_id, self.ctx.clock())
        # Parsing the booster happens before the swap, off the event loop.
        await asyncio.get_running_loop().run_in_executor(self.ctx.executor(), self.ctx.serving.install, record)
        return record
