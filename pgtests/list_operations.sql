-- wallet.list_operations(p_wallet_id, p_after, p_limit, p_types, p_since, p_until, p_transfer_id,
-- p_descending): a page of one wallet's ledger by keyset on seq, oldest or newest first, filtered.
BEGIN;
SELECT plan(30);

SELECT has_function('wallet', 'list_operations', ARRAY['uuid', 'bigint', 'integer', 'text[]', 'timestamp with time zone', 'timestamp with time zone', 'uuid', 'boolean'],
    'wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean) exists');
SELECT volatility_is('wallet', 'list_operations', ARRAY['uuid', 'bigint', 'integer', 'text[]', 'timestamp with time zone', 'timestamp with time zone', 'uuid', 'boolean'], 'stable', 'wallet.list_operations is STABLE: it only reads');

-- 11...01: five entries; 11...02: another wallet with entries of its own; 11...03: empty
SELECT FROM wallet.create_wallet(10, '11000000-0000-4000-8000-000000000001');
SELECT FROM wallet.deposit('11000000-0000-4000-8000-000000000001', 5, 'pgtap-list-1');
SELECT FROM wallet.withdraw('11000000-0000-4000-8000-000000000001', 3);
SELECT FROM wallet.deposit('11000000-0000-4000-8000-000000000001', 1);
SELECT FROM wallet.withdraw('11000000-0000-4000-8000-000000000001', 2);
SELECT FROM wallet.create_wallet(99, '11000000-0000-4000-8000-000000000002');
SELECT FROM wallet.deposit('11000000-0000-4000-8000-000000000002', 1);
SELECT FROM wallet.create_wallet(0, '11000000-0000-4000-8000-000000000003');

SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after, idempotency_key
      FROM wallet.list_operations('11000000-0000-4000-8000-000000000001')$$,
    $$VALUES (1::bigint, 'DEPOSIT', 10.00::numeric, 10.00::numeric, NULL::text), (2, 'DEPOSIT', 5.00, 15.00, 'pgtap-list-1'),
             (3, 'WITHDRAW', 3.00, 12.00, NULL), (4, 'DEPOSIT', 1.00, 13.00, NULL), (5, 'WITHDRAW', 2.00, 11.00, NULL)$$,
    'with the defaults, list_operations returns all five entries of the wallet in ascending seq order');
SELECT results_eq(
    $$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001')$$,
    $$SELECT id, wallet_id, seq, operation_type, round(amount, 2), round(balance_after, 2), idempotency_key, created_at,
          transfer_id, counterparty_wallet_id, metadata, 'USD'::text
      FROM wallet.operations WHERE wallet_id = '11000000-0000-4000-8000-000000000001' ORDER BY seq$$,
    'every returned column is the stored ledger entry (operation_id = operations.id)');
SELECT is_empty(
    $$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 1000)
      WHERE wallet_id <> '11000000-0000-4000-8000-000000000001'$$,
    'entries of other wallets are never listed');

-- Keyset paging
SELECT results_eq($$SELECT seq FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 2)$$,
    $$VALUES (1::bigint), (2)$$, 'the first page of 2 (p_after 0) holds seq 1 and 2');
SELECT results_eq($$SELECT seq FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 2, 2)$$,
    $$VALUES (3::bigint), (4)$$, 'the next page (p_after = 2, the last seq seen) holds seq 3 and 4');
SELECT results_eq($$SELECT seq FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 4, 2)$$,
    $$VALUES (5::bigint)$$, 'the last page (p_after 4) holds only seq 5: fewer rows than p_limit means the end');
SELECT is_empty($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 5, 2)$$,
    'a page after the last seq is empty');
SELECT is_empty($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 1000000, 2)$$,
    'a page far beyond the last seq is empty');
SELECT results_eq($$SELECT seq FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', NULL, 3)$$,
    $$VALUES (1::bigint), (2), (3)$$, 'p_after NULL is read as 0 (from the start)');
SELECT results_eq($$SELECT seq FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 1)$$,
    $$VALUES (1::bigint)$$, 'p_limit 1 returns one entry');
SELECT results_eq($$SELECT count(*) FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 1000)$$,
    $$VALUES (5::bigint)$$, 'p_limit 1000, the largest page, is accepted');

-- Bad arguments
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 0)$$,
    'WL009', 'invalid argument', 'p_limit 0 raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, 1001)$$,
    'WL009', 'invalid argument', 'p_limit 1001 raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, NULL)$$,
    'WL009', 'invalid argument', 'p_limit NULL raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', 0, -1)$$,
    'WL009', 'invalid argument', 'a negative p_limit raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000001', -1, 10)$$,
    'WL009', 'invalid argument', 'a negative p_after raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-0000000000ff')$$,
    'WL001', 'wallet not found', 'listing an unknown wallet raises WL001 instead of returning no row');
SELECT throws_ok($$SELECT * FROM wallet.list_operations(NULL)$$,
    'WL001', 'wallet not found', 'listing a NULL wallet id raises WL001');

-- Empty wallet
SELECT is_empty($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000003')$$,
    'a wallet created with balance 0 and never used lists no entries');

-- Filters and order. 11...04: five entries an hour apart (timestamps set as superuser, the guard lifted).
SELECT FROM wallet.create_wallet(10, '11000000-0000-4000-8000-000000000004');
SELECT FROM wallet.deposit('11000000-0000-4000-8000-000000000004', 5);
SELECT FROM wallet.withdraw('11000000-0000-4000-8000-000000000004', 3);
SELECT FROM wallet.transfer('11000000-0000-4000-8000-000000000004', '11000000-0000-4000-8000-000000000003', 2);
SELECT FROM wallet.deposit('11000000-0000-4000-8000-000000000004', 1);
ALTER TABLE wallet.operations DISABLE TRIGGER operations_append_only;
UPDATE wallet.operations SET created_at = now() - (5 - seq) * interval '1 hour'
WHERE wallet_id = '11000000-0000-4000-8000-000000000004';
ALTER TABLE wallet.operations ENABLE TRIGGER operations_append_only;
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', p_descending => true)$$,
    $$VALUES (ARRAY[5, 4, 3, 2, 1]::bigint[])$$, 'p_descending: newest first');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', 4, 2, p_descending => true)$$,
    $$VALUES (ARRAY[3, 2]::bigint[])$$, 'descending, the cursor p_after = 4 gives the entries before it');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', p_types => '{DEPOSIT}')$$,
    $$VALUES (ARRAY[1, 2, 5]::bigint[])$$, 'p_types: only deposits');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', 2, 1, '{DEPOSIT,TRANSFER_OUT}')$$,
    $$VALUES (ARRAY[4]::bigint[])$$, 'kinds with a cursor and a page size: the next matching entry');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004',
          p_since => now() - interval '3 hours', p_until => now() - interval '1 hour')$$,
    $$VALUES (ARRAY[2, 3, 4]::bigint[])$$, 'p_since and p_until: the window, both ends included');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', 5,
          p_since => now() - interval '150 minutes', p_descending => true)$$,
    $$VALUES (ARRAY[4, 3]::bigint[])$$, 'a window with a descending cursor');
SELECT results_eq(
    $$SELECT array_agg(seq) FROM wallet.list_operations('11000000-0000-4000-8000-000000000004',
          p_transfer_id => (SELECT transfer_id FROM wallet.operations WHERE wallet_id = '11000000-0000-4000-8000-000000000004' AND seq = 4))$$,
    $$VALUES (ARRAY[4]::bigint[])$$, 'p_transfer_id: the wallet''s leg of that transfer');
SELECT is_empty($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', p_until => now() - interval '10 hours')$$,
    'a window before the first entry: nothing');
SELECT throws_ok($$SELECT * FROM wallet.list_operations('11000000-0000-4000-8000-000000000004', p_types => '{REFUND}')$$,
    'WL004', NULL, 'an unknown kind: WL004');

SELECT * FROM finish();
ROLLBACK;
