"""API layer: the gRPC servicer of ProfileService, assembled from one handler group per area.

Each group converts protobuf to domain values and back and delegates to the store; none
holds business logic.
"""

from __future__ import annotations

import functools
import inspect

from services.profile.api import validation
from services.profile.api.accounts import AccountHandlers
from services.profile.api.erasures import ErasureHandlers
from services.profile.api.features import FeatureHandlers
from services.profile.api.segments import SegmentHandlers
from services.profile.api.sync import SyncHandlers
from services.profile.api.tags import TagHandlers
from telco360.profile.v1 import profile_pb2_grpc


class ProfileServicer(
    AccountHandlers,
    ErasureHandlers,
    FeatureHandlers,
    TagHandlers,
    SegmentHandlers,
    SyncHandlers,
    profile_pb2_grpc.ProfileServiceServicer,
):
    """The ProfileService implementation."""


def _checked(method, check):
    """`method` with its request validated (validation.check_<rpc>) before any work."""
    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def stream(self, request, context):
            check(request)
            async for item in method(self, request, context):
                yield item

        return stream

    @functools.wraps(method)
    async def unary(self, request, context):
        check(request)
        return await method(self, request, context)

    return unary


# Every request is bounded in one place (api/validation.py), before its handler runs.
for _name in profile_pb2_grpc.ProfileServiceServicer.__dict__:
    _check = getattr(validation, f"check_{_name}", None)
    if _check is not None:
        setattr(ProfileServicer, _name, _checked(getattr(ProfileServicer, _name), _check))


__all__ = ["ProfileServicer"]
