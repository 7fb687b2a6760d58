#!/usr/bin/env bash
# Load tests with Locust (loadtest/locustfile.py) against an API that is already running (make run).
#   load.sh ui        Locust's web UI on http://127.0.0.1:$WEB_PORT (8089); pick the scenario there.
#   load.sh headless  one bounded run; CSV files and the HTML report go to .run/load/<time>-<scenario>/;
#                     prints requests/s and p50/p95/p99 per request type; exits non-zero on any failed
#                     request (5xx, transport error, unexpected 4xx) or when the final check finds a
#                     wallet whose balance or ledger differs from the acknowledged requests (ledgercheck);
#                     twostep also checks every hold against what its clients were told, and verify_ledger().
# Settings (environment): SCENARIO hot|many|read|transfer|twostep (hot), DURATION seconds (60), USERS (64),
# SPAWN_RATE users started per second (= USERS), PROCESSES Locust worker processes (1; 0 = one
# process that is master and worker at once), WALLETS for many/read/transfer/twostep (1000), WEB_PORT (8089),
# LOAD_HOST (default http://$WALLET_API_HOST:$WALLET_API_PORT from .env, i.e. http://127.0.0.1:8000).
# twostep's check reads the database of that API as wallet_reader: WALLET_LOAD_DSN (default
# postgresql://wallet_reader@127.0.0.1:$WALLET_PG_PORT/$WALLET_DB), the password from .env.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
load_env

MODE=${1:-}
case "$MODE" in ui | headless) ;; *) die "usage: $0 ui|headless" ;; esac
SCENARIO=${SCENARIO:-hot}
DURATION=${DURATION:-60}
USERS=${USERS:-64}
SPAWN_RATE=${SPAWN_RATE:-$USERS}
PROCESSES=${PROCESSES:-1}
WALLETS=${WALLETS:-1000}
WEB_PORT=${WEB_PORT:-8089}
HOST=${LOAD_HOST:-http://${WALLET_API_HOST:-127.0.0.1}:${WALLET_API_PORT:-8000}}
HOST=${HOST%/}
LOCUST="$ROOT/.venv/bin/locust"
PY="$ROOT/.venv/bin/python"

for v in DURATION USERS SPAWN_RATE WALLETS WEB_PORT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ $PROCESSES =~ ^[0-9]+$ ]] || die "PROCESSES must be 0 or a positive integer, got '$PROCESSES'"
case "$SCENARIO" in
    hot | many | read | transfer | twostep) ;;
    *) die "SCENARIO must be hot, many, read, transfer or twostep, got '$SCENARIO'" ;;
esac
[ -x "$LOCUST" ] || die "$LOCUST is missing: run make venv"

# Fail early and clearly when there is nothing to load.
say "checking the API at $HOST"
curl -fsS -m 5 -o /dev/null "$HOST/health" 2>/dev/null ||
    die "the API does not answer at $HOST/health: start it with make run (or set LOAD_HOST)"
curl -fsS -m 5 -o /dev/null "$HOST/ready" 2>/dev/null ||
    die "the API at $HOST is up but not ready (no database through PgBouncer?): see make status"

export WALLET_LOAD_WALLETS=$WALLETS
# The locustfile imports ledgercheck from this checkout, whatever checkout the venv's editable install names.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# twostep's check reads wallet.holds and runs wallet.verify_ledger() as the read-only role (asyncpg reads the
# password from PGPASSWORD); a WALLET_LOAD_DSN of your own comes with a PGPASSWORD of your own.
if [ -z "${WALLET_LOAD_DSN:-}" ]; then
    export WALLET_LOAD_DSN="postgresql://wallet_reader@127.0.0.1:$PG_PORT/$DB" PGPASSWORD=${WALLET_READER_PASSWORD:-}
fi
common=(-f "$ROOT/loadtest/locustfile.py" --host "$HOST" --users "$USERS" --spawn-rate "$SPAWN_RATE" --stop-timeout 5)
[ "$PROCESSES" = 0 ] || common+=(--processes "$PROCESSES")

if [ "$MODE" = ui ]; then
    # No WALLET_SCENARIO: the class picker offers all five scenarios (a chosen SCENARIO is preselected
    # only in headless mode). The balance check runs when a test is stopped; its result is logged here.
    say "Locust web UI on http://127.0.0.1:$WEB_PORT against $HOST ($PROCESSES worker process(es)); Ctrl-C stops it"
    exec "$LOCUST" "${common[@]}" --web-host 127.0.0.1 --web-port "$WEB_PORT" --class-picker
fi

OUT="$ROOT/.run/load/$(date +%Y%m%d-%H%M%S)-$SCENARIO"
mkdir -p "$OUT"
say "scenario $SCENARIO: $USERS users (+$SPAWN_RATE/s), ${DURATION} s, $PROCESSES worker process(es), against $HOST"
say "CSV, HTML report and log in ${OUT#"$ROOT/"}/"
rc=0
WALLET_SCENARIO=$SCENARIO WALLET_LOAD_REPORT="$OUT/check.json" "$LOCUST" "${common[@]}" \
    --headless --run-time "${DURATION}s" --only-summary \
    --csv "$OUT/locust" --html "$OUT/report.html" 2>&1 | tee "$OUT/locust.log" || rc=$?

# The figures, from Locust's CSV files and the check's JSON.
summary_rc=0
"$PY" - "$OUT" <<'PY' || summary_rc=$?
import csv, json, os, sys

out = sys.argv[1]
def rows(name):
    path = os.path.join(out, name)
    return list(csv.DictReader(open(path, newline=""))) if os.path.exists(path) else []

stats = rows("locust_stats.csv")
print(f"\n{'request':<52} {'count':>8} {'fail':>6} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}")
for r in stats:
    name = "ALL" if r["Name"] == "Aggregated" else f"{r['Type']} {r['Name']}"
    print(f"{name:<52} {r['Request Count']:>8} {r['Failure Count']:>6} {float(r['Requests/s']):>8.1f} "
          f"{r['50%']:>6} {r['95%']:>6} {r['99%']:>6} {float(r['Max Response Time']):>7.0f}")
print("(latencies in ms)")
failures = rows("locust_failures.csv")
by_kind = {"5xx": 0, "transport": 0, "other": 0}
for f in failures:
    n = int(f["Occurrences"])
    err = f["Error"]
    kind = "5xx" if err.startswith("HTTP 5") else "transport" if err.startswith("HTTP 0") else "other"
    by_kind[kind] += n
print(f"failed requests: {sum(by_kind.values())} (5xx: {by_kind['5xx']}, transport errors: "
      f"{by_kind['transport']}, other: {by_kind['other']})")
for f in failures[:10]:
    print(f"  {f['Occurrences']:>7} x {f['Method']} {f['Name']}: {f['Error']}")
exceptions = rows("locust_exceptions.csv")
if exceptions:
    print(f"exceptions in the locustfile: {sum(int(e['Count']) for e in exceptions)} (see locust.log)")
try:
    check = json.load(open(os.path.join(out, "check.json")))
except (OSError, ValueError):
    print("balance check: DID NOT RUN (see locust.log)")
    sys.exit(1)
print(f"balance check: {'passed' if check['ok'] else 'FAILED'}: {check['wallets']} wallet(s), "
      f"{check['acknowledged_operations']} acknowledged request(s) ({check['deposits']} deposit(s), "
      f"{check['withdrawals']} withdrawal(s), {check['transfers']} transfer(s): {check['ledger_entries']} ledger "
      f"entries), {check['rejected']} refused for insufficient funds, {check['replays']} replay(s), "
      f"{check['resolved']} unknown outcome(s) settled by replaying their key")
if "twostep" in check:
    print(check["twostep"]["summary"])
for p in check["problems"][:10]:
    print(f"  {p}")
sys.exit(0 if check["ok"] else 1)
PY

if [ "$rc" != 0 ] || [ "$summary_rc" != 0 ]; then
    die "load test FAILED (locust exit status $rc; see above and ${OUT#"$ROOT/"}/)"
fi
say "load test passed; report: ${OUT#"$ROOT/"}/report.html"
