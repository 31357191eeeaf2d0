#!/bin/sh
# Entry point of the service images (docker/service.Dockerfile): start the service that
# TELCO360_SERVICE names, or with the argument `health` check its gRPC health (the image's
# HEALTHCHECK). The service's own TELCO360_<SVC>_HOST, _PORT and _METRICS_PORT default to
# 0.0.0.0 (reachable from other containers), 50051 and 9100; set them to override.
set -eu
: "${TELCO360_SERVICE:?TELCO360_SERVICE must name the service (ingest, profile, scoring, contact)}"
prefix="TELCO360_$(printf '%s' "$TELCO360_SERVICE" | tr '[:lower:]' '[:upper:]')_"
host=$(printenv "${prefix}HOST" || echo 0.0.0.0)
port=$(printenv "${prefix}PORT" || echo 50051)
metrics_port=$(printenv "${prefix}METRICS_PORT" || echo 9100)
if [ "${1:-}" = health ]; then
    exec python /app/scripts/grpc_health_check.py --quiet "127.0.0.1:${port}"
fi
export "${prefix}HOST=${host}" "${prefix}PORT=${port}" "${prefix}METRICS_PORT=${metrics_port}"
exec python -m "services.${TELCO360_SERVICE}" "$@"
