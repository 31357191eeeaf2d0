"""Prometheus metrics shared by all services.

One process (`workers` = 1): one registry in the process, served on `metrics_port`.
Several worker processes (workers.py): prometheus_client's multiprocess mode. The parent
sets `PROMETHEUS_MULTIPROC_DIR` before it starts the workers, each worker writes its values
to its own files there, and the parent alone serves `metrics_port`, aggregating every
worker's files (`MultiProcessCollector`): counters and histograms are summed over workers,
`telco360_rpc_in_flight` is summed over live workers, and `telco360_worker_rpcs_handled`
keeps one sample per worker (label `pid`), which shows how calls spread over the workers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

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
RPC_IN_FLIGHT = Gauge("telco360_rpc_in_flight", "RPCs being handled now.", ["service"], multiprocess_mode="livesum")
WORKER_RPCS = Gauge(
    "telco360_worker_rpcs_handled",
    "RPCs this worker process has finished since it started (with several workers: one sample per pid).",
    ["service"],
    multiprocess_mode="all",
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
_started_ports: set[int] = set()


def start_metrics_server(port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics on `port` (once per port per process; 0 = off)."""
    if port and port not in _started_ports:
        start_http_server(port, addr=host)
        _started_ports.add(port)


def start_multiprocess_metrics_server(port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics on `port` aggregated over the worker processes writing to
    `$PROMETHEUS_MULTIPROC_DIR` (the parent of the workers calls this; 0 = off)."""
    from prometheus_client import multiprocess

    if not port or port in _started_ports:
        return
    if not os.environ.get(MULTIPROC_DIR_ENV):
        raise RuntimeError(f"{MULTIPROC_DIR_ENV} must be set to aggregate the workers' metrics")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
    _started_ports.add(port)


def mark_worker_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    if os.environ.get(MULTIPROC_DIR_ENV):
        multiprocess.mark_process_dead(pid)
