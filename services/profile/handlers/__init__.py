"""gRPC servicer of ProfileService, assembled from one handler group per area.

Each group converts protobuf to domain values and back and delegates to the store; none
holds business logic.
"""

from __future__ import annotations

from services.profile.handlers.accounts import AccountHandlers
from services.profile.handlers.features import FeatureHandlers
from services.profile.handlers.segments import SegmentHandlers
from services.profile.handlers.sync import SyncHandlers
from services.profile.handlers.tags import TagHandlers
from telco360.profile.v1 import profile_pb2_grpc


class ProfileServicer(AccountHandlers, FeatureHandlers, TagHandlers, SegmentHandlers, SyncHandlers,
                      profile_pb2_grpc.ProfileServiceServicer):
    """The ProfileService implementation."""


__all__ = ["ProfileServicer"]
