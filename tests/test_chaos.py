"""The short fault-injection run (scripts/chaos.sh with PROFILE=short): its own private stack, concurrent clients,
PgBouncer and PostgreSQL killed and restarted and an API worker killed under them; then every acknowledged
operation must be in the ledger exactly once and nothing else may be. The clients also hold, capture, void and
reverse: no hold captured twice, or after a void or its expiry; every acknowledged capture, void and reversal
recorded as told. `make chaos` runs the long profile."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAULT_KINDS = ("pgbouncer_kill", "postgres_restart", "worker_kill")
# scripts/chaos_holds_check.py's checks, as the summary prints them
HOLD_CHECKS = (
    "holds lost",
    "holds phantom",
    "captures unlinked",
    "double captures",
    "bad captures",
    "voids unlinked",
    "bad voids",
    "reversals unlinked",
    "reversals phantom",
    "over reversed",
    "held wrong",
)
# what the run must have done at least once for its hold checks to mean something
HOLD_COUNTS = (
    "holds created",
    "holds captured",
    "holds voided",
    "holds expired",
    "double capture attempts refused",
    "reversals",
)
LIMIT_SECONDS = 150  # the short profile takes ~45-60 s, stack included


def run_short_profile() -> tuple[int, str]:
    env = {**os.environ, "PROFILE": "short"}
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "chaos.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the script tears its private stack down on SIGTERM
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"the short chaos run took over {LIMIT_SECONDS} s:\n{out}")
    return proc.returncode, out


def test_short_chaos_run_loses_nothing_and_doubles_nothing() -> None:
    rc, out = run_short_profile()
    print(out)
    assert rc == 0, out
    assert "RESULT: PASS" in out, out
    summary = dict(re.findall(r"^  ([a-z0-9 ()]+): (.*)$", out, re.MULTILINE))
    faults = {kind: int(n) for kind, n in re.findall(r"(\w+)=(\d+)", summary["faults injected"])}
    assert all(faults.get(kind, 0) >= 1 for kind in FAULT_KINDS), out
    for check in ("lost", "duplicated", "mismatched", "refused but applied", "phantom", "pending", "unexpected 4xx"):
        assert summary[check] == "0", f"{check}: {summary[check]}\n{out}"
    for check in ("verify ledger rows", "negative balances", "wrong balances"):
        assert summary[check] == "0", f"{check}: {summary[check]}\n{out}"
    assert int(summary["acknowledged"]) > 0 and int(summary["operations sent"]) >= int(summary["acknowledged"]), out
    for check in HOLD_CHECKS:
        assert summary[check] == "0", f"{check}: {summary[check]}\n{out}"
    for count in HOLD_COUNTS:
        assert int(summary[count].split()[0]) > 0, f"{count}: {summary[count]}\n{out}"
