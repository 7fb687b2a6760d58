#!/usr/bin/env bash
# The fault-injection run (scripts/chaos.py): a private stack on ports of its own (never the default one),
# concurrent clients, PgBouncer / PostgreSQL / API-worker kills, then the ledger checked against every answer.
#   PROFILE=short scripts/chaos.sh   ~45 s (CI: tests/test_chaos.py)      PROFILE=long ~4 min (make chaos)
# Optional: CHAOS_SEED=N fixes the random choices; CHAOS_CLIENT_TIMEOUT=S seconds per HTTP attempt (5).
# Exit 0: every check held; 1: a violation (lost, duplicated, ...); 2: the run could not be carried out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$ROOT/scripts/venv.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" scripts/chaos.py
