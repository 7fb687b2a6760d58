"""A short headless Locust run of the transfer scenario (loadtest/locustfile.py, as `make load-headless` runs it)
against the test stack's API: no request fails, and the end-of-test check finds every wallet's ledger exactly as
the clients were told, both legs of every transfer included."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, LiveServer

LIMIT_SECONDS = 120  # ~10 s of load, plus setup and the check


def test_a_short_locust_transfer_run_passes_its_balance_check(live_server: LiveServer, tmp_path: Path) -> None:
    report = tmp_path / "check.json"
    # The load generator is not the code under test: no coverage measurement in it (pyproject's subprocess patch).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    env |= {"WALLET_SCENARIO": "transfer", "WALLET_LOAD_WALLETS": "30", "WALLET_LOAD_REPORT": str(report)}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py")),
            *("--host", live_server.url, "--headless", "--users", "4", "--spawn-rate", "4"),
            *("--run-time", "10s", "--stop-timeout", "5", "--only-summary"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    check = json.loads(report.read_text())
    assert check["ok"] and check["problem_count"] == 0, check
    assert check["wallets"] == 31, check  # 30 payers and the merchant
    assert check["transfers"] > 0 and check["ledger_entries"] == 2 * check["transfers"], check
    assert "balance check passed" in out, out
