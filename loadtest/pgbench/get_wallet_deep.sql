-- Read the wallet with a long ledger (-D deep=<uuid>): the baseline of balance_at_deep.sql.
SELECT * FROM wallet.get_wallet(:deep::uuid);
