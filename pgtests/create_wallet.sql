-- wallet.create_wallet(p_initial_balance, p_wallet_id, p_idempotency_key)
BEGIN;
SELECT plan(35);

SELECT has_function('wallet', 'create_wallet', ARRAY['numeric', 'uuid', 'text', 'text'], 'wallet.create_wallet(numeric, uuid, text, text) exists');

-- Defaults
SELECT results_eq(
    $$SELECT balance, version, replayed FROM wallet.create_wallet()$$,
    $$VALUES (0.00::numeric, 0::bigint, false)$$,
    'create_wallet() with no argument returns a new wallet with balance 0, version 0, replayed false');
SELECT isnt(
    (SELECT wallet_id FROM wallet.create_wallet()), (SELECT wallet_id FROM wallet.create_wallet()),
    'two calls without an id or key create two wallets with different generated ids');
SELECT results_eq(
    $$SELECT wallet_id, balance, version, replayed FROM wallet.create_wallet(p_wallet_id => 'c0000000-0000-4000-8000-000000000001')$$,
    $$VALUES ('c0000000-0000-4000-8000-000000000001'::uuid, 0.00::numeric, 0::bigint, false)$$,
    'an explicit p_wallet_id is used as the wallet id; the balance defaults to 0');
SELECT results_eq(
    $$SELECT balance, version, initial_balance, creation_key, created_at = now(), updated_at = now()
      FROM wallet.wallets WHERE id = 'c0000000-0000-4000-8000-000000000001'$$,
    $$VALUES (0.00::numeric, 0::bigint, 0.00::numeric, NULL::text, true, true)$$,
    'the stored wallet has balance 0, version 0, initial_balance 0, no creation key, and created_at = updated_at = now()');
SELECT is_empty(
    $$SELECT * FROM wallet.operations WHERE wallet_id = 'c0000000-0000-4000-8000-000000000001'$$,
    'a wallet created with balance 0 has no ledger entry');

-- Initial balance
SELECT results_eq(
    $$SELECT wallet_id, balance, version, replayed FROM wallet.create_wallet(100.50, 'c0000000-0000-4000-8000-000000000002')$$,
    $$VALUES ('c0000000-0000-4000-8000-000000000002'::uuid, 100.50::numeric, 1::bigint, false)$$,
    'a wallet created with 100.50 starts with balance 100.50 and version 1');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after, idempotency_key FROM wallet.operations
      WHERE wallet_id = 'c0000000-0000-4000-8000-000000000002'$$,
    $$VALUES (1::bigint, 'DEPOSIT', 100.50::numeric, 100.50::numeric, NULL::text)$$,
    'the initial balance becomes ledger entry seq 1: a DEPOSIT of 100.50 with balance_after 100.50');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('c0000000-0000-4000-8000-000000000002')$$,
    'a wallet created with an initial balance is consistent with its ledger');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.create_wallet(999999999999999999.99, 'c0000000-0000-4000-8000-000000000003')$$,
    $$VALUES (999999999999999999.99::numeric, 1::bigint)$$,
    'the largest initial balance, 999999999999999999.99, is accepted');
SELECT results_eq(
    $$SELECT balance FROM wallet.create_wallet(0.01, 'c0000000-0000-4000-8000-000000000004')$$,
    $$VALUES (0.01::numeric)$$,
    'the smallest positive initial balance, 0.01, is accepted');

-- Duplicate explicit id
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(5, 'c0000000-0000-4000-8000-000000000001')$$,
    'WL008', 'wallet already exists',
    'creating a wallet with the id of an existing wallet raises WL008');
SELECT results_eq(
    $$SELECT balance, version, initial_balance FROM wallet.wallets WHERE id = 'c0000000-0000-4000-8000-000000000001'$$,
    $$VALUES (0.00::numeric, 0::bigint, 0.00::numeric)$$,
    'the refused duplicate leaves the existing wallet unchanged');
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(100.50, 'c0000000-0000-4000-8000-000000000002', 'pgtap-create-wallet-not-its-key')$$,
    'WL008', 'wallet already exists',
    'an existing id with an idempotency key that did not create that wallet raises WL008, not a replay');

-- Idempotency key, no explicit id: the id derives from the key
SELECT results_eq(
    $$SELECT balance, version, replayed FROM wallet.create_wallet(25, NULL, 'pgtap-create-wallet-key-1')$$,
    $$VALUES (25.00::numeric, 1::bigint, false)$$,
    'the first call with an idempotency key creates the wallet (replayed false)');
SELECT results_eq(
    $$SELECT wallet_id, balance, version, replayed FROM wallet.create_wallet(25, NULL, 'pgtap-create-wallet-key-1')$$,
    $$SELECT id, 25.00::numeric, 1::bigint, true FROM wallet.wallets WHERE creation_key = 'pgtap-create-wallet-key-1'$$,
    'repeating the call with the same key returns the same wallet with replayed true');
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM wallet.wallets WHERE creation_key = 'pgtap-create-wallet-key-1'),
             (SELECT count(*) FROM wallet.operations AS o JOIN wallet.wallets AS w ON w.id = o.wallet_id
              WHERE w.creation_key = 'pgtap-create-wallet-key-1')$$,
    $$VALUES (1::bigint, 1::bigint)$$,
    'the repeat created nothing: one wallet with that key and one ledger entry');
SELECT results_eq(
    $$SELECT replayed FROM wallet.create_wallet(25.000, NULL, 'pgtap-create-wallet-key-1')$$,
    $$VALUES (true)$$,
    'an initial balance that differs only in scale (25.000 for 25) is the same request and replays');
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(26, NULL, 'pgtap-create-wallet-key-1')$$,
    'WL005', 'idempotency key reused with a different request',
    'the same key with another initial balance raises WL005');
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(0, NULL, 'pgtap-create-wallet-key-1')$$,
    'WL005', 'idempotency key reused with a different request',
    'the same key with initial balance 0 instead of 25 raises WL005');
SELECT FROM wallet.deposit((SELECT id FROM wallet.wallets WHERE creation_key = 'pgtap-create-wallet-key-1'), 5);
SELECT results_eq(
    $$SELECT balance, version, replayed FROM wallet.create_wallet(25, NULL, 'pgtap-create-wallet-key-1')$$,
    $$SELECT 25.00::numeric, 1::bigint, true$$,
    'a replay returns the original result (balance 25.00, version 1), not the wallet as it is now (30.00, version 2)');
SELECT results_eq(
    $$SELECT created_at = updated_at FROM wallet.create_wallet(25, NULL, 'pgtap-create-wallet-key-1')$$,
    $$VALUES (true)$$,
    'the replayed result''s updated_at is its created_at, as in the original result');

-- Idempotency key with an explicit id
SELECT results_eq(
    $$SELECT wallet_id, replayed FROM wallet.create_wallet(7, 'c0000000-0000-4000-8000-000000000005', 'pgtap-create-wallet-key-2')$$,
    $$VALUES ('c0000000-0000-4000-8000-000000000005'::uuid, false)$$,
    'with both an explicit id and a key, the explicit id is used');
SELECT results_eq(
    $$SELECT wallet_id, balance, replayed FROM wallet.create_wallet(7, 'c0000000-0000-4000-8000-000000000005', 'pgtap-create-wallet-key-2')$$,
    $$VALUES ('c0000000-0000-4000-8000-000000000005'::uuid, 7.00::numeric, true)$$,
    'repeating the call with the same explicit id and key replays it');

-- Key length
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(0, NULL, repeat('k', 256))$$,
    'WL007', 'invalid idempotency key',
    'an idempotency key of 256 characters raises WL007');
SELECT throws_ok(
    $$SELECT * FROM wallet.create_wallet(0, NULL, '')$$,
    'WL007', 'invalid idempotency key',
    'an empty idempotency key raises WL007');
SELECT results_eq(
    $$SELECT replayed FROM wallet.create_wallet(0, NULL, repeat('k', 255))$$,
    $$VALUES (false)$$,
    'an idempotency key of 255 characters is accepted');

-- Invalid initial balances
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(-1, 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance of -1 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(1.001, 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance of 1.001 (a fraction of a cent) raises WL003 rather than being rounded');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(NULL, 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance of NULL raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(1000000000000000000.00, 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance above 999999999999999999.99 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet('NaN', 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance of NaN raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet('Infinity', 'c0000000-0000-4000-8000-000000000006')$$,
    'WL003', 'invalid amount', 'an initial balance of Infinity raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(-1, NULL, repeat('k', 256))$$,
    'WL003', 'invalid amount', 'an invalid initial balance is reported (WL003) before an invalid key (WL007)');
SELECT is_empty($$SELECT * FROM wallet.wallets WHERE id = 'c0000000-0000-4000-8000-000000000006'$$,
    'the refused creations left no wallet behind');

SELECT * FROM finish();
ROLLBACK;
