-- wallet.get_wallet(p_wallet_id)
BEGIN;
SELECT plan(8);

SELECT has_function('wallet', 'get_wallet', ARRAY['uuid'], 'wallet.get_wallet(uuid) exists');
SELECT volatility_is('wallet', 'get_wallet', ARRAY['uuid'], 'stable', 'wallet.get_wallet is STABLE: it only reads');

SELECT FROM wallet.create_wallet(40, '6e000000-0000-4000-8000-000000000001');
SELECT FROM wallet.withdraw('6e000000-0000-4000-8000-000000000001', 15.25);
SELECT FROM wallet.create_wallet(0, '6e000000-0000-4000-8000-000000000002');

SELECT results_eq(
    $$SELECT wallet_id, balance, version, created_at = now(), updated_at = now()
      FROM wallet.get_wallet('6e000000-0000-4000-8000-000000000001')$$,
    $$VALUES ('6e000000-0000-4000-8000-000000000001'::uuid, 24.75::numeric, 2::bigint, true, true)$$,
    'get_wallet returns the one wallet: id, balance 24.75 after 40 - 15.25, version 2, its timestamps');
SELECT results_eq(
    $$SELECT wallet_id, balance, version FROM wallet.get_wallet('6e000000-0000-4000-8000-000000000002')$$,
    $$VALUES ('6e000000-0000-4000-8000-000000000002'::uuid, 0.00::numeric, 0::bigint)$$,
    'get_wallet returns a new empty wallet with balance 0 and version 0');
SELECT results_eq(
    $$SELECT w.wallet_id, w.balance, w.version, w.created_at, w.updated_at
      FROM wallet.get_wallet('6e000000-0000-4000-8000-000000000001') AS w$$,
    $$SELECT id, balance, version, created_at, updated_at FROM wallet.wallets WHERE id = '6e000000-0000-4000-8000-000000000001'$$,
    'get_wallet returns exactly the stored row');
SELECT FROM wallet.create_hold('6e000000-0000-4000-8000-000000000001', 4.75);
SELECT results_eq(
    $$SELECT balance, available_balance FROM wallet.get_wallet('6e000000-0000-4000-8000-000000000001')$$,
    $$VALUES (24.75::numeric, 20.00::numeric)$$,
    'a hold of 4.75 leaves the balance at 24.75 and the available balance at 20.00');
SELECT throws_ok(
    $$SELECT * FROM wallet.get_wallet('6e000000-0000-4000-8000-0000000000ff')$$,
    'WL001', 'wallet not found',
    'get_wallet of an unknown id raises WL001 instead of returning no row');
SELECT throws_ok(
    $$SELECT * FROM wallet.get_wallet(NULL)$$,
    'WL001', 'wallet not found',
    'get_wallet(NULL) raises WL001');

SELECT * FROM finish();
ROLLBACK;
