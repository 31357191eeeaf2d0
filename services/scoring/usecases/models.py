"""Model registry use cases (usecases layer): champions at start and from other replicas,
GetModel, ListModels, PromoteModel."""

from __future__ import annotations

import asyncio

from telco360_runtime.errors import FieldViolation, InvalidArgument

from ..domain.params import CHURN, VALUE
from ..domain.registry import ModelRecord
from .base import UseCases


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

    async def list_models(
        self, kind: str | None, page_size: int, page_token: str
    ) -> tuple[list[ModelRecord], str, int]:
        """A page of models, newest first."""
        if page_size < 0 or page_size > 1000:
            raise InvalidArgument(FieldViolation("page.page_size", "must be between 0 and 1000", "OUT_OF_RANGE"))
        return await self._db_run(self.ctx.store.list_models, kind, page_size, page_token)

    def resume_token(self, page_token: str, taken: int) -> str:
        """The ListModels token that resumes after `taken` items of the page `page_token` began
        (pages end early when their encoded size reaches the message limit)."""
        return self.ctx.store.resume_token(page_token, taken)

    async def promote(self, model_id: str) -> ModelRecord:
        """Make a model the champion: stored first, then swapped atomically in memory."""
        if not model_id:
            raise InvalidArgument(FieldViolation("model_id", "required", "REQUIRED"))
        record = await self._db_run(self.ctx.store.promote, model_id, self.ctx.clock())
        # Parsing the booster happens before the swap, off the event loop.
        await asyncio.get_running_loop().run_in_executor(self.ctx.executor(), self.ctx.serving.install, record)
        return record
