-- A DBA's tour of the wallet API (`make psql`, then paste). It runs in a transaction that is rolled
-- back at the end, so it leaves nothing behind; errors are shown without ending the session.
\set ON_ERROR_STOP off
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
-- A wallet with 100.00; the opening balance is its first ledger entry.
SELECT wallet_id, balance, version
FROM wallet.create_wallet(100.00, 'a0000000-0000-0000-0000-000000000001');
-- A deposit with an idempotency key; repeating it changes nothing and returns the same entry.
SELECT seq, operation_type, amount, balance_after, replayed
FROM wallet.deposit('a0000000-0000-0000-0000-000000000001', 25.50, 'invoice-42');
SELECT seq, operation_type, amount, balance_after, replayed
FROM wallet.deposit('a0000000-0000-0000-0000-000000000001', 25.50, 'invoice-42');
-- Errors carry a stable SQLSTATE, a message, the facts and a hint.
SELECT * FROM wallet.withdraw('a0000000-0000-0000-0000-000000000001', 1000);
SELECT * FROM wallet.deposit('a0000000-0000-0000-0000-000000000001', 1.001);
-- A batch: applied in order, one transaction; a failing element is reported in its row.
SELECT ordinal, seq, operation_type, amount, balance_after, error_code
FROM wallet.apply_operations('a0000000-0000-0000-0000-000000000001',
    ARRAY['WITHDRAW', 'WITHDRAW', 'DEPOSIT'], ARRAY[25.50, 500, 0.25]);
-- A transfer to a second wallet: one transfer, two legs (TRANSFER_OUT, TRANSFER_IN), one currency.
SELECT wallet_id, balance, currency FROM wallet.create_wallet(0, 'a0000000-0000-0000-0000-000000000002');
SELECT kind, amount, currency, seq, balance_after, counter_seq, replayed
FROM wallet.transfer('a0000000-0000-0000-0000-000000000001', 'a0000000-0000-0000-0000-000000000002',
    40, 'rent-2026-12', '{"memo": "December rent"}');
SELECT kind, from_wallet_id, to_wallet_id, amount, metadata
FROM wallet.get_transfer((SELECT transfer_id FROM wallet.list_operations('a0000000-0000-0000-0000-000000000002')));
-- Double entry: every transfer's postings sum to zero; a deposit's other leg is the outside world.
SELECT kind, account, amount FROM wallet.postings
WHERE transfer_id IN (SELECT transfer_id FROM wallet.list_operations('a0000000-0000-0000-0000-000000000002'))
ORDER BY amount;
-- A JPY wallet takes no fraction of a yen, and a transfer moves one currency only.
SELECT wallet_id, balance, currency
FROM wallet.create_wallet(500, 'a0000000-0000-0000-0000-000000000003', NULL, 'JPY');
SELECT * FROM wallet.deposit('a0000000-0000-0000-0000-000000000003', 0.5);
SELECT * FROM wallet.transfer('a0000000-0000-0000-0000-000000000001', 'a0000000-0000-0000-0000-000000000003', 5);
-- The ledger, oldest first (page with p_after => the last seq seen).
SELECT seq, operation_type, amount, balance_after, idempotency_key, metadata
FROM wallet.list_operations('a0000000-0000-0000-0000-000000000001');
SELECT balance, version FROM wallet.get_wallet('a0000000-0000-0000-0000-000000000001');
-- No rows: the balance equals the ledger, and every transfer of the wallet is balanced.
SELECT * FROM wallet.verify_ledger('a0000000-0000-0000-0000-000000000001');
ROLLBACK;
