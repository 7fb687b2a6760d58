"""The README's psql session is a runnable example with golden output: running it must print exactly
the output the README shows, so the documentation cannot rot."""

import subprocess
from pathlib import Path

from tests.conftest import ENV, TEST_DB

ROOT = Path(__file__).resolve().parent.parent
SESSION = ROOT / "sql/examples/readme_session.sql"
GOLDEN = ROOT / "sql/examples/readme_session.out"


def run_session() -> str:
    done = subprocess.run(
        [
            "psql",
            "-X",
            "-a",
            "-h",
            "127.0.0.1",
            "-p",
            ENV.get("WALLET_PG_PORT", "55432"),
            "-U",
            "postgres",
            "-d",
            TEST_DB,
        ],
        stdin=SESSION.open(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env={"PGPASSWORD": ENV["POSTGRES_PASSWORD"], "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        check=False,
    )
    return done.stdout


def test_readme_psql_session_prints_its_golden_output() -> None:
    assert run_session() == GOLDEN.read_text()


def test_readme_shows_the_session_and_its_output() -> None:
    readme = (ROOT / "README.md").read_text()
    assert GOLDEN.read_text().strip() in readme
