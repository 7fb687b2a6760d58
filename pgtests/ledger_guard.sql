-- The ledger guard: wallet.operations is append-only. The trigger operations_append_only refuses
-- UPDATE, DELETE and TRUNCATE with WL010 whoever runs them, a superuser included.
BEGIN;
SELECT plan(13);
-- TRUNCATE needs an exclusive lock: fail rather than queue behind another session of the shared stack.
SET LOCAL lock_timeout = '5s';
SET LOCAL client_min_messages = warning;

SELECT has_trigger('wallet', 'operations', 'operations_append_only', 'wallet.operations has the trigger operations_append_only');
SELECT trigger_is('wallet', 'operations', 'operations_append_only', 'wallet', 'refuse_ledger_change',
    'operations_append_only calls wallet.refuse_ledger_change()');
SELECT results_eq(
    $$SELECT tgenabled::text,
             (tgtype & 1) = 0 AS per_statement, (tgtype & 2) <> 0 AS before,
             (tgtype & 4) <> 0 AS on_insert, (tgtype & 8) <> 0 AS on_delete,
             (tgtype & 16) <> 0 AS on_update, (tgtype & 32) <> 0 AS on_truncate
      FROM pg_trigger WHERE tgrelid = 'wallet.operations'::regclass AND tgname = 'operations_append_only'$$,
    $$VALUES ('O', true, true, false, true, true, true)$$,
    'the guard is enabled and fires BEFORE each UPDATE, DELETE and TRUNCATE statement, but not on INSERT');

SELECT FROM wallet.create_wallet(100, '1e000000-0000-4000-8000-000000000001');
SELECT FROM wallet.withdraw('1e000000-0000-4000-8000-000000000001', 30);

SELECT throws_ok(
    $$UPDATE wallet.operations SET amount = 1 WHERE wallet_id = '1e000000-0000-4000-8000-000000000001'$$,
    'WL010', 'the ledger is append-only',
    'UPDATE of a ledger entry raises WL010, even for a superuser');
SELECT throws_ok(
    $$DELETE FROM wallet.operations WHERE wallet_id = '1e000000-0000-4000-8000-000000000001'$$,
    'WL010', 'the ledger is append-only',
    'DELETE of a ledger entry raises WL010, even for a superuser');
SELECT throws_ok(
    $$TRUNCATE wallet.operations$$,
    'WL010', 'the ledger is append-only',
    'TRUNCATE of the ledger raises WL010, even for a superuser');
SELECT throws_ok(
    $$TRUNCATE wallet.wallets CASCADE$$,
    'WL010', 'the ledger is append-only',
    'TRUNCATE wallet.wallets CASCADE raises WL010: the cascade reaches the ledger');
SELECT throws_ok(
    $$UPDATE wallet.operations SET amount = amount WHERE false$$,
    'WL010', 'the ledger is append-only',
    'an UPDATE of the ledger raises WL010 even when it matches no row: the guard is per statement');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after FROM wallet.operations
      WHERE wallet_id = '1e000000-0000-4000-8000-000000000001' ORDER BY seq$$,
    $$VALUES (1::bigint, 'DEPOSIT', 100.00::numeric, 100.00::numeric), (2, 'WITHDRAW', 30.00, 70.00)$$,
    'after the refused statements the ledger still holds its two entries unchanged');
SELECT results_eq(
    $$SELECT seq, balance_after FROM wallet.deposit('1e000000-0000-4000-8000-000000000001', 5)$$,
    $$VALUES (3::bigint, 75.00::numeric)$$,
    'appending still works: a deposit adds entry 3');

-- The owner is refused by privileges before the guard is even reached (pgTAP's temp tables are
-- made writable for it, as in security.sql).
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA %I TO wallet_owner', pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO wallet_owner', pg_my_temp_schema()::regnamespace);
END
$$;
SET LOCAL ROLE wallet_owner;
SELECT throws_ok(
    $$UPDATE wallet.operations SET amount = 1 WHERE wallet_id = '1e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table operations',
    'the table owner wallet_owner may not UPDATE the ledger (42501)');
SELECT throws_ok(
    $$DELETE FROM wallet.operations WHERE wallet_id = '1e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table operations',
    'the table owner wallet_owner may not DELETE from the ledger (42501)');
SELECT throws_ok(
    $$TRUNCATE wallet.operations$$,
    '42501', 'permission denied for table operations',
    'the table owner wallet_owner may not TRUNCATE the ledger (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
