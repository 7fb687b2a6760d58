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
-- The ledger, oldest first (page with p_after => the last seq seen).
SELECT seq, operation_type, amount, balance_after, idempotency_key
FROM wallet.list_operations('a0000000-0000-0000-0000-000000000001');
SELECT balance, version FROM wallet.get_wallet('a0000000-0000-0000-0000-000000000001');
-- No rows: the balance equals the ledger.
SELECT * FROM wallet.verify_ledger('a0000000-0000-0000-0000-000000000001');
ROLLBACK;
