"""The security model from outside: PgBouncer refuses a wrong password, the API's role cannot touch
the tables, and no SQL is ever built from strings (every value travels as a bound parameter)."""

import ast
import re
from pathlib import Path

import asyncpg
import pytest

from api.settings import Settings
from tests.conftest import ENV, TEST_DB

ROOT = Path(__file__).resolve().parent.parent
QUERY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany"}


async def through_pgbouncer(
    settings: Settings, user: str = "wallet_app", password: str | None = None
) -> asyncpg.Connection:
    """A login to the test database through PgBouncer (the application role's password by default)."""
    return await asyncpg.connect(
        host=settings.db_host,
        port=settings.db_port,
        user=user,
        password=settings.db_password.get_secret_value() if password is None else password,
        database=TEST_DB,
        statement_cache_size=0,
        timeout=10,
    )


async def test_pgbouncer_refuses_a_wrong_password_and_still_accepts_the_right_one(settings: Settings) -> None:
    # PgBouncer answers for PostgreSQL here (08P01 with its own message).
    with pytest.raises(asyncpg.PostgresError, match="SASL authentication failed"):
        await through_pgbouncer(settings, password="wrong")  # noqa: S106
    con = await through_pgbouncer(settings)
    assert await con.fetchval("SELECT current_user") == "wallet_app"
    await con.close()


async def test_pgbouncer_refuses_an_unknown_user_and_a_superuser(settings: Settings) -> None:
    for user, password in (("nobody", "x"), ("postgres", ENV["POSTGRES_PASSWORD"])):
        # auth_query returns no secret for an unknown role nor for a superuser: PgBouncer knows neither.
        with pytest.raises(asyncpg.PostgresError, match=r"no such user|SASL authentication failed"):
            await through_pgbouncer(settings, user, password)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO wallet.wallets (id, balance, version, initial_balance, created_at, updated_at) "
        "VALUES (gen_random_uuid(), 1, 0, 1, now(), now())",
        "UPDATE wallet.wallets SET balance = balance + 1",
        "DELETE FROM wallet.operations",
        "SELECT count(*) FROM wallet.operations",
    ],
)
async def test_the_api_role_cannot_touch_the_tables_through_pgbouncer(settings: Settings, statement: str) -> None:
    con = await through_pgbouncer(settings)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await con.execute(statement)
    finally:
        await con.close()


def test_every_query_in_the_api_is_a_constant_with_bound_parameters() -> None:
    """A query method's SQL argument must be a string literal (or a name bound to one): no f-string,
    concatenation or format() can ever put a value into SQL text."""
    checked = 0
    for path in sorted((ROOT / "api").rglob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {
            t.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in QUERY_METHODS:
                sql = node.args[0] if node.args else None
                ok = (isinstance(sql, ast.Constant) and isinstance(sql.value, str)) or (
                    isinstance(sql, ast.Name) and sql.id in constants
                )
                assert ok, f"{path.name}:{node.lineno}: SQL passed to {node.func.attr}() is not a constant"
                checked += 1
    assert checked >= 5, "found too few queries: the check is not looking at the right code"


def test_the_sql_functions_build_no_dynamic_sql() -> None:
    """The wallet functions run only static statements: no EXECUTE of built text."""
    for path in sorted((ROOT / "sql").rglob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        assert not re.search(r"\bEXECUTE\s+(format|'|\w+\s*\|\|)", text, re.I), f"dynamic SQL in {path.name}"
