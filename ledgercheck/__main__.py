"""python -m ledgercheck keys ...: the ledger check of a run whose requests are known by their keys' prefix
(scripts/bench.sh, after each wrk run). Prints one word of verdict with its figures, exits 1 on a mismatch.

    PGPASSWORD=... python -m ledgercheck keys --dsn postgresql://postgres@127.0.0.1:55432/db \\
        --prefix bench-123- --acknowledged 5000 --slack 64 --before 1000000.00

exact(N entries, M unacknowledged): N entries carry the prefix, at least the acknowledged requests and at most
`slack` more (requests in flight when the client stopped); every leg of their transfers, each signed by its own
balance_after arithmetic, moved the sum of all balances from --before to what it is now; and
wallet.verify_ledger() has no rows. Anything else: MISMATCH(...), with the details on stderr."""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal

import asyncpg

from ledgercheck.pg import KeyedRun, check_keyed_run


def verdict(run: KeyedRun, acknowledged: int, slack: int) -> tuple[bool, str]:
    ok = (
        run.sums_match
        and not run.inconsistent
        and not run.problems
        and acknowledged <= run.entries <= acknowledged + slack
    )
    if ok:
        return True, f"exact({run.entries} entries, {run.entries - acknowledged} unacknowledged)"
    return False, (
        f"MISMATCH(entries {run.entries}, acknowledged {acknowledged}, sums match: {'t' if run.sums_match else 'f'}, "
        f"verify_ledger rows: {run.inconsistent}" + (f", bad legs: {len(run.problems)})" if run.problems else ")")
    )


async def keys(args: argparse.Namespace) -> int:
    con = await asyncpg.connect(args.dsn, timeout=10)  # the password: PGPASSWORD, never the command line
    try:
        run = await check_keyed_run(con, args.prefix, Decimal(args.before))
    finally:
        await con.close()
    ok, line = verdict(run, args.acknowledged, args.slack)
    print(line)
    if not ok:
        print(
            f"ledgercheck: sum of balances {run.total_before} before, {run.total_after} after; "
            f"the run's legs moved {run.moved}",
            file=sys.stderr,
        )
        for problem in run.problems[:20]:
            print(f"ledgercheck: {problem}", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledgercheck", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    k = commands.add_parser("keys", help="check a run known by its Idempotency-Keys' prefix (make bench)")
    k.add_argument("--dsn", required=True, help="superuser DSN, without the password (PGPASSWORD)")
    k.add_argument("--prefix", required=True, help="the run's keys start with it")
    k.add_argument("--acknowledged", type=int, required=True, help="requests the client saw acknowledged")
    k.add_argument("--slack", type=int, required=True, help="requests still in flight when the client stopped")
    k.add_argument("--before", required=True, help="the sum of all balances before the run")
    args = parser.parse_args(argv)
    return asyncio.run(keys(args))


if __name__ == "__main__":
    sys.exit(main())
