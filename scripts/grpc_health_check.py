"""Ask a gRPC server for its health (grpc.health.v1) and exit 0 iff it answers SERVING.

Shipped in every service image for container healthchecks (docker-compose.yml, the images'
HEALTHCHECK) and used by scripts/compose_smoke.sh from the host and from inside containers:

    python scripts/grpc_health_check.py 127.0.0.1:50051
    python scripts/grpc_health_check.py dns:///scoring:50051 --round-robin --repeat 20 \
        --request-id smoke-rr

`--round-robin` spreads the checks over every address the target resolves to (compose's DNS
answers a scaled service with all its replicas); `--request-id` sends `x-request-id: ID-<n>`
with each check so the replica that answered can be found in the services' logs.
Exit status: 0 when every check answered SERVING, 1 otherwise (Docker reserves 2).
"""

from __future__ import annotations

import argparse
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; the defaults suit a container checking its own server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "target", nargs="?", default="127.0.0.1:50051", help="gRPC target, e.g. 127.0.0.1:50051 or dns:///scoring:50051"
    )
    parser.add_argument("--service", default="", help="service name to check; empty (default) is the whole server")
    parser.add_argument(
        "--timeout", type=float, default=3.0, help="seconds to wait for each answer, connecting included"
    )
    parser.add_argument("--repeat", type=int, default=1, help="number of checks to make")
    parser.add_argument(
        "--round-robin", action="store_true", help="balance the checks over every address the target resolves to"
    )
    parser.add_argument(
        "--interval", type=float, default=0.0, help="seconds to pause between checks (gives replicas time to connect)"
    )
    parser.add_argument("--request-id", default="", help="send x-request-id ID-<n> with check n (to find it in logs)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    return parser.parse_args(argv)


def check(args: argparse.Namespace) -> list[str]:
    """Make the checks over one channel; return one status name per check (or the error code)."""
    options = [("grpc.lb_policy_name", "round_robin")] if args.round_robin else []
    statuses = []
    with grpc.insecure_channel(args.target, options=options) as channel:
        if args.round_robin:
            # round_robin only picks READY subchannels: let every replica connect first, so
            # the checks spread over all of them instead of the first one to answer.
            try:
                grpc.channel_ready_future(channel).result(timeout=args.timeout)
            except grpc.FutureTimeoutError:
                pass
        stub = health_pb2_grpc.HealthStub(channel)
        for n in range(1, args.repeat + 1):
            if n > 1 and args.interval > 0:
                time.sleep(args.interval)
            metadata = [("x-request-id", f"{args.request_id}-{n}")] if args.request_id else None
            try:
                reply = stub.Check(
                    health_pb2.HealthCheckRequest(service=args.service),
                    timeout=args.timeout,
                    metadata=metadata,
                    wait_for_ready=True,
                )
                statuses.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
            except grpc.RpcError as err:
                statuses.append(err.code().name)
    return statuses


def main(argv: list[str] | None = None) -> int:
    """Run the checks, print a one-line verdict, return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    statuses = check(args)
    healthy = all(status == "SERVING" for status in statuses)
    if not args.quiet:
        summary = ", ".join(f"{name} x{statuses.count(name)}" for name in sorted(set(statuses)))
        print(f"{args.target}: {summary}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
