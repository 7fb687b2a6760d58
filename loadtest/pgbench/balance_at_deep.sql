-- The balance of the wallet with a long ledger (-D deep=<uuid>; one entry a millisecond for -D entries ms)
-- at a random moment of its history: one backward probe of operations_wallet_time, whatever its length.
SELECT * FROM wallet.balance_at(:deep::uuid, now() - random() * :entries::int * interval '1 millisecond');
