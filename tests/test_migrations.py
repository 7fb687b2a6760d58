"""Liquibase: the changelog deploys on an empty database, a second update is a no-op, and the last
changeset rolls back and forward again. Runs on a scratch database of its own."""

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import ENV

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = f"{ENV.get('WALLET_DB', 'wallet')}_migrations"


def stack(*args: str) -> str:
    done = subprocess.run(
        [str(ROOT / "scripts/stack.sh"), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def admin_dsn(db: str) -> str:
    return f"postgresql://postgres:{ENV['POSTGRES_PASSWORD']}@127.0.0.1:{ENV.get('WALLET_PG_PORT', '55432')}/{db}"


@pytest.fixture(scope="module")
def migrated() -> Iterator[str]:
    yield stack("migrate", SCRATCH)


@pytest.fixture(scope="module")
async def scratch(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    con = await asyncpg.connect(admin_dsn(SCRATCH))
    yield con
    await con.close()
    postgres = await asyncpg.connect(admin_dsn("postgres"))
    await postgres.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
    await postgres.close()


async def _changesets(con: asyncpg.Connection) -> list[tuple[str, str]]:
    rows = await con.fetch("SELECT id, md5sum FROM databasechangelog ORDER BY orderexecuted")
    return [(r["id"], r["md5sum"]) for r in rows]


async def _has_transfer(con: asyncpg.Connection) -> bool:
    """Whether wallet.transfer exists (the last changeset creates it)."""
    return bool(await con.fetchval("SELECT to_regproc('wallet.transfer') IS NOT NULL"))


async def _app_settings(con: asyncpg.Connection) -> list[str]:
    """wallet_app's settings in this database (a changeset sets them per database)."""
    value = await con.fetchval(
        "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE d.datname = current_database() AND s.setrole = 'wallet_app'::regrole"
    )
    return sorted(value or [])


async def test_second_update_changes_nothing(migrated: str, scratch: asyncpg.Connection) -> None:
    assert "Run:" in migrated
    before = await _changesets(scratch)
    out = stack("migrate", SCRATCH)
    assert "Run:                          0" in out, out
    assert await _changesets(scratch) == before
    assert await _app_settings(scratch) == [
        "idle_in_transaction_session_timeout=10s",
        "lock_timeout=4s",
        "statement_timeout=8s",
    ]


async def test_last_changeset_rolls_back_and_forward(scratch: asyncpg.Connection) -> None:
    changesets = await _changesets(scratch)
    assert changesets[-1][0] == "fn-transfer"
    assert await _has_transfer(scratch)
    stack("liquibase", SCRATCH, "rollback-count", "--count=1")
    assert await _changesets(scratch) == changesets[:-1]
    assert not await _has_transfer(scratch)
    stack("migrate", SCRATCH)
    assert [c[0] for c in await _changesets(scratch)] == [c[0] for c in changesets]
    assert await _has_transfer(scratch)
