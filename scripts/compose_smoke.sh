#!/usr/bin/env bash
# Compose smoke test (`make compose-smoke`, also run by .ci/run): build the four service images,
# start the suite under docker compose with scoring scaled to 2, check every service's health
# over the gRPC health protocol from the host, prove both scoring replicas answer (directly and
# through round-robin over dns:///scoring:50051 from a peer), check the metrics endpoints and a
# graceful stop, print a PASS/FAIL summary, and tear everything down, even on failure.
#
# Where no Docker engine runs (CI, the sandboxes: no registry either) it must run as root: it
# installs docker.io, docker-compose and debootstrap from Debian, starts its own dockerd, makes
# the base images locally (docs/DEPLOYMENT.md, ../shared/CONTAINERS.md) and stops dockerd at
# the end. Images and layers are cached under $TELCO360_CT_DIR, so a second run is warm.
#
# Environment (defaults in brackets):
#   TELCO360_CT_DIR          work directory: docker data, logs, debootstrap tree [/tmp/telco360-ct]
#   BASE_IMAGE               base of the service images [local/python311, built here]
#   POSTGRES_IMAGE           PostgreSQL image [local/postgres, built here]
#   TELCO360_SMOKE_PYTHON    Python with grpcio-health-checking for host checks [.venv/bin/python]
#   TELCO360_SMOKE_TIMEOUT   seconds to wait for every container to be healthy [300]
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${TELCO360_CT_DIR:-/tmp/telco360-ct}
PROJECT=telco360smoke
SCALE_SCORING=2
HEALTH_TIMEOUT=${TELCO360_SMOKE_TIMEOUT:-300}
PY=${TELCO360_SMOKE_PYTHON:-$ROOT/.venv/bin/python}
CHECK="$ROOT/scripts/grpc_health_check.py"
export BASE_IMAGE=${BASE_IMAGE:-local/python311}
export POSTGRES_IMAGE=${POSTGRES_IMAGE:-local/postgres}
export DEBIAN_FRONTEND=noninteractive
# Debian's docker client, matched to its engine, before any other docker on PATH.
export PATH=/usr/sbin:/usr/bin:$PATH
# Any free host port for every published service: the test must not collide with anything.
export TELCO360_INGEST_HOST_PORT= TELCO360_PROFILE_HOST_PORT= TELCO360_CONTACT_HOST_PORT= TELCO360_SCORING_HOST_PORT=
export TELCO360_BIND_ADDRESS=127.0.0.1
# The round-robin check finds each health probe's request id in the replicas' logs, and
# successful health checks are logged at DEBUG.
export TELCO360_LOG_LEVEL=DEBUG

START=$(date +%s)
DOCKERD_PID=
IPTABLES_SAVED=
COMPOSE_STARTED=
RESULTS=()
FAILED=0

log() { printf '[compose-smoke %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
pass() { RESULTS+=("PASS  $*"); log "PASS $*"; }
fail() { RESULTS+=("FAIL  $*"); log "FAIL $*"; FAILED=1; }
compose() { docker-compose -p "$PROJECT" -f "$ROOT/docker-compose.yml" "$@"; }

# Tear down whatever this run started, print the summary, keep the failure status.
cleanup() {
    local rc=$?
    set +e
    if [ -n "$COMPOSE_STARTED" ]; then
        compose logs --no-color >"$W/logs/compose.log" 2>&1
        if [ "$FAILED" != 0 ] || [ "$rc" != 0 ]; then
            log "last log lines of every container (all of them: $W/logs/compose.log)"
            compose logs --no-color --tail=40 2>&1 | tail -n 300
        fi
        compose down -v -t 5 --remove-orphans >>"$W/logs/down.log" 2>&1
    fi
    if [ -n "$DOCKERD_PID" ]; then
        kill "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
        # dockerd leaves its chains, the FORWARD policy DROP and docker0 behind: put the
        # host's firewall back as it was before dockerd started.
        [ -n "$IPTABLES_SAVED" ] && iptables-restore <"$W/iptables.before" 2>/dev/null
        ip link delete docker0 2>/dev/null
        log "dockerd stopped"
    fi
    [ "$rc" != 0 ] && [ "$FAILED" = 0 ] && RESULTS+=("FAIL  aborted (exit $rc) before the checks finished")
    echo
    echo "==== compose smoke test: $(( $(date +%s) - START ))s ===="
    printf '%s\n' "${RESULTS[@]}"
    if [ "$FAILED" = 0 ] && [ "$rc" = 0 ]; then
        echo "RESULT: PASS"
    else
        echo "RESULT: FAIL (logs in $W/logs)"
        [ "$rc" = 0 ] && rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W/logs"
rm -f "$W"/logs/*.log

# ---- engine: use a running one, or install Debian's and start our own ----
if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "no Docker engine is running; run as root to let this script start one" >&2
        exit 2
    fi
    if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null \
        || ! command -v debootstrap >/dev/null; then
        log "installing docker.io docker-compose debootstrap"
        apt-get update -qq >"$W/logs/apt.log" 2>&1
        apt-get install -y -qq docker.io docker-compose debootstrap >>"$W/logs/apt.log" 2>&1
    fi
    iptables-save >"$W/iptables.before" 2>/dev/null && IPTABLES_SAVED=1
    mkdir -p "$W/docker-data"
    dockerd --data-root "$W/docker-data" --pidfile "$W/dockerd.pid" >"$W/logs/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { fail "dockerd did not start (see $W/logs/dockerd.log)"; exit 1; }
    log "dockerd started (data in $W/docker-data)"
fi
command -v docker-compose >/dev/null || { fail "docker-compose is not installed"; exit 1; }

# ---- local base images (only where the official ones are not used) ----
# local/debian:bookworm holds the host's extra certificate authorities (the egress proxy's);
# it is rebuilt when they change, which happens when the machine boots.
build_debian_image() {
    local ca_sum
    ca_sum=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-16)
    if docker image inspect local/debian:bookworm >/dev/null 2>&1 \
        && [ "$(cat "$W/debian-ca.sum" 2>/dev/null)" = "$ca_sum" ]; then
        return
    fi
    if [ ! -e "$W/rootfs/.complete" ]; then
        log "debootstrap bookworm (once per work directory)"
        rm -rf "$W/rootfs"
        debootstrap --variant=minbase bookworm "$W/rootfs" >"$W/logs/debootstrap.log" 2>&1
        touch "$W/rootfs/.complete"
    fi
    rm -rf "$W/rootfs/usr/local/share/ca-certificates"
    mkdir -p "$W/rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$W/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    tar -C "$W/rootfs" --exclude=./.complete -c . | docker import - local/debian:bookworm >/dev/null
    echo "$ca_sum" >"$W/debian-ca.sum"
    log "imported local/debian:bookworm"
}
if [[ "$BASE_IMAGE" == local/python311* || "$POSTGRES_IMAGE" == local/postgres* ]]; then
    build_debian_image
fi
# The PostgreSQL stand-in builds alongside the Python base and the service images.
PG_BUILD_PID=
if [[ "$POSTGRES_IMAGE" == local/postgres* ]]; then
    docker build -t "$POSTGRES_IMAGE" "$ROOT/docker/postgres" >"$W/logs/build-postgres.log" 2>&1 &
    PG_BUILD_PID=$!
fi
if [[ "$BASE_IMAGE" == local/python311* ]]; then
    docker build -t "$BASE_IMAGE" "$ROOT/docker/python311" >"$W/logs/build-python311.log" 2>&1 \
        || { fail "build $BASE_IMAGE (see $W/logs/build-python311.log)"; exit 1; }
    log "base image $BASE_IMAGE ready"
fi

# ---- the suite's images ----
t0=$(date +%s)
if compose build --parallel >"$W/logs/build-services.log" 2>&1; then
    pass "images built: ingest profile scoring contact ($(($(date +%s) - t0))s, base $BASE_IMAGE)"
else
    tail -n 40 "$W/logs/build-services.log"
    fail "image build (see $W/logs/build-services.log)"
    exit 1
fi

if [ -n "$PG_BUILD_PID" ]; then
    wait "$PG_BUILD_PID" || { fail "build $POSTGRES_IMAGE (see $W/logs/build-postgres.log)"; exit 1; }
    log "PostgreSQL image $POSTGRES_IMAGE ready"
fi

# ---- start, scoring scaled ----
t0=$(date +%s)
COMPOSE_STARTED=1
if ! compose up -d --scale scoring=$SCALE_SCORING >"$W/logs/up.log" 2>&1; then
    tail -n 20 "$W/logs/up.log"
    fail "docker-compose up (see $W/logs/up.log)"
fi

# Every container of the project, "name status" per line (health status where it has one).
container_states() {
    local ids
    ids=$(compose ps -q)
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    docker inspect --format \
        '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $ids \
        | sed 's#^/##'
}
expected=$((4 + SCALE_SCORING))
while :; do
    states=$(container_states)
    total=$(grep -c . <<<"$states" || true)
    healthy=$(grep -c ' healthy$' <<<"$states" || true)
    if [ "$total" = "$expected" ] && [ "$healthy" = "$expected" ]; then
        pass "all $expected containers healthy ($(($(date +%s) - t0))s after up)"
        break
    fi
    if grep -Eq ' (unhealthy|exited|dead)$' <<<"$states" \
        || [ $(($(date +%s) - t0)) -gt "$HEALTH_TIMEOUT" ]; then
        fail "containers not healthy: $(tr '\n' ';' <<<"$states")"
        exit 1
    fi
    sleep 2
done

# ---- gRPC health of every service and replica, from the host through the published ports ----
host_check() { # label target
    local out
    if out=$("$PY" "$CHECK" --timeout 5 "$2" 2>&1); then
        pass "$1 health from host: $out"
    else
        fail "$1 health from host: $out"
    fi
}
for svc in ingest profile contact; do
    host_check "$svc" "$(compose port "$svc" 50051)"
done
for i in $(seq "$SCALE_SCORING"); do
    host_check "scoring replica $i" "$(compose port --index="$i" scoring 50051)"
done

# ---- both scoring replicas reached from a peer, through round-robin over compose's DNS ----
scoring_ids=$(compose ps -q scoring)
scoring_ips=$(for id in $scoring_ids; do
    docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id"
done | sort)
resolved=$(compose exec -T contact python -c \
    'import socket; print("\n".join(sorted({a[4][0] for a in socket.getaddrinfo("scoring", 50051, socket.AF_INET)})))' \
    2>&1 | sort)
if [ "$resolved" = "$scoring_ips" ]; then
    pass "dns 'scoring' from contact resolves to both replicas ($(tr '\n' ' ' <<<"$resolved"))"
else
    fail "dns 'scoring' from contact: got '$(tr '\n' ' ' <<<"$resolved")', replicas '$(tr '\n' ' ' <<<"$scoring_ips")'"
fi
# round_robin only uses replicas it has connected to; on a busy host the second connection
# can lag the first checks, so try a few rounds (one marker for all) before judging.
marker="smoke-rr-$$-$START"
for round in 1 2 3 4 5; do
    if out=$(compose exec -T contact python /app/scripts/grpc_health_check.py --round-robin \
        --repeat 20 --interval 0.1 --request-id "$marker-$round" dns:///scoring:50051 2>&1); then
        rr_ok=1
    else
        rr_ok=0
    fi
    missing=0
    for id in $scoring_ids; do
        docker logs "$id" 2>&1 | grep -q "$marker" || missing=1
    done
    [ "$rr_ok" = 1 ] && [ "$missing" = 0 ] && break
done
if [ "$rr_ok" = 1 ]; then
    pass "round-robin from contact over dns:///scoring:50051 ($round round(s) of 20): $out"
else
    fail "round-robin from contact over dns:///scoring:50051: $out"
fi
n=0
for id in $scoring_ids; do
    n=$((n + 1))
    hits=$(docker logs "$id" 2>&1 | grep -c "$marker" || true)
    if [ "$hits" -gt 0 ]; then
        pass "scoring replica $n answered $hits of the round-robin checks (request ids in its log)"
    else
        fail "scoring replica $n answered none of the round-robin checks (no '$marker' in its log)"
    fi
done

# ---- metrics endpoint of every container ----
for id in $(compose ps -q ingest profile scoring contact); do
    name=$(docker inspect --format '{{.Name}}' "$id" | sed 's#^/##')
    ip=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
    if curl -fsS --max-time 5 "http://$ip:9100/metrics" >"$W/logs/metrics-$name.txt" 2>&1; then
        pass "$name metrics on :9100 ($(grep -vc '^#' "$W/logs/metrics-$name.txt") samples)"
    else
        fail "$name metrics on :9100 unreachable"
    fi
done

# ---- graceful stop: SIGTERM through the init process; exit 0 means no SIGKILL at the grace ----
t0=$(date +%s)
compose stop -t 25 ingest profile scoring contact >"$W/logs/stop.log" 2>&1
took=$(($(date +%s) - t0))
for id in $(compose ps -q ingest profile scoring contact); do
    read -r name code < <(docker inspect --format '{{.Name}} {{.State.ExitCode}}' "$id" | sed 's#^/##')
    if [ "$code" = 0 ]; then
        pass "$name stopped cleanly on SIGTERM (exit 0)"
    else
        fail "$name exit code $code after SIGTERM (137: killed at the 25s grace)"
    fi
done
log "compose stopped the services one dependency level at a time in ${took}s"
