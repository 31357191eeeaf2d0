"""The one server interceptor every service uses.

For each call it: takes the request id from metadata (or makes one) and returns it,
authenticates the caller (auth.py), checks the method's role table entry and request size
(access.py) before the handler runs, binds request id / method / role / subject / account
scope / deadline into contextvars, maps
domain errors to rich gRPC statuses, answers a store outage UNAVAILABLE naming the
database (db.unavailable_error), turns any other exception into INTERNAL with a logged
traceback, writes one log line per RPC (method, code, duration, request id; successful health and
reflection probes at DEBUG, everything else at INFO) and records
Prometheus metrics. The code logged (and counted) is the one the client got: a call that
did not complete is DEADLINE_EXCEEDED once its deadline passed, UNAVAILABLE when the server
cut it at the end of its shutdown grace period, CANCELLED otherwise (the client went away),
never OK; a handler that set a code with `ctx.set_code` is logged with it.
Works for all four handler kinds of grpc.aio. Request bytes that do not
decode answer INVALID_ARGUMENT (reason UNDECODABLE; see decoding.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

import grpc
import structlog

from telco360_runtime import auth, context, decoding, metrics
from telco360_runtime.access import ADMIN_ONLY, Access
from telco360_runtime.db import nul_text_error, unavailable_error
from telco360_runtime.errors import DomainError, PermissionDenied, Unavailable
from telco360_runtime.status import MESSAGE_MAX, clip, status_for

_PEER_DOWN = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# Probes, not work: container health checks call Health every few seconds per replica, and
# tools poll reflection. Their successful calls are logged at DEBUG so INFO logs show RPCs.
_ROUTINE_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# The server's copy of a deadline runs from when the call arrived, a little after the
# client's: a client whose deadline fired cancels the call while the server still sees
# some time left. Calls ended this close to their deadline are logged DEADLINE_EXCEEDED.
_DEADLINE_SKEW_S = 0.25


def rpc_log_level(method: str, code: grpc.StatusCode) -> str:
    """The level of the one log line per RPC: DEBUG for successful probes, INFO otherwise."""
    return "debug" if code == grpc.StatusCode.OK and method.startswith(_ROUTINE_PREFIXES) else "info"


class _CallScope:
    """Everything the interceptor does around one call, shared by all handler kinds."""

    def __init__(self, owner: ServerInterceptor, method: str, ctx: grpc.aio.ServicerContext) -> None:
        self.service, self.method, self.ctx = owner.service, method, ctx
        self._owner = owner
        self.code = grpc.StatusCode.OK
        self.started = time.perf_counter()
        self.log = structlog.get_logger()
        self._tokens: list = []

    async def __aenter__(self) -> _CallScope:
        meta = {k: v for k, v in (self.ctx.invocation_metadata() or ()) if isinstance(v, str)}
        rid = meta.get(context.REQUEST_ID_HEADER) or context.new_request_id()
        self._tokens = context.bind(rid, self.method, self.ctx.time_remaining())
        self._decoding = decoding.begin_call()
        structlog.contextvars.bind_contextvars(request_id=rid, method=self.method)
        metrics.RPC_IN_FLIGHT.labels(self.service).inc()
        # The id goes back in the trailers: sending initial metadata early costs a separate
        # write per call (~30 % of a small call's server time); trailers travel with the status.
        self._rid = rid
        self.ctx.set_trailing_metadata(((context.REQUEST_ID_HEADER, rid),))
        self._metadata = meta
        return self

    def interrupted(self) -> grpc.StatusCode:
        """The code a client got for a call that ended before its handler did."""
        cut_at = self._owner.cut_at
        if cut_at is not None and time.monotonic() >= cut_at:
            return grpc.StatusCode.UNAVAILABLE  # what grpc answers calls cut at shutdown
        remaining = self.ctx.time_remaining()
        if remaining is not None and remaining <= _DEADLINE_SKEW_S:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED

    def authenticate(self) -> None:
        """Resolve the caller (raises Unauthenticated), bind it to the call, and check the
        method's role table entry (raises PermissionDenied) before any handler runs."""
        caller = self._owner.authenticator.identify(self.method, self._metadata)
        context.set_caller(caller.role, caller.subject, caller.scope)
        if self.method.startswith(auth.OPEN_METHOD_PREFIXES):
            return
        if not self._owner.access_for(self.method).allows(caller.role):
            raise PermissionDenied(f"role '{caller.role}' may not call {self.method.rsplit('/', 1)[-1]}")

    async def _abort(self, error: DomainError) -> None:
        status = status_for(error)
        self.code = status.code
        if status.code == grpc.StatusCode.UNAVAILABLE:
            # "A dependency is down" is this call's answer: sending headers first commits the
            # call, so callers' channel retry policies (meant for a lost connection or a
            # draining replica) do not repeat it; callers degrade or retry on their own terms.
            await self.ctx.send_initial_metadata(())
        await self.ctx.abort(
            status.code, status.details, (*status.trailing_metadata, (context.REQUEST_ID_HEADER, self._rid))
        )

    async def handle(self, error: BaseException) -> None:
        """Translate an exception escaping the handler into a gRPC status (always raises)."""
        if isinstance(error, asyncio.CancelledError):
            self.code = self.interrupted()
            raise error
        if isinstance(error, grpc.aio.AbortError):
            self.code = self.ctx.code() or grpc.StatusCode.UNKNOWN
            raise error
        if isinstance(error, DomainError):
            await self._abort(error)
        if isinstance(error, grpc.aio.AioRpcError) and error.code() in _PEER_DOWN:
            await self._abort(Unavailable("peer", f"a dependency did not answer: {error.code().name}"))
        if isinstance(error, grpc.aio.AioRpcError):
            # A peer refused our request: pass its code on, not its internals.
            self.code = error.code()
            await self.ctx.abort(
                error.code(), clip(f"a dependency answered {error.code().name}: {error.details()}", MESSAGE_MAX)
            )
        unavailable = unavailable_error(error)
        if unavailable is not None:
            # The store is down (db.unavailable_error): the caller retries later; health
            # reports it through the store probe. The class alone says what happened.
            self.log.warning("store_unavailable", error=type(error).__name__)
            await self._abort(unavailable)
        bad_text = nul_text_error(error)
        if bad_text is not None:
            self.log.info("store_refused_text", error=type(error).__name__)
            await self._abort(bad_text)
        self.log.error("unhandled_error", exc_info=error)
        self.code = grpc.StatusCode.INTERNAL
        await self.ctx.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log for the request id")

    async def __aexit__(self, *exc: Any) -> None:
        duration = time.perf_counter() - self.started
        if self.code == grpc.StatusCode.OK:
            set_code = self.ctx.code()
            if set_code is not None and set_code != grpc.StatusCode.OK:
                self.code = set_code  # the handler answered with ctx.set_code, not an exception
            elif self.ctx.cancelled():
                self.code = self.interrupted()  # the client never got the answer
        metrics.RPC_IN_FLIGHT.labels(self.service).dec()
        metrics.RPC_REQUESTS.labels(self.service, self.method, self.code.name).inc()
        metrics.RPC_DURATION.labels(self.service, self.method).observe(duration)
        metrics.WORKER_RPCS.labels(self.service).inc()
        log_at = getattr(self.log, rpc_log_level(self.method, self.code))
        log_at("rpc", code=self.code.name, duration_ms=round(duration * 1000, 3))
        structlog.contextvars.unbind_contextvars("request_id", "method")
        context.reset(self._tokens)
        decoding.end_call(self._decoding)


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every handler with `_CallScope`."""

    def __init__(
        self,
        service: str,
        authenticator: auth.Authenticator | Mapping[str, str],
        access: Mapping[str, Access] | None = None,
    ) -> None:
        self.service = service
        # A mapping is a static token table (tests, development).
        self.authenticator: auth.Authenticator = (
            authenticator
            if not isinstance(authenticator, Mapping)
            else (auth.StaticTokens(authenticator) if authenticator else auth.NoAuthentication())
        )
        self.access = dict(access or {})
        # Monotonic time from which the server cuts calls still running (end of the shutdown
        # grace period; set by GrpcService.stop): their clients get UNAVAILABLE.
        self.cut_at: float | None = None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        limit = None if method.startswith(auth.OPEN_METHOD_PREFIXES) else self.access_for(method).max_request_kb * 1024
        unary_in = decoding.guard_unary(handler.request_deserializer, limit)
        stream_in = decoding.guard_stream(handler.request_deserializer, limit)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method), unary_in, handler.response_serializer
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap_unary(handler.stream_unary, method), stream_in, handler.response_serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method), unary_in, handler.response_serializer
            )
        return grpc.stream_stream_rpc_method_handler(
            self._wrap_stream(cast(Callable[..., Any], handler.stream_stream), method),
            stream_in,
            handler.response_serializer,
        )

    def access_for(self, method: str) -> Access:
        """The role table entry of a full method name; a method without one is admin-only."""
        return self.access.get(method, ADMIN_ONLY)

    def _scope(self, method: str, ctx: grpc.aio.ServicerContext) -> _CallScope:
        return _CallScope(self, method, ctx)

    def _wrap_unary(self, behaviour: Callable, method: str) -> Callable:
        async def wrapped(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            async with self._scope(method, ctx) as scope:
                try:
                    scope.authenticate()
                    if isinstance(request, decoding.Undecodable):
                        raise request.error()
                    return await behaviour(request, ctx)
                except BaseException as error:  # noqa: BLE001 - mapped to a status
                    await scope.handle(error)

        return wrapped

    def _wrap_stream(self, behaviour: Callable, method: str) -> Callable:
        async def wrapped(request: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async with self._scope(method, ctx) as scope:
                try:
                    scope.authenticate()
                    if isinstance(request, decoding.Undecodable):
                        raise request.error()
                    result = behaviour(request, ctx)
                    if hasattr(result, "__aiter__"):
                        async for response in result:
                            yield response
                    else:  # handler wrote with ctx.write() and returned a coroutine
                        await result
                except BaseException as error:  # noqa: BLE001 - mapped to a status
                    if isinstance(error, GeneratorExit):
                        # grpc closed the stream while it waited at a `yield`: the client
                        # went away or the server cut the call; it did not get OK.
                        scope.code = scope.interrupted()
                        raise
                    await scope.handle(error)

        return wrapped
