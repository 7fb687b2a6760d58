#!/usr/bin/env bash
# Operational figures: PgBouncer's admin console (SHOW POOLS, STATS, SERVERS, CLIENTS) and
# PostgreSQL's view of connections and of the hot row's HOT updates.
#   stats.sh pgbouncer | db
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env

case ${1:-} in
    pgbouncer)
        # The admin user must be in PgBouncer's auth file (pgbouncer_auth is); PGCONNECT_TIMEOUT from
        # lib.sh keeps a misconfigured console from hanging forever.
        for what in POOLS STATS SERVERS CLIENTS; do
            echo "--- SHOW $what"
            PGPASSWORD=$PGBOUNCER_AUTH_PASSWORD psql -X -h 127.0.0.1 -p "$PGB_PORT" -U pgbouncer_auth -d pgbouncer \
                -P pager=off -c "SHOW $what"
        done
        ;;
    db)
        psql_admin "$DB" -P pager=off <<'SQL'
\echo --- connections by database, user, application and state (pg_stat_activity)
SELECT datname, usename, application_name, state, count(*) AS connections
FROM pg_stat_activity WHERE backend_type = 'client backend'
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
\echo --- wallet tables: updates, of which HOT (no index touched), and dead rows
SELECT relname, n_tup_upd AS updates, n_tup_hot_upd AS hot_updates,
    round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0), 1) AS hot_pct, n_live_tup, n_dead_tup,
    last_autovacuum
FROM pg_stat_user_tables WHERE schemaname = 'wallet' ORDER BY relname;
SQL
        ;;
    *) die "usage: $0 pgbouncer|db" ;;
esac
