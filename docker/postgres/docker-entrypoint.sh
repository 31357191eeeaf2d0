#!/usr/bin/env bash
# Entrypoint of the local PostgreSQL stand-in (docker/postgres/Dockerfile). It honours the part
# of the official image's interface that Telco360 relies on, so docker-compose.yml runs the same
# on either image:
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (one is required; the file wins, as in the
#   official image), POSTGRES_USER (default postgres), POSTGRES_DB (default: user),
#   PGDATA, and on first start every /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz in order.
# Started as root it owns the data directory, then drops to the postgres user.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

# psql against the temporary, socket-only server used while initialising.
run_psql() {
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

init_cluster() {
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        POSTGRES_PASSWORD=$(tr -d '\n' <"$POSTGRES_PASSWORD_FILE")
    fi
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo 'error: database is uninitialised and neither POSTGRES_PASSWORD nor POSTGRES_PASSWORD_FILE is set' >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
        -D "$PGDATA" >/dev/null
    # Like the official image: listen on every interface, passwords from anywhere.
    printf '\nlisten_addresses = '"'"'*'"'"'\n' >>"$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$POSTGRES_DB" != 'postgres' ]; then
        run_psql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
    local f
    shopt -s nullglob
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    echo "running $f"; "$f"
                else
                    echo "sourcing $f"; . "$f"
                fi
                ;;
            *.sql) echo "running $f"; run_psql --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) echo "running $f"; gunzip -c "$f" | run_psql --dbname "$POSTGRES_DB" ;;
            *) echo "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo 'PostgreSQL init process complete; ready for start up.'
}

if [ "$1" = 'postgres' ]; then
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        init_cluster
    fi
fi

exec "$@"
