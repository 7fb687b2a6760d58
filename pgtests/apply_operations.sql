-- wallet.apply_operations(p_wallet_id, p_operation_types, p_amounts, p_idempotency_keys): a batch for
-- one wallet, applied in array order; a failing element is reported in its row and does not stop the rest.
BEGIN;
SELECT plan(37);

SELECT has_function('wallet', 'apply_operations', ARRAY['uuid', 'text[]', 'numeric[]', 'text[]', 'boolean[]'],
    'wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]) exists');

-- Each batch is called once and its rows kept with the position in which the function returned them.
-- a2...01 / a2...02: order matters
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000001');
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000002');
SELECT results_eq(
    $$SELECT ordinal, seq, operation_type, amount, balance_after, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT,WITHDRAW}', '{50,30}')$$,
    $$VALUES (1, 1::bigint, 'DEPOSIT', 50.00::numeric, 50.00::numeric, NULL::text), (2, 2, 'WITHDRAW', 30.00, 20.00, NULL)$$,
    'DEPOSIT 50 then WITHDRAW 30 in one batch on an empty wallet both succeed: the withdraw sees the deposit');
SELECT results_eq(
    $$SELECT ordinal, seq, operation_type, amount, balance_after, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000002', '{WITHDRAW,DEPOSIT}', '{30,50}')$$,
    $$VALUES (1, NULL::bigint, 'WITHDRAW', 30::numeric, 0.00::numeric, 'WL002'), (2, 1, 'DEPOSIT', 50.00, 50.00, NULL)$$,
    'the same batch reversed (WITHDRAW 30 first) fails the withdraw with WL002 and applies the deposit as seq 1');

-- a2...03: failure isolation in a mixed batch
SELECT FROM wallet.create_wallet(10, 'a2000000-0000-4000-8000-000000000003');
CREATE TEMP TABLE mixed ON COMMIT DROP AS
SELECT r.ordinal, r.operation_id, r.wallet_id, r.seq, r.operation_type, r.amount, r.balance_after,
    r.idempotency_key, r.created_at, r.replayed, r.error_code, r.error_detail, r.pos::integer AS pos
FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000003',
    '{DEPOSIT,WITHDRAW,DEPOSIT,deposit,WITHDRAW,DEPOSIT}', '{5,100,1.001,1,15,2}')
    WITH ORDINALITY AS r (ordinal, operation_id, wallet_id, seq, operation_type, amount, balance_after,
        idempotency_key, created_at, replayed, error_code, error_detail, pos);

SELECT results_eq(
    $$SELECT pos, ordinal FROM mixed ORDER BY pos$$,
    $$VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)$$,
    'a batch of 6 returns 6 rows in input order, ordinal 1 to 6');
SELECT results_eq(
    $$SELECT ordinal, seq, operation_type, amount, balance_after, error_code FROM mixed ORDER BY ordinal$$,
    $$VALUES (1, 2::bigint, 'DEPOSIT', 5.00::numeric, 15.00::numeric, NULL::text),
             (2, NULL, 'WITHDRAW', 100, 15.00, 'WL002'),
             (3, NULL, 'DEPOSIT', 1.001, 15.00, 'WL003'),
             (4, NULL, 'deposit', 1, 15.00, 'WL004'),
             (5, 3, 'WITHDRAW', 15.00, 0.00, NULL),
             (6, 4, 'DEPOSIT', 2.00, 2.00, NULL)$$,
    'WL002, WL003 and WL004 in the middle do not stop the later elements; failed rows show the balance at that point');
SELECT is_empty(
    $$SELECT ordinal FROM mixed
      WHERE (error_code IS NULL) <> (error_detail IS NULL)
         OR (error_code IS NULL) <> (operation_id IS NOT NULL AND seq IS NOT NULL AND created_at IS NOT NULL)$$,
    'error_code and error_detail are set exactly on the failed rows, operation_id, seq and created_at exactly on the applied ones');
SELECT results_eq(
    $$SELECT seq, operation_type, amount, balance_after FROM wallet.operations
      WHERE wallet_id = 'a2000000-0000-4000-8000-000000000003' ORDER BY seq$$,
    $$VALUES (1::bigint, 'DEPOSIT', 10.00::numeric, 10.00::numeric), (2, 'DEPOSIT', 5.00, 15.00),
             (3, 'WITHDRAW', 15.00, 0.00), (4, 'DEPOSIT', 2.00, 2.00)$$,
    'the ledger gets exactly the three applied elements, with consecutive seq 2, 3, 4 after the initial entry');
SELECT results_eq(
    $$SELECT o.id, o.seq, o.created_at FROM wallet.operations AS o
      WHERE o.wallet_id = 'a2000000-0000-4000-8000-000000000003' AND o.seq > 1 ORDER BY o.seq$$,
    $$SELECT operation_id, seq, created_at FROM mixed WHERE error_code IS NULL ORDER BY seq$$,
    'the operation_id, seq and created_at returned for applied elements are those of their ledger entries');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a2000000-0000-4000-8000-000000000003')$$,
    $$VALUES (2.00::numeric, 4::bigint)$$,
    'the wallet ends with the balance of the last applied element (2.00) and version = last seq (4)');

-- a2...04: idempotency keys within a batch and across batches
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000004');
CREATE TEMP TABLE keyed ON COMMIT DROP AS
SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000004',
    '{DEPOSIT,DEPOSIT,DEPOSIT,WITHDRAW}', '{10,10,5,10}', '{pgtap-k1,pgtap-k1,pgtap-k2,pgtap-k1}');
SELECT results_eq(
    $$SELECT ordinal, seq, balance_after, idempotency_key, replayed, error_code FROM keyed ORDER BY ordinal$$,
    $$VALUES (1, 1::bigint, 10.00::numeric, 'pgtap-k1', false, NULL::text),
             (2, 1, 10.00, 'pgtap-k1', true, NULL),
             (3, 2, 15.00, 'pgtap-k2', false, NULL),
             (4, NULL, 15.00, 'pgtap-k1', false, 'WL005')$$,
    'a key repeated in one batch replays the first element (replayed true); with another request it fails with WL005');
SELECT is(
    (SELECT operation_id FROM keyed WHERE ordinal = 2), (SELECT operation_id FROM keyed WHERE ordinal = 1),
    'the in-batch replay returns the operation_id of the element it repeats');
SELECT results_eq(
    $$SELECT seq, idempotency_key FROM wallet.operations WHERE wallet_id = 'a2000000-0000-4000-8000-000000000004' ORDER BY seq$$,
    $$VALUES (1::bigint, 'pgtap-k1'), (2, 'pgtap-k2')$$,
    'only the two applied elements reach the ledger');
SELECT results_eq(
    $$SELECT ordinal, seq, balance_after, replayed, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000004',
          '{DEPOSIT,DEPOSIT,DEPOSIT,WITHDRAW}', '{10,5,1,5}', '{pgtap-k1,pgtap-k2,pgtap-k3,pgtap-k2}')$$,
    $$VALUES (1, 1::bigint, 10.00::numeric, true, NULL::text), (2, 2, 15.00, true, NULL),
             (3, 3, 16.00, false, NULL), (4, NULL, 16.00, false, 'WL005')$$,
    'a later batch replays keys already in the ledger with their original seq and balance_after, applies the new key, and refuses a changed request with WL005');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a2000000-0000-4000-8000-000000000004')$$,
    $$VALUES (16.00::numeric, 3::bigint)$$,
    'the replays changed nothing: balance 16.00, version 3');

-- a2...05: a keyed refusal for the wallet's state is final for its key; invalid keys; NULL keys
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000005');
SELECT results_eq(
    $$SELECT ordinal, seq, balance_after, replayed, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000005',
          '{WITHDRAW,DEPOSIT,WITHDRAW,WITHDRAW,DEPOSIT,DEPOSIT}', '{5,10,5,5,1,1}',
          ARRAY['pgtap-r', NULL, 'pgtap-r', 'pgtap-r', repeat('k', 256), ''])$$,
    $$VALUES (1, NULL::bigint, 0.00::numeric, false, 'WL002'), (2, 1, 10.00, false, NULL),
             (3, NULL, 0.00, true, 'WL002'), (4, NULL, 0.00, true, 'WL002'),
             (5, NULL, 10.00, false, 'WL007'), (6, NULL, 10.00, false, 'WL007')$$,
    'a key refused for insufficient funds (WL002) replays that refusal, even after a deposit made room; keys of 256 or 0 characters fail with WL007');

-- a2...06: the balance limit within a batch
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000006');
SELECT results_eq(
    $$SELECT ordinal, balance_after, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000006',
          '{DEPOSIT,DEPOSIT,WITHDRAW,DEPOSIT}', '{999999999999999999.99,0.01,0.01,0.01}')$$,
    $$VALUES (1, 999999999999999999.99::numeric, NULL::text), (2, 999999999999999999.99, 'WL006'),
             (3, 999999999999999999.98, NULL), (4, 999999999999999999.99, NULL)$$,
    'a deposit above the largest balance fails with WL006; after a withdraw makes room the same deposit succeeds');

-- Unknown wallet
SELECT results_eq(
    $$SELECT ordinal, operation_id, wallet_id, seq, operation_type, amount, balance_after, replayed, error_code
      FROM wallet.apply_operations('a2000000-0000-4000-8000-0000000000ff', '{DEPOSIT,WITHDRAW}', '{1,2}', '{pgtap-u1,NULL}')$$,
    $$VALUES (1, NULL::uuid, 'a2000000-0000-4000-8000-0000000000ff'::uuid, NULL::bigint, 'DEPOSIT', 1::numeric, NULL::numeric, false, 'WL001'),
             (2, NULL, 'a2000000-0000-4000-8000-0000000000ff', NULL, 'WITHDRAW', 2, NULL, false, 'WL001')$$,
    'a batch for an unknown wallet returns every row with WL001 and no balance');
SELECT is_empty($$SELECT * FROM wallet.operations WHERE wallet_id = 'a2000000-0000-4000-8000-0000000000ff'$$,
    'the batch for an unknown wallet wrote nothing');

-- WL009: malformed batches raise instead of returning rows
SELECT throws_ok($$SELECT * FROM wallet.apply_operations(NULL, '{DEPOSIT}', '{1}')$$,
    'WL009', 'invalid argument', 'a NULL wallet id raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT,DEPOSIT}', '{1}')$$,
    'WL009', 'invalid argument', 'two operation types for one amount raise WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT}', '{1,2}')$$,
    'WL009', 'invalid argument', 'one operation type for two amounts raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT,DEPOSIT}', '{1,2}', '{pgtap-x}')$$,
    'WL009', 'invalid argument', 'one idempotency key for two elements raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT}', '{1}', '{}')$$,
    'WL009', 'invalid argument', 'an empty (not NULL) keys array for one element raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT}', '{1}', '{pgtap-y}', '{true,false}')$$,
    'WL009', 'invalid argument', 'two ephemeral-key flags for one element raise WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{}', '{}')$$,
    'WL009', 'invalid argument', 'an empty batch raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', NULL, NULL)$$,
    'WL009', 'invalid argument', 'NULL arrays raise WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT}', NULL)$$,
    'WL009', 'invalid argument', 'a NULL amounts array raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001', '{DEPOSIT,DEPOSIT}', '{{1},{2}}')$$,
    'WL009', 'invalid argument', 'a two-dimensional amounts array raises WL009');
SELECT throws_ok(
    $$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000001',
        array_fill('DEPOSIT'::text, ARRAY[1001]), array_fill(0.01::numeric, ARRAY[1001]))$$,
    'WL009', 'invalid argument', 'a batch of 1001 elements raises WL009');
SELECT throws_ok($$SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-0000000000ff', '{DEPOSIT}', '{}')$$,
    'WL009', 'invalid argument', 'a malformed batch raises WL009 even for an unknown wallet');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a2000000-0000-4000-8000-000000000001')$$,
    $$VALUES (20.00::numeric, 2::bigint)$$,
    'the malformed batches changed nothing on the wallet');

-- a2...07: the largest batch, with NULL keys
SELECT FROM wallet.create_wallet(0, 'a2000000-0000-4000-8000-000000000007');
CREATE TEMP TABLE big ON COMMIT DROP AS
SELECT * FROM wallet.apply_operations('a2000000-0000-4000-8000-000000000007',
    array_fill('DEPOSIT'::text, ARRAY[1000]), array_fill(0.01::numeric, ARRAY[1000]), array_fill(NULL::text, ARRAY[1000]));
SELECT results_eq(
    $$SELECT count(*), count(error_code), min(ordinal), max(ordinal), min(seq), max(seq), max(balance_after) FROM big$$,
    $$VALUES (1000::bigint, 0::bigint, 1, 1000, 1::bigint, 1000::bigint, 10.00::numeric)$$,
    'a batch of 1000 elements (the maximum) with a keys array of NULLs is applied: seq 1 to 1000, final balance 10.00');
SELECT results_eq(
    $$SELECT count(*), count(DISTINCT seq), min(seq), max(seq), count(idempotency_key) FROM wallet.operations
      WHERE wallet_id = 'a2000000-0000-4000-8000-000000000007'$$,
    $$VALUES (1000::bigint, 1000::bigint, 1::bigint, 1000::bigint, 0::bigint)$$,
    'the ledger has 1000 entries with seq 1 to 1000 and no keys');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('a2000000-0000-4000-8000-000000000007')$$,
    $$VALUES (10.00::numeric, 1000::bigint)$$,
    'wallet.version equals the last seq (1000)');
SELECT is_empty(
    $$SELECT seq FROM (
          SELECT seq, balance_after, sum(amount) OVER (ORDER BY seq) AS running FROM wallet.operations
          WHERE wallet_id = 'a2000000-0000-4000-8000-000000000007') AS x
      WHERE balance_after <> running$$,
    'every entry of the big batch carries the running balance as balance_after');

-- Ledger invariant for all wallets of this file
SELECT is_empty(
    $$SELECT v.* FROM wallet.wallets AS w, LATERAL wallet.verify_ledger(w.id) AS v
      WHERE w.id BETWEEN 'a2000000-0000-4000-8000-000000000000' AND 'a2000000-0000-4000-8000-0000000000ff'$$,
    'every wallet used in this file is consistent with its ledger');
SELECT results_eq(
    $$SELECT w.id, w.version FROM wallet.wallets AS w
      WHERE w.id BETWEEN 'a2000000-0000-4000-8000-000000000000' AND 'a2000000-0000-4000-8000-0000000000ff' ORDER BY w.id$$,
    $$SELECT o.wallet_id, max(o.seq) FROM wallet.operations AS o
      WHERE o.wallet_id BETWEEN 'a2000000-0000-4000-8000-000000000000' AND 'a2000000-0000-4000-8000-0000000000ff'
      GROUP BY o.wallet_id ORDER BY o.wallet_id$$,
    'for every wallet of this file, wallet.version equals the seq of its last ledger entry');

SELECT * FROM finish();
ROLLBACK;
