"""Ask a gRPC server for its health (grpc.health.v1) and exit 0 iff it answers SERVING.

Shipped in every service image for container healthchecks (docker-compose.yml, the images'
HEALTHCHECK) and used by scripts/compose_smoke.sh from the host and from inside containers:

    python scripts/grpc_health_check.py 127.0.0.1:50051
    python scripts/grpc_health_check.py dns:///scoring:50051 --round-robin --repeat 20 \
        --request-id smoke-rr

`--round-robin` spreads the checks over every address the target resolves to (compose's DNS
answers a scaled service with all its replicas); `--request-id` sends `x-request-id: ID-<n>`
with each check so the replica that answered can be found in the services' logs.
TLS: `--tls-ca` (env TELCO360_HEALTH_TLS_CA) turns it on, `--tls-cert` / `--tls-key`
(TELCO360_HEALTH_TLS_CERT / _KEY) add a client certificate for servers that require one;
inside a service's container (TELCO360_SERVICE set) they default to that service's own
TELCO360_<SVC>_TLS_CA_FILE / _TLS_CERT_FILE / _TLS_KEY_FILE, so the image's health check
speaks whatever its server does. `--tls-server-name` checks the certificate for another name.
Exit status: 0 when every check answered SERVING, 1 otherwise (Docker reserves 2).
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--tls-ca", default=_tls_env("CA"), help="CA certificate: check over TLS")
    parser.add_argument("--tls-cert", default=_tls_env("CERT"), help="client certificate (mutual TLS)")
    parser.add_argument("--tls-key", default=_tls_env("KEY"), help="key of --tls-cert")
    parser.add_argument("--tls-server-name", default="", help="name the server's certificate must carry")
    return parser.parse_args(argv)


def _tls_env(what: str) -> str:
    """TELCO360_HEALTH_TLS_<what>, else the container's own service setting (TELCO360_<SVC>_TLS_<what>_FILE)."""
    value = os.environ.get(f"TELCO360_HEALTH_TLS_{what}", "")
    service = os.environ.get("TELCO360_SERVICE", "")
    if not value and service:
        value = os.environ.get(f"TELCO360_{service.upper()}_TLS_{what}_FILE", "")
    return value


def open_channel(args: argparse.Namespace, options: list[tuple[str, object]]) -> grpc.Channel:
    """A plaintext channel, or TLS when a CA is given (mutual with a client certificate)."""
    if not args.tls_ca:
        return grpc.insecure_channel(args.target, options=options)
    with open(args.tls_ca, "rb") as fh:
        ca = fh.read()
    cert = key = None
    if args.tls_cert:
        with open(args.tls_cert, "rb") as fh:
            cert = fh.read()
        with open(args.tls_key, "rb") as fh:
            key = fh.read()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    if args.tls_server_name:
        options = [*options, ("grpc.ssl_target_name_override", args.tls_server_name)]
    return grpc.secure_channel(args.target, credentials, options=options)


def check(args: argparse.Namespace) -> list[str]:
    """Make the checks over one channel; return one status name per check (or the error code)."""
    options: list[tuple[str, object]] = [("grpc.lb_policy_name", "round_robin")] if args.round_robin else []
    statuses = []
    with open_channel(args, options) as channel:
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
