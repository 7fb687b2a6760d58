"""Short headless Locust runs (loadtest/locustfile.py, as `make load-headless` runs it) against the test stack's API:
no request fails, and the end-of-test check finds every wallet's ledger exactly as the clients were told (both legs
of every transfer included); for two-step payments, every hold too."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ENV, ROOT, TEST_DB, LiveServer

LIMIT_SECONDS = 120  # ~10 s of load, plus setup and the check


def locust(live_server: LiveServer, tmp_path: Path, scenario: str, wallets: int, seconds: int) -> tuple[str, Any]:
    """Runs the scenario with 4 users; returns Locust's output and the check's report."""
    report = tmp_path / "check.json"
    # The load generator is not the code under test: no coverage measurement in it (pyproject's subprocess patch).
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    env |= {"WALLET_SCENARIO": scenario, "WALLET_LOAD_WALLETS": str(wallets), "WALLET_LOAD_REPORT": str(report)}
    # ledgercheck from this checkout, whatever checkout the virtualenv's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    # twostep's check reads the test database as the read-only role, as scripts/load.sh has it do.
    env |= {
        "WALLET_LOAD_DSN": f"postgresql://wallet_reader@127.0.0.1:{ENV.get('WALLET_PG_PORT', '55432')}/{TEST_DB}",
        "PGPASSWORD": str(ENV["WALLET_READER_PASSWORD"]),
    }
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py")),
            *("--host", live_server.url, "--headless", "--users", "4", "--spawn-rate", "4"),
            *("--run-time", f"{seconds}s", "--stop-timeout", "5", "--only-summary"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    return out, json.loads(report.read_text())


def test_a_short_locust_transfer_run_passes_its_balance_check(live_server: LiveServer, tmp_path: Path) -> None:
    out, check = locust(live_server, tmp_path, "transfer", wallets=30, seconds=10)
    assert check["ok"] and check["problem_count"] == 0, check
    assert check["wallets"] == 31, check  # 30 payers and the merchant
    assert check["transfers"] > 0 and check["ledger_entries"] == 2 * check["transfers"], check
    assert "balance check passed" in out, out
    assert "twostep" not in check, check


def test_a_short_locust_twostep_run_passes_its_balance_and_hold_checks(live_server: LiveServer, tmp_path: Path) -> None:
    out, check = locust(live_server, tmp_path, "twostep", wallets=8, seconds=8)
    assert check["ok"] and check["problem_count"] == 0, check
    assert check["wallets"] == 9, check  # 8 payers and the payee
    two = check["twostep"]
    assert two["holds"] > 0 and two["captures"] > 0 and two["voids"] > 0, two
    assert two["captures_to_payee"] > 0 and two["captures_withdrawn"] > 0, two
    assert two["expiries"] > 0, two  # holds given 1-3 s, looked at after that
    assert two["verify_ledger_rows"] == 0, two
    assert "balance check passed" in out and "two-step check passed" in out, out
