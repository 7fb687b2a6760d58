-- wallet.apply_operation(p_wallet_id, p_operation_type, p_amount, p_idempotency_key) and its
-- shorthands wallet.deposit / wallet.withdraw: one operation, a failure raised as its SQLSTATE.
BEGIN;
SELECT plan(54);

SELECT has_function('wallet', 'apply_operation', ARRAY['uuid', 'text', 'numeric', 'text'], 'wallet.apply_operation(uuid, text, numeric, text) exists');
SELECT has_function('wallet', 'deposit', ARRAY['uuid', 'numeric', 'text'], 'wallet.deposit(uuid, numeric, text) exists');
SELECT has_function('wallet', 'withdraw', ARRAY['uuid', 'numeric', 'text'], 'wallet.withdraw(uuid, numeric, text) exists');

-- a1...01: happy paths, validation, insufficient funds
SELECT FROM wallet.create_wallet(0, 'a1000000-0000-4000-8000-000000000001');

SELECT results_eq(
    $$SELECT wallet_id, seq, operation_type, amount, balance_after, idempotency_key, created_at = now(), replayed
      FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 100)$$,
    $$VALUES ('a1000000-0000-4000-8000-000000000001'::uuid, 1::bigint, 'DEPOSIT', 100.00::numeric, 100.00::numeric, NULL::text, true, false)$$,
    'a DEPOSIT of 100 into an empty wallet returns entry seq 1 with balance_after 100.00');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after, replayed
      FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', 30.5)$$,
    $$VALUES (2::bigint, 'WITHDRAW', 30.50::numeric, 69.50::numeric, false)$$,
    'a WITHDRAW of 30.5 returns entry seq 2 with balance_after 69.50');
SELECT results_eq(
    $$SELECT seq, amount, balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 0.01)$$,
    $$VALUES (3::bigint, 0.01::numeric, 69.51::numeric)$$,
    'the smallest amount, 0.01, is accepted');
SELECT results_eq(
    $$SELECT seq, amount, balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 1.000)$$,
    $$VALUES (4::bigint, 1.00::numeric, 70.51::numeric)$$,
    'an amount written with more than 2 decimals but whole cents (1.000) is accepted');

SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 1.001)$$,
    'WL003', 'invalid amount', 'a DEPOSIT of 1.001 (a fraction of a cent) raises WL003 rather than being rounded');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', 1.001)$$,
    'WL003', 'invalid amount', 'a WITHDRAW of 1.001 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 0)$$,
    'WL003', 'invalid amount', 'an amount of 0 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', -1)$$,
    'WL003', 'invalid amount', 'a negative amount (-1) raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', -1)$$,
    'WL003', 'invalid amount', 'a negative WITHDRAW (-1), which would be a deposit in disguise, raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', NULL)$$,
    'WL003', 'invalid amount', 'a NULL amount raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 'NaN')$$,
    'WL003', 'invalid amount', 'an amount of NaN raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 'Infinity')$$,
    'WL003', 'invalid amount', 'an amount of Infinity raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', '-Infinity')$$,
    'WL003', 'invalid amount', 'an amount of -Infinity raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'DEPOSIT', 1000000000000000000)$$,
    'WL003', 'invalid amount', 'an amount above 999999999999999999.99 raises WL003');

SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'deposit', 1)$$,
    'WL004', 'invalid operation type', 'the operation type deposit in lowercase raises WL004: types are case-sensitive');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', NULL, 1)$$,
    'WL004', 'invalid operation type', 'a NULL operation type raises WL004');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'TRANSFER', 1)$$,
    'WL004', 'invalid operation type', 'an unknown operation type (TRANSFER) raises WL004');

SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', 70.52)$$,
    'WL002', 'insufficient funds', 'withdrawing 70.52 from a balance of 70.51 raises WL002');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a1000000-0000-4000-8000-000000000001')$$,
    $$VALUES (70.51::numeric, 4::bigint)$$,
    'after the refused operations the balance is still 70.51 and the version still 4');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after FROM wallet.operations
      WHERE wallet_id = 'a1000000-0000-4000-8000-000000000001' ORDER BY seq$$,
    $$VALUES (1::bigint, 'DEPOSIT', 100.00::numeric, 100.00::numeric), (2, 'WITHDRAW', 30.50, 69.50),
             (3, 'DEPOSIT', 0.01, 69.51), (4, 'DEPOSIT', 1.00, 70.51)$$,
    'the ledger holds exactly the four applied operations and no row for the refused ones');
SELECT results_eq(
    $$SELECT seq, balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000001', 'WITHDRAW', 70.51)$$,
    $$VALUES (5::bigint, 0.00::numeric)$$,
    'withdrawing exactly the whole balance is allowed and leaves 0.00');

SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-0000000000ff', 'DEPOSIT', 1)$$,
    'WL001', 'wallet not found', 'an operation on an unknown wallet raises WL001');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation(NULL, 'DEPOSIT', 1)$$,
    'WL009', 'invalid argument', 'an operation with a NULL wallet id raises WL009');
SELECT is_empty($$SELECT * FROM wallet.operations WHERE wallet_id = 'a1000000-0000-4000-8000-0000000000ff'$$,
    'the operation on an unknown wallet wrote nothing');

-- a1...02: the largest balance
SELECT FROM wallet.create_wallet(0, 'a1000000-0000-4000-8000-000000000002');
SELECT results_eq(
    $$SELECT balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000002', 'DEPOSIT', 999999999999999999.99)$$,
    $$VALUES (999999999999999999.99::numeric)$$,
    'the largest amount, 999999999999999999.99, is accepted as a deposit into an empty wallet');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000002', 'DEPOSIT', 0.01)$$,
    'WL006', 'balance limit exceeded', 'depositing 0.01 into a wallet at the largest balance raises WL006');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a1000000-0000-4000-8000-000000000002')$$,
    $$VALUES (999999999999999999.99::numeric, 1::bigint)$$,
    'the refused deposit leaves the wallet at the largest balance, version 1');
SELECT FROM wallet.create_wallet(1, 'a1000000-0000-4000-8000-000000000003');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000003', 'DEPOSIT', 999999999999999999.99)$$,
    'WL006', 'balance limit exceeded', 'depositing the largest amount into a wallet holding 1.00 raises WL006');
SELECT results_eq(
    $$SELECT balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000003', 'DEPOSIT', 999999999999999998.99)$$,
    $$VALUES (999999999999999999.99::numeric)$$,
    'a deposit that reaches exactly the largest balance is accepted');

-- a1...04: idempotency
SELECT FROM wallet.create_wallet(100, 'a1000000-0000-4000-8000-000000000004');
SELECT results_eq(
    $$SELECT seq, balance_after, idempotency_key, replayed
      FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'WITHDRAW', 10, 'pgtap-op-1')$$,
    $$VALUES (2::bigint, 90.00::numeric, 'pgtap-op-1', false)$$,
    'a WITHDRAW of 10 with a new idempotency key is applied (replayed false)');
SELECT results_eq(
    $$SELECT operation_id, seq, operation_type, amount, balance_after, idempotency_key, replayed
      FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'WITHDRAW', 10.00, 'pgtap-op-1')$$,
    $$SELECT id, seq, operation_type, amount, balance_after, idempotency_key, true FROM wallet.operations
      WHERE wallet_id = 'a1000000-0000-4000-8000-000000000004' AND idempotency_key = 'pgtap-op-1'$$,
    'repeating it with the same key returns the original entry (same operation_id, seq 2, balance_after 90.00) with replayed true');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a1000000-0000-4000-8000-000000000004')$$,
    $$VALUES (90.00::numeric, 2::bigint)$$,
    'the replay withdrew nothing more and added no ledger entry: balance 90.00, version 2');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'WITHDRAW', 11, 'pgtap-op-1')$$,
    'WL005', 'idempotency key reused with a different request', 'the same key with another amount raises WL005');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'DEPOSIT', 10, 'pgtap-op-1')$$,
    'WL005', 'idempotency key reused with a different request', 'the same key with another operation type raises WL005');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'DEPOSIT', 1, repeat('k', 256))$$,
    'WL007', 'invalid idempotency key', 'an idempotency key of 256 characters raises WL007');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'DEPOSIT', 1, '')$$,
    'WL007', 'invalid idempotency key', 'an empty idempotency key raises WL007');
SELECT results_eq(
    $$SELECT balance_after, replayed FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'DEPOSIT', 1, repeat('k', 255))$$,
    $$VALUES (91.00::numeric, false)$$,
    'an idempotency key of 255 characters is accepted');
SELECT results_eq(
    $$SELECT seq, replayed FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000003', 'WITHDRAW', 10, 'pgtap-op-1')$$,
    $$VALUES (3::bigint, false)$$,
    'a key is scoped to its wallet: the same key on another wallet is a new operation');
SELECT results_eq(
    $$SELECT balance_after FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'WITHDRAW', 91, 'pgtap-op-all')$$,
    $$VALUES (0.00::numeric)$$,
    'withdrawing the whole balance of 91.00 with a key leaves 0.00');
SELECT results_eq(
    $$SELECT seq, balance_after, replayed FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000004', 'WITHDRAW', 91, 'pgtap-op-all')$$,
    $$VALUES (4::bigint, 0.00::numeric, true)$$,
    'replaying a WITHDRAW the balance can no longer cover returns the original entry instead of raising WL002');

-- a1...05: apply_operation raises, which rolls its refusal record back with it: its key stays free
-- (apply_operations, which reports instead of raising, keeps the record: see apply_operations.sql)
SELECT FROM wallet.create_wallet(0, 'a1000000-0000-4000-8000-000000000005');
SELECT throws_ok($$SELECT * FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000005', 'WITHDRAW', 5, 'pgtap-op-retry')$$,
    'WL002', 'insufficient funds', 'withdrawing 5 from an empty wallet with a key raises WL002');
SELECT is_empty($$SELECT * FROM wallet.operations WHERE wallet_id = 'a1000000-0000-4000-8000-000000000005'$$,
    'the failed WITHDRAW left no ledger entry');
SELECT FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000005', 'DEPOSIT', 8);
SELECT results_eq(
    $$SELECT seq, balance_after, replayed FROM wallet.apply_operation('a1000000-0000-4000-8000-000000000005', 'WITHDRAW', 5, 'pgtap-op-retry')$$,
    $$VALUES (2::bigint, 3.00::numeric, false)$$,
    'after a deposit the same key succeeds as a new operation: the raised refusal was rolled back, record and all');

-- a1...06: wallet.deposit and wallet.withdraw
SELECT FROM wallet.create_wallet(0, 'a1000000-0000-4000-8000-000000000006');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after, idempotency_key, replayed
      FROM wallet.deposit('a1000000-0000-4000-8000-000000000006', 12.34, 'pgtap-dep-1')$$,
    $$VALUES (1::bigint, 'DEPOSIT', 12.34::numeric, 12.34::numeric, 'pgtap-dep-1', false)$$,
    'wallet.deposit applies a DEPOSIT');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after, replayed FROM wallet.withdraw('a1000000-0000-4000-8000-000000000006', 2.34)$$,
    $$VALUES (2::bigint, 'WITHDRAW', 2.34::numeric, 10.00::numeric, false)$$,
    'wallet.withdraw applies a WITHDRAW');
SELECT results_eq(
    $$SELECT seq, balance_after, replayed FROM wallet.deposit('a1000000-0000-4000-8000-000000000006', 12.34, 'pgtap-dep-1')$$,
    $$VALUES (1::bigint, 12.34::numeric, true)$$,
    'wallet.deposit with a used key replays the original entry');
SELECT throws_ok($$SELECT * FROM wallet.withdraw('a1000000-0000-4000-8000-000000000006', 12.34, 'pgtap-dep-1')$$,
    'WL005', 'idempotency key reused with a different request', 'wallet.withdraw with the key of a deposit raises WL005');
SELECT throws_ok($$SELECT * FROM wallet.withdraw('a1000000-0000-4000-8000-000000000006', 10.01)$$,
    'WL002', 'insufficient funds', 'wallet.withdraw beyond the balance raises WL002');
SELECT throws_ok($$SELECT * FROM wallet.deposit('a1000000-0000-4000-8000-000000000006', 0)$$,
    'WL003', 'invalid amount', 'wallet.deposit of 0 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.deposit('a1000000-0000-4000-8000-0000000000ff', 1)$$,
    'WL001', 'wallet not found', 'wallet.deposit into an unknown wallet raises WL001');

SELECT is_empty(
    $$SELECT v.* FROM wallet.wallets AS w, LATERAL wallet.verify_ledger(w.id) AS v
      WHERE w.id BETWEEN 'a1000000-0000-4000-8000-000000000000' AND 'a1000000-0000-4000-8000-0000000000ff'$$,
    'every wallet used in this file is consistent with its ledger');

SELECT * FROM finish();
ROLLBACK;
