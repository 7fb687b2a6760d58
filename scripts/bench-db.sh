#!/usr/bin/env bash
# Database benchmark: pgbench on the PL/pgSQL API, as the superuser directly on PostgreSQL (not
# through PgBouncer), in a scratch database ${DB}_bench that is created, migrated and dropped here.
# Scenarios (loadtest/pgbench/*.sql): one operation per call on one hot wallet, one operation per call
# spread over WALLETS wallets, BATCH_SIZE operations per call (wallet.apply_operations) on one hot
# wallet; transfers between random pairs, from WALLETS payers into one merchant, and BATCH_SIZE of
# those per call (wallet.post_transfers); reads of a wallet with LEDGER_ENTRIES entries: get_wallet, and
# balance_at a random moment of its history (which must cost about as much). Ends with wallet.verify_ledger() on the scratch database; fails on any failed transaction.
# Settings (environment): DURATION seconds per scenario (20), CLIENTS (32), BATCH_CLIENTS (8),
# THREADS (number of CPUs, at most the clients), WALLETS (10000), BATCH_SIZE (100), LEDGER_ENTRIES (1000000).
# The table goes to stdout; progress and pgbench's own reports go to stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env

DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-32}
BATCH_CLIENTS=${BATCH_CLIENTS:-8}
THREADS=${THREADS:-$(nproc)}
WALLETS=${WALLETS:-10000}
BATCH_SIZE=${BATCH_SIZE:-100}
LEDGER_ENTRIES=${LEDGER_ENTRIES:-1000000}
for v in DURATION CLIENTS BATCH_CLIENTS THREADS WALLETS BATCH_SIZE LEDGER_ENTRIES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[ "$BATCH_SIZE" -le 1000 ] || die "BATCH_SIZE is at most 1000 (the largest batch wallet.apply_operations takes)"

BENCH_DB="${DB}_bench"
SCRIPTS="$ROOT/loadtest/pgbench"
PGBENCH="$PG_BIN/pgbench"

drop_bench_db() {
    say "dropping $BENCH_DB"
    drop_database "$BENCH_DB"
}

# The planner's statistics decide how the idempotency-key lookup runs: how often autovacuum
# refreshed them (it may or may not, depending on timing: it is reported with the figures).
analyze_count() {
    psql_admin "$BENCH_DB" -qtAc "SELECT autoanalyze_count FROM pg_stat_user_tables WHERE relid = 'wallet.operations'::regclass"
}

# 1234567 -> 1,234,567
thousands() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }

# run_scenario SCRIPT CLIENTS [pgbench -D options...]: prints the tps (without connection time).
run_scenario() {
    local script=$1 clients=$2 threads out rc tps failed
    shift 2
    threads=$((THREADS < clients ? THREADS : clients))
    # Start each run from a fresh checkpoint, so no run pays for the previous one's dirty pages.
    psql_admin "$BENCH_DB" -qc CHECKPOINT
    say "pgbench $script: $clients clients, $threads threads, $DURATION s"
    rc=0
    out=$(PGPASSWORD=$POSTGRES_PASSWORD "$PGBENCH" -n -M prepared -T "$DURATION" -c "$clients" -j "$threads" \
        -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$SCRIPTS/$script" "$@" "$BENCH_DB" 2>&1) || rc=$?
    printf '%s\n' "$out" | sed 's/^/    /' >&2
    [ "$rc" = 0 ] || die "pgbench $script exited with status $rc (errors during the run; see above)"
    failed=$(printf '%s\n' "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
    [ "${failed:-0}" = 0 ] || die "pgbench $script: $failed failed transactions"
    tps=$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
    [ -n "$tps" ] || die "pgbench $script: no 'tps = ... (without initial connection time)' line"
    printf '%s\n' "$tps"
}

"$ROOT/scripts/stack.sh" up >&2
drop_bench_db
trap drop_bench_db EXIT
"$ROOT/scripts/stack.sh" migrate "$BENCH_DB" >&2

# Deterministic ids: wallet n is md5('bench:' || n), which the spread script computes itself.
say "creating $(thousands "$WALLETS") wallets with 1,000.00 each and two hot wallets with 1,000,000,000.00"
hot_ids=$(psql_admin "$BENCH_DB" -qtA -F ' ' -v wallets="$WALLETS" <<'SQL'
SELECT count(*) FROM generate_series(1, :wallets) AS n,
    LATERAL wallet.create_wallet(1000.00, md5('bench:' || n)::uuid) \g /dev/null
SELECT (SELECT wallet_id FROM wallet.create_wallet(1000000000.00, md5('bench:hot-single')::uuid)),
    (SELECT wallet_id FROM wallet.create_wallet(1000000000.00, md5('bench:hot-batch')::uuid)),
    (SELECT wallet_id FROM wallet.create_wallet(0, md5('bench:merchant')::uuid)),
    (SELECT wallet_id FROM wallet.create_wallet(0, md5('bench:merchant-batch')::uuid));
SQL
)
read -r HOT_SINGLE HOT_BATCH MERCHANT MERCHANT_BATCH <<<"$hot_ids"
# A wallet with a long history, written straight into the ledger (the append-only guard lifted for this
# scratch database only): LEDGER_ENTRIES deposits of 1.00, one a millisecond, ending now.
say "writing a ledger of $(thousands "$LEDGER_ENTRIES") entries for one wallet"
DEEP=$(psql_admin "$BENCH_DB" -qtA -v n="$LEDGER_ENTRIES" <<'SQL'
SELECT wallet_id FROM wallet.create_wallet(0, md5('bench:deep')::uuid) \g /dev/null
ALTER TABLE wallet.operations DISABLE TRIGGER operations_append_only;
INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
SELECT md5('bench:deep')::uuid, g, u, 'DEPOSIT', 1, g, now() - (:n - g) * interval '1 millisecond', u
FROM generate_series(1, :n) AS g, LATERAL (SELECT gen_random_uuid() AS u) AS x;
ALTER TABLE wallet.operations ENABLE TRIGGER operations_append_only;
UPDATE wallet.wallets SET balance = :n, version = :n, created_at = now() - interval '1 day' WHERE id = md5('bench:deep')::uuid;
SELECT md5('bench:deep')::uuid;
SQL
)
psql_admin "$BENCH_DB" -qc 'VACUUM ANALYZE'
analyzed_before=$(analyze_count)

say "parameters: DURATION=$DURATION s per scenario, CLIENTS=$CLIENTS, BATCH_CLIENTS=$BATCH_CLIENTS, THREADS=$THREADS," \
    "WALLETS=$WALLETS, BATCH_SIZE=$BATCH_SIZE; $("$PGBENCH" --version | cut -d' ' -f1,3) -n -M prepared," \
    "direct to PostgreSQL 127.0.0.1:$PG_PORT, $(nproc) CPUs"
tps_hot=$(run_scenario apply_operation_hot.sql "$CLIENTS" -D hot="$HOT_SINGLE")
tps_spread=$(run_scenario apply_operation_spread.sql "$CLIENTS" -D wallets="$WALLETS")
tps_batch=$(run_scenario apply_operations_hot.sql "$BATCH_CLIENTS" -D hot="$HOT_BATCH" -D batch="$BATCH_SIZE")
tps_t_spread=$(run_scenario transfer_spread.sql "$CLIENTS" -D wallets="$WALLETS")
tps_t_hot=$(run_scenario transfer_hot.sql "$CLIENTS" -D wallets="$WALLETS" -D hot="$MERCHANT")
tps_t_batch=$(run_scenario post_transfers_hot.sql "$BATCH_CLIENTS" -D wallets="$WALLETS" -D hot="$MERCHANT_BATCH" \
    -D batch="$BATCH_SIZE")
tps_get_deep=$(run_scenario get_wallet_deep.sql "$CLIENTS" -D deep="$DEEP")
tps_at_deep=$(run_scenario balance_at_deep.sql "$CLIENTS" -D deep="$DEEP" -D entries="$LEDGER_ENTRIES")

say "checking the ledger of $BENCH_DB (wallet.verify_ledger)"
mismatches=$(psql_admin "$BENCH_DB" -qtAc 'SELECT count(*) FROM wallet.verify_ledger()')
if [ "$mismatches" != 0 ]; then
    psql_admin "$BENCH_DB" -c 'SELECT * FROM wallet.verify_ledger() LIMIT 20' >&2
    die "$mismatches wallets disagree with their ledger"
fi

sync_commit=$(psql_admin "$BENCH_DB" -qtAc 'SHOW synchronous_commit')
printf '\npgbench -n -M prepared, %s s per scenario, %s threads, %s CPUs, synchronous_commit=%s, direct to PostgreSQL\n' \
    "$DURATION" "$THREADS" "$(nproc)" "$sync_commit"
printf 'ledger consistent (wallet.verify_ledger: no rows); autoanalyze of wallet.operations during the runs: %s\n' \
    "$(($(analyze_count) - analyzed_before))"
awk -v hot="$tps_hot" -v spread="$tps_spread" -v batch="$tps_batch" -v n="$BATCH_SIZE" \
    -v tspread="$tps_t_spread" -v thot="$tps_t_hot" -v tbatch="$tps_t_batch" \
    -v c="$CLIENTS" -v bc="$BATCH_CLIENTS" -v wallets="$(thousands "$WALLETS")" \
    -v getdeep="$tps_get_deep" -v atdeep="$tps_at_deep" -v entries="$(thousands "$LEDGER_ENTRIES")" 'BEGIN {
    row = "%-38s %8s %9.0f %9.0f\n"
    printf "%-38s %8s %9s %9s\n", "scenario", "clients", "calls/s", "ops/s"
    printf row, "apply_operation, 1 hot wallet", c, hot, hot
    printf row, "apply_operation, " wallets " wallets", c, spread, spread
    printf row, "apply_operations x" n ", 1 hot wallet", bc, batch, batch * n
    printf row, "transfer, random pairs of " wallets, c, tspread, tspread
    printf row, "transfer, " wallets " payers -> 1 wallet", c, thot, thot
    printf row, "post_transfers x" n ", -> 1 wallet", bc, tbatch, tbatch * n
    printf row, "get_wallet, " entries " entries", c, getdeep, getdeep
    printf row, "balance_at, " entries " entries", c, atdeep, atdeep
    printf "batched / single-op on the hot wallet: %.1fx\n", batch * n / hot
    printf "transfers between random pairs / deposits spread: %.2f\n", tspread / spread
    printf "transfers into one wallet / deposits into one wallet: %.2f\n", thot / hot
    printf "batched / single transfers into one wallet: %.1fx\n", tbatch * n / thot
    printf "balance_at / get_wallet on a wallet of %s entries: %.2f (target >= 0.5: within 2x its cost)\n", entries, atdeep / getdeep
}'
