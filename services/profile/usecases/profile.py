"""Use cases layer: ProfileUseCases, every capability of profile on one store (see the mixed-in modules)."""

from __future__ import annotations

from services.profile.usecases.accounts import AccountCases
from services.profile.usecases.apply_log import ApplyLogCases
from services.profile.usecases.erasure import ErasureCases
from services.profile.usecases.features import FeatureCases
from services.profile.usecases.reevaluation import ReevaluationCases
from services.profile.usecases.segments import SegmentCases
from services.profile.usecases.sync import EventFeedCases
from services.profile.usecases.tags import TagCases


class ProfileUseCases(
    ApplyLogCases, ReevaluationCases, AccountCases, ErasureCases, FeatureCases, TagCases, SegmentCases, EventFeedCases
):
    """The use cases the servicer, the log follower and the scheduler call."""


__all__ = ["ProfileUseCases"]
