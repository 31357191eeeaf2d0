"""The scoring use cases behind every rpc, as one object (usecases layer).

api/servicer.py converts protobuf and calls these. Each capability lives in its own module
(models, train, score, score_all, reports, erasure, analytics); `ScoringApp` combines them. Async methods run
on the server's event loop: validation, the profile call and the store calls (in the
store's pool) are awaited; CPU-bound work runs in a small thread pool; long work starts a
job and answers its id at once.
"""

from __future__ import annotations

from .analytics import AnalyticsUseCases
from .erasure import ErasureUseCases
from .models import ModelUseCases
from .reports import ReportUseCases
from .score import ScoreUseCases
from .score_all import ScoreAllUseCases
from .train import TrainUseCases


class ScoringApp(
    ModelUseCases, TrainUseCases, ScoreUseCases, ScoreAllUseCases, ReportUseCases, ErasureUseCases, AnalyticsUseCases
):
    """Use cases of the scoring service."""
