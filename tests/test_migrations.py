"""Liquibase: the changelog deploys on an empty database, a second update is a no-op, and the last
changeset rolls back and forward again. Runs on a scratch database of its own."""

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
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


async def _has_last_function(con: asyncpg.Connection) -> bool:
    """Whether wallet.balance_at exists (the last changeset creates it)."""
    return bool(await con.fetchval("SELECT to_regproc('wallet.balance_at') IS NOT NULL"))


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
    assert changesets[-1][0] == "fn-balance-at"
    assert await _has_last_function(scratch)
    stack("liquibase", SCRATCH, "rollback-count", "--count=1")
    assert await _changesets(scratch) == changesets[:-1]
    assert not await _has_last_function(scratch)
    stack("migrate", SCRATCH)
    assert [c[0] for c in await _changesets(scratch)] == [c[0] for c in changesets]
    assert await _has_last_function(scratch)


# The last release before transfers (1.0.0): a database it migrated is upgraded by today's changelog.
RELEASE_1_0 = "3ea7fdf"
UPGRADE = f"{ENV.get('WALLET_DB', 'wallet')}_upgrade"


def liquibase_in(tree: Path, db: str, *args: str) -> None:
    env = {
        **os.environ,
        "LIQUIBASE_COMMAND_URL": f"jdbc:postgresql://127.0.0.1:{ENV.get('WALLET_PG_PORT', '55432')}/{db}",
        "LIQUIBASE_COMMAND_USERNAME": "postgres",
        "LIQUIBASE_COMMAND_PASSWORD": ENV["POSTGRES_PASSWORD"],
        "LIQUIBASE_COMMAND_CHANGELOG_FILE": "liquibase/changelog.yaml",
        "LIQUIBASE_SEARCH_PATH": ".",
        "LIQUIBASE_SHOW_BANNER": "false",
        "LIQUIBASE_LOG_LEVEL": "SEVERE",
    }
    liquibase = ROOT / "node_modules/liquibase/dist/liquibase/liquibase"
    done = subprocess.run(
        [str(liquibase), *args], cwd=tree, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def release_tree(commit: str, into: Path) -> Path:
    """The changelog and SQL of a past commit, from this repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "liquibase", "sql"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


async def test_a_release_1_0_database_upgrades_without_changing_a_cent_or_an_id(tmp_path: Path) -> None:
    release_tree(RELEASE_1_0, tmp_path)
    postgres = await asyncpg.connect(admin_dsn("postgres"))
    await postgres.execute(f'DROP DATABASE IF EXISTS "{UPGRADE}" WITH (FORCE)')
    await postgres.execute(f'CREATE DATABASE "{UPGRADE}"')
    try:
        liquibase_in(tmp_path, UPGRADE, "update")
        con = await asyncpg.connect(admin_dsn(UPGRADE))
        try:
            await con.execute("""
                SELECT wallet.create_wallet(100, ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid)
                FROM generate_series(1, 20) AS i;
                SELECT wallet.deposit(
                    ('00000000-0000-4000-8000-' || lpad((1 + i % 20)::text, 12, '0'))::uuid, 1.25, 'k' || i)
                FROM generate_series(1, 200) AS i;
                SELECT wallet.apply_operations(('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
                    '{WITHDRAW,WITHDRAW}', '{30.5,500}', ARRAY['w' || i, 'r' || i])
                FROM generate_series(1, 20) AS i;
            """)
            entries = await con.fetch(
                "SELECT wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at "
                "FROM wallet.operations ORDER BY 1, 2"
            )
            wallets = await con.fetch(
                "SELECT id, balance, version, initial_balance, created_at FROM wallet.wallets ORDER BY id"
            )
            assert len(entries) == 240 and await con.fetchval("SELECT count(*) FROM wallet.refusals") == 20
        finally:
            await con.close()

        stack("migrate", UPGRADE)
        con = await asyncpg.connect(admin_dsn(UPGRADE))
        try:
            after = await con.fetch(
                "SELECT wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at, "
                "transfer_id FROM wallet.operations ORDER BY 1, 2"
            )
            assert [tuple(r)[:8] for r in after] == [tuple(r) for r in entries], "a ledger entry changed"
            assert all(r["transfer_id"] == r["id"] for r in after), "an old entry is not its own one-leg transfer"
            upgraded = await con.fetch(
                "SELECT id, balance, version, initial_balance, created_at, currency FROM wallet.wallets ORDER BY id"
            )
            assert [tuple(r)[:5] for r in upgraded] == [tuple(r) for r in wallets], "a wallet changed"
            assert {r["currency"] for r in upgraded} == {"USD"}
            assert await con.fetch("SELECT * FROM wallet.verify_ledger()") == []
            refused = await con.fetchrow(
                "SELECT error_code, replayed FROM wallet.apply_operations("
                "'00000000-0000-4000-8000-000000000003', '{WITHDRAW}', '{500}', '{r3}')"
            )
            assert tuple(refused) == ("WL002", True), "a refusal recorded before the upgrade is no longer final"
            moved = await con.fetchrow(
                "SELECT kind, balance_after FROM wallet.transfer("
                "'00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 10)"
            )
            assert tuple(moved) == ("TRANSFER", Decimal("72.00"))  # 100 + 10 x 1.25 - 30.50 - 10
        finally:
            await con.close()
    finally:
        await postgres.execute(f'DROP DATABASE IF EXISTS "{UPGRADE}" WITH (FORCE)')
        await postgres.close()
