#!/usr/bin/env bash
# One database per Telco360 service, each owned by its own least-privilege role: the service
# logs in as `<svc>` (LOGIN only: no superuser, no CREATEDB, no CREATEROLE, no replication),
# owns only database `<svc>` (so it can run its own migrations there) and cannot connect to
# the others (CONNECT is revoked from PUBLIC). No service reads another's tables.
#
# Run once, on the server's first start, by the entrypoint of the official postgres image (or
# of the local stand-in in docker/postgres), as POSTGRES_USER over the local socket. Each
# role's password is read from TELCO360_DB_SECRETS_DIR/<svc>-db-password (compose: the volume
# the one-shot `secrets` service fills); a missing file stops the initialisation.
set -Eeuo pipefail

dir=${TELCO360_DB_SECRETS_DIR:-/secrets}
for svc in ingest profile scoring contact; do
    password=$(tr -d '\n' <"$dir/$svc-db-password")
    if [ -z "$password" ]; then
        echo "error: $dir/$svc-db-password is empty" >&2
        exit 1
    fi
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --no-password --no-psqlrc \
        --set svc="$svc" --set password="$password" <<'SQL'
CREATE ROLE :"svc" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE :"svc" OWNER :"svc";
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"svc" TO :"svc";
SQL
    echo "database $svc owned by role $svc"
done
