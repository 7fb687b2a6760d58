#!/usr/bin/env bash
# HTTP benchmark (make bench): wrk with the Lua scripts in loadtest/wrk against the API on a scratch
# database, 1 and 2 API workers, and one table: GET /health (the ceiling); GET one wallet; POST on one
# hot wallet with live batching on and off; POST spread over 10,000 wallets; transfers from 10,000 payers into the hot
# wallet, and between random pairs of them; holds on one wallet (two-step payments); bulk requests of
# 100 elements on the hot wallet (BULK_CONNECTIONS, 16). After every POST run the ledger must match
# what wrk saw acknowledged. Then the ratios, measured in this one run, and a 60 s hold on the hot
# wallet with HOLD_CONNECTIONS clients (16: enough for well over 1,000 rps without queueing; 64
# saturate the API, and saturation only adds queueing latency). Settings (environment): DURATION (15 s
# a run), CONNECTIONS (64), WORKERS ("1 2"), HOLD (60, 0 = skip), HOLD_CONNECTIONS (16), WALLETS
# (10000). Run it alone: anything else on the 2 cores skews it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env
cd "$ROOT"

DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${WORKERS-1 2}  # WORKERS= (empty): only the hold run
HOLD=${HOLD:-60}
HOLD_CONNECTIONS=${HOLD_CONNECTIONS:-16}
BULK_CONNECTIONS=${BULK_CONNECTIONS:-16}
WALLETS=${WALLETS:-10000}
PORT=${BENCH_PORT:-8100}
BENCH_DB="${DB}_bench"
OUT="$STATE/bench"
API_PID=""

command -v wrk >/dev/null || { say "installing wrk"; apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk >/dev/null; }
"$ROOT/scripts/stack.sh" up >&2
"$ROOT/scripts/venv.sh"
mkdir -p "$OUT"

stop_api() {
    if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; API_PID=""; fi
}
cleanup() {
    stop_api
    drop_database "$BENCH_DB" || true
}
trap cleanup EXIT

say "preparing $BENCH_DB: a hot wallet and $WALLETS others"
drop_database "$BENCH_DB"
"$ROOT/scripts/stack.sh" migrate "$BENCH_DB" >/dev/null 2>&1
HOT_WALLET=$(psql_admin "$BENCH_DB" -qtA -c "SELECT wallet_id FROM wallet.create_wallet(1000000000, md5('bench:hot')::uuid)")
HOLD_WALLET=$(psql_admin "$BENCH_DB" -qtA -c "SELECT wallet_id FROM wallet.create_wallet(1000000000, md5('bench:holds')::uuid)")
psql_admin "$BENCH_DB" -qtA -v n="$WALLETS" >"$OUT/wallets.txt" <<<"SELECT w.wallet_id FROM generate_series(1, :n) AS g,
    LATERAL wallet.create_wallet(1000000, md5('bench:' || g)::uuid) AS w"
psql_admin "$BENCH_DB" -qc 'VACUUM ANALYZE'
export HOT_WALLET HOLD_WALLET WALLETS_FILE="$OUT/wallets.txt"

start_api() { # start_api WORKERS BATCHING
    stop_api
    WALLET_DB=$BENCH_DB WALLET_API_PORT=$PORT WALLET_API_WORKERS=$1 WALLET_BATCHING=$2 \
        WALLET_LOG_LEVEL=WARNING WALLET_POOL_LOG_SECONDS=0 .venv/bin/python -m api >"$OUT/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "the API did not become ready; see $OUT/api.log"
}

total_balance() { psql_admin "$BENCH_DB" -qtA -c "SELECT sum(balance) FROM wallet.wallets"; }

# hold_check TOKEN ACKNOWLEDGED: the holds of a post_holds run, found by their keys, are every acknowledged
# request and at most CONNECTIONS more, all active; the wallet's balance did not move (holds move no
# money), its held amount is the sum of its active holds and get_wallet's available_balance is exactly
# balance - held; wallet.verify_ledger() has no rows for it.
hold_check() {
    psql_admin "$BENCH_DB" -qtA -v w="$HOLD_WALLET" -v prefix="bench-$1-%" -v ack="$2" -v slack="$CONNECTIONS" <<'SQL'
WITH run AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE status <> 'active') AS closed
    FROM wallet.holds WHERE wallet_id = :'w' AND idempotency_key LIKE :'prefix'
), w AS (
    SELECT x.balance, x.held, g.available_balance,
        (SELECT sum(amount) FROM wallet.holds WHERE wallet_id = x.id AND status = 'active') AS active
    FROM wallet.wallets AS x, wallet.get_wallet(x.id) AS g WHERE x.id = :'w'
)
SELECT CASE WHEN run.n BETWEEN :ack AND :ack + :slack AND run.closed = 0 AND w.balance = 1000000000
        AND w.held = w.active AND w.available_balance = w.balance - w.held
        AND NOT EXISTS (SELECT FROM wallet.verify_ledger(:'w'))
    THEN format('exact(%s holds, %s unacknowledged, available %s)', run.n, run.n - :ack, w.available_balance)
    ELSE format('MISMATCH(holds %s, acknowledged %s, closed %s, balance %s, held %s, active holds %s, available %s)',
        run.n, :ack, run.closed, w.balance, w.held, w.active, w.available_balance) END
FROM run, w;
SQL
}

# run LABEL WORKERS SCRIPT SECONDS: one wrk run, its result line, and for POSTs the ledger check
# (python -m ledgercheck keys, the one shared with chaos, Locust and the tests): the run's entries, found by
# their keys, are every acknowledged request and at most CONNECTIONS more (in flight when wrk stopped); every
# leg of their transfers, signed by its own balance_after arithmetic, moved the sum of the balances from
# before to after exactly; and wallet.verify_ledger() has no rows.
declare -A RPS ENTRIES
run() {
    local label=$1 workers=$2 script=$3 seconds=$4 token before line check d w t h
    token="$RANDOM$RANDOM"
    before=$(total_balance)
    line=$(BENCH_RUN="$token" wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" \
        -s "loadtest/wrk/$script.lua" "http://127.0.0.1:$PORT" | grep '^RESULT')
    sleep 1 # let the requests wrk abandoned at the deadline finish
    d=$(sed 's/.*deposits=\([0-9]*\).*/\1/' <<<"$line")
    w=$(sed 's/.*withdrawals=\([0-9]*\).*/\1/' <<<"$line")
    t=$(sed 's/.*transfers=\([0-9]*\).*/\1/' <<<"$line")
    h=$(sed 's/.*holds=\([0-9]*\).*/\1/' <<<"$line")
    check="-"
    if [ "$script" = get_health ]; then
        check="-"
    elif [ "$script" = post_holds ]; then
        check=$(hold_check "$token" "$h")
        [[ $check == exact* ]] || FAILED=1
    elif [ "$script" != get_wallet ]; then
        # Each request leaves one keyed entry (a transfer's on its source); the password travels in the environment.
        check=$(PGPASSWORD=$POSTGRES_PASSWORD .venv/bin/python -m ledgercheck keys \
            --dsn "postgresql://postgres@127.0.0.1:$PG_PORT/$BENCH_DB" --prefix "bench-$token-" \
            --acknowledged $((d + w + t)) --slack "$((CONNECTIONS * ${ELEMENTS:-1}))" --before "$before") ||
            { FAILED=1; check=${check:-"MISMATCH(the check did not run; see above)"}; }
    fi
    RPS[$label-$workers]=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
    ENTRIES[$label-$workers]=$(awk -v n=$((d + w + t)) -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
    printf '%-8s %-28s %s ledger=%s\n' "$workers" "$label" "${line#RESULT }" "$check" | tee -a "$OUT/results.txt"
    grep -q 'non2xx=0 server_errors=0 socket_errors=0' <<<"$line" || FAILED=1
}

FAILED=0
: >"$OUT/results.txt"
say "wrk: $CONNECTIONS connections, 2 threads, ${DURATION} s a run, API workers: $WORKERS"
for workers in $WORKERS; do
    start_api "$workers" true
    run "GET /health" "$workers" get_health "$DURATION"
    run "GET wallet" "$workers" get_wallet "$DURATION"
    run "POST hot, batched" "$workers" post_hot "$DURATION"
    run "POST 10,000 wallets" "$workers" post_spread "$DURATION"
    run "transfer -> hot wallet" "$workers" transfer_hot "$DURATION"
    run "transfer, random pairs" "$workers" transfer_spread "$DURATION"
    run "create hold, 1 wallet" "$workers" post_holds "$DURATION"
    CONNECTIONS=$BULK_CONNECTIONS ELEMENTS=100 run "bulk x100, hot wallet" "$workers" post_bulk "$DURATION"
    start_api "$workers" false
    run "POST hot, unbatched" "$workers" post_hot "$DURATION"
done
if [ "$HOLD" -gt 0 ]; then
    start_api 1 true
    CONNECTIONS=$HOLD_CONNECTIONS run "POST hot, batched, ${HOLD}s hold" 1 post_hot "$HOLD"
fi
stop_api

echo
echo "workers  scenario                     result"
cat "$OUT/results.txt"
echo
for workers in $WORKERS; do
    awk -v w="$workers" -v health="${RPS[GET /health-$workers]}" -v get="${RPS[GET wallet-$workers]}" \
        -v hot="${RPS[POST hot, batched-$workers]}" \
        'BEGIN { printf "workers=%s  GET wallet / GET /health = %.2f (target >= 0.60)   hot POST (batched) / GET /health = %.2f (target >= 0.50)\n", w, get / health, hot / health }'
    awk -v w="$workers" -v get="${RPS[GET wallet-$workers]}" -v hot="${RPS[POST hot, batched-$workers]}" \
        -v un="${RPS[POST hot, unbatched-$workers]}" \
        'BEGIN { printf "workers=%s  hot POST (batched) / GET = %.2f   batched / unbatched = %.2f\n", w, hot / get, hot / un }'
    awk -v w="$workers" -v hot="${RPS[POST hot, batched-$workers]}" -v spread="${RPS[POST 10,000 wallets-$workers]}" \
        -v thot="${RPS[transfer -> hot wallet-$workers]}" -v tspread="${RPS[transfer, random pairs-$workers]}" \
        'BEGIN { printf "workers=%s  transfers into one wallet / hot deposits = %.2f   random-pair transfers / spread deposits = %.2f\n", w, thot / hot, tspread / spread }'
    awk -v w="$workers" -v hot="${RPS[POST hot, batched-$workers]}" -v holds="${RPS[create hold, 1 wallet-$workers]}" \
        'BEGIN { printf "workers=%s  holds on one wallet / hot deposits = %.2f (target >= 0.70)\n", w, holds / hot }'
    awk -v w="$workers" -v hot="${ENTRIES[POST hot, batched-$workers]}" -v bulk="${ENTRIES[bulk x100, hot wallet-$workers]}" \
        'BEGIN { printf "workers=%s  bulk x100 on the hot wallet: %d entries/s (target >= 20,000) = %.1f x hot single deposits (%d entries/s)\n", w, bulk, bulk / hot, hot }'
done
[ "$FAILED" = 0 ] || die "a run had 5xx, socket errors or a ledger mismatch"
