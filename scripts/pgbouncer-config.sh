#!/bin/sh
# Writes pgbouncer.ini and its auth file into DIR from docker/pgbouncer.ini.template and the
# environment. POSIX sh: the native stack and the compose pgbouncer service both run it.
#   pgbouncer-config.sh DIR
set -eu
dir=${1:?usage: pgbouncer-config.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${PGBOUNCER_AUTH_PASSWORD:?}" "${PGBOUNCER_PG_HOST:?}" "${WALLET_PG_PORT:?}" "${WALLET_DB:?}"
# max_prepared_statements exists from PgBouncer 1.21 on (1.18 refuses the key): the line is written
# only when PGBOUNCER_MAX_PREPARED_STATEMENTS is set (compose), and left out otherwise (native stack).
if [ -n "${PGBOUNCER_MAX_PREPARED_STATEMENTS:-}" ]; then
    prepared="s|@MAX_PREPARED_STATEMENTS@|$PGBOUNCER_MAX_PREPARED_STATEMENTS|g"
else
    prepared="/@MAX_PREPARED_STATEMENTS@/d"
fi
umask 077
mkdir -p "$dir"
# Trap in PgBouncer 1.18: the auth_user's own entry must be plain text, not a SCRAM secret. Every
# other role logs in with SCRAM through auth_query and is not listed here.
printf '"pgbouncer_auth" "%s"\n' "$PGBOUNCER_AUTH_PASSWORD" >"$dir/pgbouncer-users.txt"
sed -e "s|@PG_HOST@|$PGBOUNCER_PG_HOST|g" \
    -e "s|@PG_PORT@|$WALLET_PG_PORT|g" \
    -e "s|@DB@|$WALLET_DB|g" \
    -e "s|@TEST_DB@|${WALLET_DB}_test|g" \
    -e "s|@LISTEN_ADDR@|${PGBOUNCER_LISTEN_ADDR:-127.0.0.1}|g" \
    -e "s|@PGB_PORT@|${WALLET_PGBOUNCER_PORT:-56432}|g" \
    -e "s|@DIR@|$dir|g" \
    -e "s|@LOGFILE@|${PGBOUNCER_LOGFILE-$dir/pgbouncer.log}|g" \
    -e "s|@POOL_SIZE@|${PGBOUNCER_POOL_SIZE:-8}|g" \
    -e "s|@MAX_CLIENT_CONN@|${PGBOUNCER_MAX_CLIENT_CONN:-1000}|g" \
    -e "$prepared" \
    "$here/../docker/pgbouncer.ini.template" >"$dir/pgbouncer.ini"
