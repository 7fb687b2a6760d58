#!/bin/sh
# Sets the login roles' passwords from the environment (passwords are secrets, not schema: Liquibase
# creates the roles, this names their passwords). POSIX sh: the compose stack runs it too.
# Connection: the usual PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
set -eu
: "${WALLET_APP_PASSWORD:?}" "${WALLET_READER_PASSWORD:?}" "${PGBOUNCER_AUTH_PASSWORD:?}"
psql -X -q -v ON_ERROR_STOP=1 \
    -v app="$WALLET_APP_PASSWORD" -v reader="$WALLET_READER_PASSWORD" -v auth="$PGBOUNCER_AUTH_PASSWORD" <<'SQL'
ALTER ROLE wallet_app PASSWORD :'app';
ALTER ROLE wallet_reader PASSWORD :'reader';
ALTER ROLE pgbouncer_auth PASSWORD :'auth';
SQL
echo "role passwords set"
