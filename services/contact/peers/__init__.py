"""Clients of the services contact depends on (peers layer): profile and scoring over gRPC.

They answer domain types and raise telco360_runtime.errors (peers.errors.PeerUnavailable)
instead of grpc.RpcError, so that no layer above them speaks gRPC.

Modules:
    errors      a failed peer call as telco360_runtime.errors.Unavailable
    cache       the TTL cache with a circuit breaker in front of one peer call
    profile     profile: account facts, feature schema, expression checks, account events
    scoring     scoring: the live churn and value score of an account
    accounts    `Peers`: an account's context, facts and schema from both, behind caches
"""
