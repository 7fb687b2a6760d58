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


async def _has_guard(con: asyncpg.Connection) -> bool:
    return bool(await con.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname = 'operations_append_only'"))


async def test_second_update_changes_nothing(migrated: str, scratch: asyncpg.Connection) -> None:
    assert "Run:" in migrated
    before = await _changesets(scratch)
    out = stack("migrate", SCRATCH)
    assert "Run:                          0" in out, out
    assert await _changesets(scratch) == before


async def test_last_changeset_rolls_back_and_forward(scratch: asyncpg.Connection) -> None:
    count = len(await _changesets(scratch))
    assert await _has_guard(scratch)
    stack("liquibase", SCRATCH, "rollback-count", "--count=1")
    assert not await _has_guard(scratch)
    assert len(await _changesets(scratch)) == count - 1
    stack("migrate", SCRATCH)
    assert await _has_guard(scratch)
    assert len(await _changesets(scratch)) == count
