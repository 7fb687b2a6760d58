#!/usr/bin/env bash
# The native stack: a private PostgreSQL 15 cluster and PgBouncer (transaction pooling) on loopback,
# kept in a git-ignored state folder, migrated by Liquibase. Every command is idempotent.
#   stack.sh deps | up | down | clean | status | migrate [DB] | test-db | psql [DB] | liquibase DB ARGS...
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Install only what is missing, so a second run costs nothing. PostgreSQL is the distribution's
# (15 on Debian 12); pgTAP must match its major version.
deps() {
    local missing=() pkg
    [ -n "$(pg_major)" ] || missing+=(postgresql postgresql-contrib)
    command -v pgbouncer >/dev/null || missing+=(pgbouncer)
    command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
    command -v java >/dev/null || missing+=(default-jre-headless)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
    pkg="postgresql-$(pg_major)-pgtap"
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || apt_install "$pkg"
    if [ ! -x "$(liquibase_bin)" ] || [ ! -f "$ROOT/node_modules/dclint/schemas/compose.schema.json" ]; then
        say "installing the npm tools pinned in package-lock.json (liquibase@4.28.1, dclint's compose schema)"
        (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
    PG_BIN=/usr/lib/postgresql/$(pg_major)/bin
}

apt_install() {
    say "installing Debian packages: $*"
    local sudo=()
    is_root || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_running() { [ -f "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

pgbouncer_pid() {
    local pid
    [ -f "$STATE/pgbouncer.pid" ] || return 1
    pid=$(cat "$STATE/pgbouncer.pid")
    # kill -0 also succeeds on a killed process its parent has not reaped yet: a zombie is not running.
    kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && printf '%s\n' "$pid"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prepare_state() {
    mkdir -p "$STATE"
    if is_root; then chown postgres:postgres "$STATE"; fi
    chmod 0700 "$STATE"
}

init_cluster() {
    [ -f "$PGDATA/PG_VERSION" ] && return 0
    say "initialising a private PostgreSQL cluster in $PGDATA"
    local pwfile="$STATE/initdb.pw"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    if is_root; then chown postgres "$pwfile"; fi
    chmod 0600 "$pwfile"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=peer \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$STATE/initdb.log"
    rm -f "$pwfile"
    mkdir -p "$STATE/sock" && { ! is_root || chown postgres "$STATE/sock"; }
    cat >>"$PGDATA/postgresql.conf" <<EOF

# --- wallet service (scripts/stack.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$STATE/sock'
max_connections = 100
shared_buffers = 256MB
password_encryption = scram-sha-256
log_min_duration_statement = 1000
EOF
}

start_postgres() {
    if pg_running; then return 0; fi
    port_free "$PG_PORT" || die "port $PG_PORT is taken by another program: set WALLET_PG_PORT in .env"
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STATE/postgresql.log" -w -t 60 start >/dev/null
}

ensure_database() {
    local db=$1
    if [ -z "$(psql_admin postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        say "creating database $db"
        psql_admin postgres -qc "CREATE DATABASE \"$db\""
    fi
}

set_passwords() {
    PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=$POSTGRES_PASSWORD PGDATABASE=$DB \
        "$ROOT/scripts/set-role-passwords.sh" >/dev/null
}

# A hash of everything Liquibase reads: `up` skips the 4-second JVM start when nothing changed.
changelog_hash() { (cd "$ROOT" && cat liquibase/changelog.yaml liquibase/changesets/*.sql sql/*.sql sql/functions/*.sql | md5sum | cut -c1-32); }

migrate() {
    local db=${1:-$DB}
    ensure_database "$db"
    say "migrating $db with Liquibase"
    liquibase_run "$db" update
    [ "$db" = "$DB" ] && set_passwords
    changelog_hash >"$STATE/migrated-$db.hash"
}

migrate_if_changed() {
    local db=$1
    if [ -f "$STATE/migrated-$db.hash" ] && [ "$(cat "$STATE/migrated-$db.hash")" = "$(changelog_hash)" ]; then
        return 0
    fi
    migrate "$db"
}

write_pgbouncer_config() {
    PGBOUNCER_PG_HOST=127.0.0.1 WALLET_PG_PORT=$PG_PORT WALLET_DB=$DB WALLET_PGBOUNCER_PORT=$PGB_PORT \
        "$ROOT/scripts/pgbouncer-config.sh" "$STATE"
    if is_root; then chown postgres "$STATE/pgbouncer.ini" "$STATE/pgbouncer-users.txt"; fi
}

start_pgbouncer() {
    if pgbouncer_pid >/dev/null; then return 0; fi
    port_free "$PGB_PORT" || die "port $PGB_PORT is taken by another program: set WALLET_PGBOUNCER_PORT in .env"
    write_pgbouncer_config
    say "starting PgBouncer on 127.0.0.1:$PGB_PORT (transaction pooling)"
    # max_client_conn 1000 needs more file descriptors than the usual soft limit of 1024.
    # max_client_conn 1000 needs more file descriptors than the usual soft limit of 1024; runuser's
    # PAM session would reset the limit, so as root PgBouncer drops to `postgres` by itself (-u).
    if is_root; then
        (ulimit -n 4096 2>/dev/null || true; pgbouncer -d -q -u postgres "$STATE/pgbouncer.ini")
    else
        (ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; pgbouncer -d -q "$STATE/pgbouncer.ini")
    fi
    local i
    for i in $(seq 50); do
        if PGPASSWORD=$WALLET_APP_PASSWORD psql -X -h 127.0.0.1 -p "$PGB_PORT" -U wallet_app -d "$DB" \
            -tAc 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    die "PgBouncer did not accept wallet_app within 10 s; see $STATE/pgbouncer.log"
}

up() {
    deps
    prepare_state
    init_cluster
    start_postgres
    migrate_if_changed "$DB"
    start_pgbouncer
    say "stack is up: PostgreSQL 127.0.0.1:$PG_PORT, PgBouncer 127.0.0.1:$PGB_PORT, database $DB"
}

down() {
    local pid
    if pid=$(pgbouncer_pid); then
        say "stopping PgBouncer (pid $pid)"
        kill -INT "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if pg_running; then
        say "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
}

# What only the tests need: Chromium renders the docs pages in a real (headless, offline) browser.
test_deps() {
    command -v chromium >/dev/null || apt_install chromium
}

# The test database is dropped and migrated from scratch on every run: each run proves the
# changelog deploys on an empty database.
test_db() {
    up
    test_deps
    say "recreating $TEST_DB"
    drop_database "$TEST_DB"
    migrate "$TEST_DB"
    psql_admin "$TEST_DB" -qc "CREATE EXTENSION IF NOT EXISTS pgtap"
}

status() {
    if pg_running; then echo "PostgreSQL: running on 127.0.0.1:$PG_PORT ($PGDATA)"; else echo "PostgreSQL: stopped"; fi
    if pid=$(pgbouncer_pid); then echo "PgBouncer:  running on 127.0.0.1:$PGB_PORT (pid $pid)"; else echo "PgBouncer:  stopped"; fi
}

load_env
cmd=${1:-}
shift || true
case $cmd in
    deps) deps ;;
    up) up ;;
    down) down ;;
    clean) down; say "removing $STATE"; rm -rf "$STATE" ;;
    status) status ;;
    migrate) deps; prepare_state; init_cluster; start_postgres; migrate "${1:-$DB}" ;;
    test-db) test_db ;;
    liquibase) db=${1:?usage: $0 liquibase DB COMMAND...}; shift; liquibase_run "$db" "$@" ;;
    psql) pg_running || die "the stack is down: run 'make up' first"; psql_admin "${1:-$DB}" ;;
    *) die "usage: $0 deps|up|down|clean|status|migrate [DB]|test-db|psql [DB]|liquibase DB ARGS..." ;;
esac
