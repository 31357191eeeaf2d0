"""Prometheus metrics shared by all services (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_REQUESTS = Counter(
    "telco360_rpc_requests_total",
    "RPCs handled, by service, method and status code.",
    ["service", "method", "code"],
)
RPC_DURATION = Histogram(
    "telco360_rpc_duration_seconds",
    "RPC handling time in seconds.",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RPC_IN_FLIGHT = Gauge("telco360_rpc_in_flight", "RPCs being handled now.", ["service"])

_started_ports: set[int] = set()


def start_metrics_server(port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics on `port` (once per port per process; 0 = off)."""
    if port and port not in _started_ports:
        start_http_server(port, addr=host)
        _started_ports.add(port)
