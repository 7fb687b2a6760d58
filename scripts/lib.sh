# Shared by the scripts in this folder: settings from .env, the state folder, and the helpers that run
# PostgreSQL tools as the right OS user. Source it; it defines functions and variables only.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# .env is created from .env.example on first use, each `change-me` replaced by a random password.
ensure_env_file() {
    [ -f "$ROOT/.env" ] && return 0
    say "creating .env from .env.example with generated passwords"
    local line
    umask 077
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ $line == *=change-me ]]; then
            printf '%s=%s\n' "${line%%=*}" "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
        else
            printf '%s\n' "$line"
        fi
    done <"$ROOT/.env.example" >"$ROOT/.env"
}

load_env() {
    ensure_env_file
    # .env fills in what the environment does not set: WALLET_PG_PORT=55440 make up wins over .env,
    # as with the API's settings (pydantic-settings) and docker compose.
    local line key
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        [ -n "${!key+set}" ] || export "$key=${BASH_REMATCH[2]}"
    done <"$ROOT/.env"
    PG_PORT=${WALLET_PG_PORT:-55432}
    PGB_PORT=${WALLET_PGBOUNCER_PORT:-56432}
    DB=${WALLET_DB:-wallet}
    TEST_DB="${DB}_test"
    PG_BIN=/usr/lib/postgresql/$(pg_major)/bin
    STATE=$(state_dir)
    PGDATA="$STATE/pgdata"
    # An existing cluster keeps the major version it was made with.
    if [ -r "$PGDATA/PG_VERSION" ]; then PG_BIN=/usr/lib/postgresql/$(cat "$PGDATA/PG_VERSION")/bin; fi
    export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}
}

# The newest PostgreSQL server installed from the distribution (empty if none).
pg_major() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
    [ -z "$d" ] || basename "$(dirname "$(dirname "$d")")"
}

is_root() { [ "$(id -u)" = 0 ]; }

# PostgreSQL and PgBouncer refuse to run as root: as root, run them as the `postgres` OS user.
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The state folder must be reachable by the `postgres` OS user when we are root; a checkout under a
# private home folder is not, so fall back to a per-checkout folder under /var/tmp.
state_dir() {
    if [ -n "${WALLET_STATE_DIR:-}" ]; then
        printf '%s\n' "$WALLET_STATE_DIR"
    elif ! is_root || runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
        printf '%s\n' "$ROOT/.run"
    else
        printf '/var/tmp/wallet-%s\n' "$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
    fi
}

# psql as the superuser over TCP (password auth works for root and non-root alike).
psql_admin() {
    local db=$1
    shift
    PGPASSWORD=$POSTGRES_PASSWORD psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# Drops a database (closing its connections) and forgets that it was migrated.
drop_database() {
    psql_admin postgres -q -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
    rm -f "$STATE/migrated-$1.hash"
}

liquibase_bin() { printf '%s\n' "$ROOT/node_modules/liquibase/dist/liquibase/liquibase"; }

# Liquibase migrates directly on PostgreSQL (PgBouncer refuses JDBC's startup parameters). The
# password travels in the environment, never on the command line.
liquibase_run() {
    local db=$1
    shift
    (
        cd "$ROOT"
        export LIQUIBASE_COMMAND_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/$db"
        export LIQUIBASE_COMMAND_USERNAME=postgres
        export LIQUIBASE_COMMAND_PASSWORD=$POSTGRES_PASSWORD
        export LIQUIBASE_COMMAND_CHANGELOG_FILE=liquibase/changelog.yaml
        export LIQUIBASE_SEARCH_PATH=.
        export LIQUIBASE_SHOW_BANNER=false
        export LIQUIBASE_LOG_LEVEL=${LIQUIBASE_LOG_LEVEL:-SEVERE}
        "$(liquibase_bin)" "$@"
    )
}
