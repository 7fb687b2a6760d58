"""The SQLSTATE table exists once in the database; the API's mapping and the README must agree with it."""

import re
from pathlib import Path

import asyncpg

from api.errors import SQLSTATES

README = Path(__file__).resolve().parent.parent / "README.md"


async def test_api_mapping_matches_the_database_error_codes(admin: asyncpg.Pool) -> None:
    rows = await admin.fetch("SELECT sqlstate, name, message, http_status FROM wallet.error_codes()")
    in_db = {r["sqlstate"]: (r["name"], r["message"], r["http_status"]) for r in rows}
    in_api = {s: (k.code, k.title, k.status) for s, k in SQLSTATES.items()}
    assert in_api == in_db


async def test_readme_error_table_matches_the_database(admin: asyncpg.Pool) -> None:
    rows = await admin.fetch("SELECT sqlstate, name, http_status FROM wallet.error_codes()")
    text = README.read_text()
    for r in rows:
        pattern = rf"\|\s*`?{r['sqlstate']}`?\s*\|\s*`?{r['name']}`?\s*\|\s*{r['http_status']}\s*\|"
        assert re.search(pattern, text), f"README lacks the row for {r['sqlstate']} {r['name']} {r['http_status']}"
