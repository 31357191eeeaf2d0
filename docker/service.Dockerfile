# The one image recipe of the four Telco360 services: SERVICE (ingest, profile, scoring or
# contact) picks the requirements, the code and the entry point. Build from the repository
# root, which holds the shared libs/ and protos/ (docker-compose.yml does this):
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=ingest -t telco360/ingest .
# services/<svc>/Dockerfile is this file (a link), so `-f services/ingest/Dockerfile` works too.
# BASE_IMAGE is the official Python image; any Debian-based Python 3.11 image works (the smoke
# test uses a locally built one where no registry is reachable: docs/DEPLOYMENT.md).
# SYSTEM_PACKAGES: Debian packages the service needs at run time (scoring: libgomp1, the
# OpenMP runtime LightGBM's wheel links, which slim images lack).
ARG BASE_IMAGE=python:3.11-slim

# ---- builder: a virtualenv with the service's dependencies and freshly generated stubs ----
FROM ${BASE_IMAGE} AS builder
ARG SERVICE
RUN case "$SERVICE" in ingest|profile|scoring|contact) ;; \
    *) echo "build with --build-arg SERVICE=ingest|profile|scoring|contact (got '$SERVICE')" >&2; exit 1;; esac
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies before code, so a code change reuses the (slow) install layer. The constraints
# pin every version (no resolver backtracking); grpcio-tools only generates the stubs.
COPY docker/constraints.txt docker/constraints.txt
COPY libs/requirements.txt libs/requirements.txt
COPY services/${SERVICE}/requirements.txt services/${SERVICE}/requirements.txt
RUN pip install -c docker/constraints.txt -r services/${SERVICE}/requirements.txt grpcio-tools

# Stubs are generated from protos/ at build time, never copied from a checkout (they are not
# committed), so the image cannot drift from the contracts. grpcio-tools leaves afterwards.
COPY protos/ protos/
COPY scripts/gen_protos.py scripts/gen_protos.py
RUN python scripts/gen_protos.py /app/libs/gen && pip uninstall -y -q grpcio-tools

# ---- runtime: the virtualenv, the shared libs, this service's code; no compilers, no root ----
FROM ${BASE_IMAGE} AS runtime
ARG SERVICE
ARG SYSTEM_PACKAGES=""
RUN if [ -n "$SYSTEM_PACKAGES" ]; then apt-get update \
        && apt-get install -y --no-install-recommends $SYSTEM_PACKAGES && rm -rf /var/lib/apt/lists/*; fi
RUN groupadd --system --gid 10001 telco360 \
    && useradd --system --uid 10001 --gid telco360 --create-home --home-dir /home/telco360 \
        --shell /usr/sbin/nologin telco360
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY libs/ libs/
COPY --from=builder /app/libs/gen/ libs/gen/
COPY services/${SERVICE}/ services/${SERVICE}/
COPY scripts/grpc_health_check.py scripts/grpc_health_check.py
COPY docker/service-entrypoint.sh docker/service-entrypoint.sh
# var/ holds the embedded SQLite store (when no TELCO360_<SVC>_DATABASE_URL is given) and
# scoring's HTML reports; matplotlib needs a writable config directory.
RUN mkdir -p var/reports && chown -R telco360:telco360 var

# The entry point turns TELCO360_SERVICE into `python -m services.<svc>` and defaults the
# service's own TELCO360_<SVC>_HOST/PORT/METRICS_PORT to 0.0.0.0, 50051 and 9100.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/libs:/app/libs/gen \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    TELCO360_SERVICE=${SERVICE}
USER 10001:10001
EXPOSE 50051 9100
# The gRPC health protocol on the service's port, for plain `docker run`; docker-compose.yml
# sets its own timings.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/app/docker/service-entrypoint.sh", "health"]
# The runtime drains in-flight calls and closes the store on SIGTERM (the entry point execs
# Python, so the signal reaches it). Run it under an init process (compose: `init: true`;
# docker run: `--init`) so signals and orphans are handled.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/docker/service-entrypoint.sh"]
