#!/bin/sh
# Writes pgbouncer.ini and its auth file into DIR from docker/pgbouncer.ini.template and the
# environment. POSIX sh: the native stack and the compose pgbouncer service both run it.
#   pgbouncer-config.sh DIR
set -eu
dir=${1:?usage: pgbouncer-config.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${PGBOUNCER_AUTH_PASSWORD:?}" "${PGBOUNCER_PG_HOST:?}" "${WALLET_PG_PORT:?}" "${WALLET_DB:?}"
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
    "$here/../docker/pgbouncer.ini.template" >"$dir/pgbouncer.ini"
