-- wallet.balance_at: a wallet's balance at a moment, from its latest entry at or before it, in one
-- index probe; the wallet's entries never go back in time.
BEGIN;
SELECT plan(12);

SELECT has_function('wallet', 'balance_at', ARRAY['uuid', 'timestamp with time zone'], 'wallet.balance_at(uuid, timestamptz) exists');
SELECT volatility_is('wallet', 'balance_at', ARRAY['uuid', 'timestamp with time zone'], 'stable', 'balance_at only reads');

-- A wallet whose history is spread over time (the timestamps are set as superuser, bypassing the
-- append-only guard for this test only).
SELECT wallet.create_wallet(10, 'ba000000-0000-4000-8000-000000000001');
SELECT wallet.deposit('ba000000-0000-4000-8000-000000000001', 5);
SELECT wallet.withdraw('ba000000-0000-4000-8000-000000000001', 3);
SELECT wallet.create_hold('ba000000-0000-4000-8000-000000000001', 2);
ALTER TABLE wallet.operations DISABLE TRIGGER operations_append_only;
UPDATE wallet.operations SET created_at = now() - (4 - seq) * interval '1 hour'
WHERE wallet_id = 'ba000000-0000-4000-8000-000000000001';
ALTER TABLE wallet.operations ENABLE TRIGGER operations_append_only;
UPDATE wallet.wallets SET created_at = now() - interval '3 hours 30 minutes' WHERE id = 'ba000000-0000-4000-8000-000000000001';

SELECT results_eq(
    $$SELECT seq, balance, available_balance FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001')$$,
    $$VALUES (3::bigint, 12.00::numeric, 10.00::numeric)$$,
    'now: the last entry, its balance, and the available balance (a hold of 2.00)');
SELECT results_eq(
    $$SELECT seq, balance, available_balance FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001', now() - interval '90 minutes')$$,
    $$VALUES (2::bigint, 15.00::numeric, NULL::numeric)$$,
    'between the second and the third entry: the second''s balance; no available balance for the past');
SELECT results_eq(
    $$SELECT seq, balance FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001', now() - interval '2 hours')$$,
    $$VALUES (2::bigint, 15.00::numeric)$$,
    'at the very moment of an entry: that entry counts');
SELECT results_eq(
    $$SELECT seq, balance FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001', now() - interval '200 minutes')$$,
    $$VALUES (0::bigint, 0.00::numeric)$$,
    'after the wallet was created but before its first entry: 0, seq 0');
SELECT throws_ok(
    $$SELECT * FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001', now() - interval '4 hours')$$,
    'WL001', NULL, 'before the wallet existed: WL001');
SELECT throws_ok(
    $$SELECT * FROM wallet.balance_at('ba000000-0000-4000-8000-0000000000ff')$$,
    'WL001', NULL, 'an unknown wallet: WL001');
SELECT throws_ok(
    $$SELECT * FROM wallet.balance_at('ba000000-0000-4000-8000-000000000001', now() + interval '1 minute')$$,
    'WL009', NULL, 'a moment in the future: WL009');

-- One probe of the time index, never a scan of the wallet's ledger. The test database is tiny, so its
-- planner would rightly scan the table: with scans and sorts discouraged, the plan shows whether the
-- index can serve the query in its order (a Sort would remain if it could not).
SET LOCAL enable_seqscan = off;
SET LOCAL enable_sort = off;
SET LOCAL enable_bitmapscan = off;
CREATE TEMP TABLE plan_lines (line text) ON COMMIT DROP;
DO $$
DECLARE
    l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN SELECT o.seq, o.balance_after FROM wallet.operations AS o
        WHERE o.wallet_id = ''ba000000-0000-4000-8000-000000000001'' AND o.created_at <= now()
        ORDER BY o.created_at DESC, o.seq DESC LIMIT 1' LOOP
        INSERT INTO plan_lines VALUES (l);
    END LOOP;
END
$$;
SELECT ok((SELECT bool_or(line ~ 'Index (Only )?Scan Backward using operations_wallet_time') FROM plan_lines),
    'balance_at''s query is a backward scan of operations_wallet_time with LIMIT 1');
SELECT ok(NOT (SELECT bool_or(line ~ 'Sort|Seq Scan') FROM plan_lines), 'and it neither sorts nor scans the table');
RESET enable_seqscan;
RESET enable_sort;
RESET enable_bitmapscan;

-- Entries never go back in time: a batch whose transaction started before the wallet's last change
-- dates its entries at that change, not before it.
SELECT wallet.create_wallet(0, 'ba000000-0000-4000-8000-000000000002');
UPDATE wallet.wallets SET updated_at = now() + interval '1 second' WHERE id = 'ba000000-0000-4000-8000-000000000002';
SELECT wallet.deposit('ba000000-0000-4000-8000-000000000002', 1);
SELECT is((SELECT created_at FROM wallet.operations WHERE wallet_id = 'ba000000-0000-4000-8000-000000000002'),
    now() + interval '1 second', 'a new entry is dated no earlier than its wallet''s last change');

SELECT * FROM finish();
ROLLBACK;
