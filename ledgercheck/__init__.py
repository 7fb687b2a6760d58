"""Is the ledger exactly what the clients were told? One check, used by scripts/chaos.py, loadtest/locustfile.py,
scripts/bench.sh (python -m ledgercheck) and the tests.

It never restates what an entry kind does to a balance (wallet.entry_kinds defines that, once): an entry's effect
is read from the ledger's own arithmetic (balance_after minus the balance before it), and a client request's
expected effect is its intent (-amount on the source, +amount on the destination).

  core   Entry, Snapshot, Movement; walk() one wallet; reconcile() requests with entries -> Report
  tally  Tally and check_wallet(): the per-wallet aggregate for long load runs, with a transfer fingerprint
  holds  Told (what two-step payment clients were told) and check_holds() against wallet.holds
  pg     load() wallets' entries, states and verify_ledger() rows with asyncpg, load_holds(); check_keyed_run()
  http   read_wallet(): a wallet's state and entries over the HTTP API (synchronous)
"""

from ledgercheck.core import COUNTS, Entry, Movement, Outcome, Report, Snapshot, Walk, reconcile, walk
from ledgercheck.holds import Capture, Hold, Told, check_holds
from ledgercheck.tally import Tally, check_wallet, fingerprint, fingerprint_ok

__all__ = [
    "COUNTS",
    "Capture",
    "Entry",
    "Hold",
    "Movement",
    "Outcome",
    "Report",
    "Snapshot",
    "Tally",
    "Told",
    "Walk",
    "check_holds",
    "check_wallet",
    "fingerprint",
    "fingerprint_ok",
    "reconcile",
    "walk",
]
