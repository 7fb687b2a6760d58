#!/usr/bin/env bash
# Runs the pgTAP suite with pg_prove on the test database, as the superuser over loopback.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env
cd "$ROOT"
say "running pgTAP (pg_prove) on $TEST_DB"
PGPASSWORD=$POSTGRES_PASSWORD pg_prove --failures -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$TEST_DB" pgtests/*.sql
