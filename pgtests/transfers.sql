-- wallet.post_transfers, wallet.transfer and wallet.get_transfer: money between wallets of one
-- currency, in two legs, with its refusals (each changing nothing), replays, and currencies.
BEGIN;
SELECT plan(42);

SELECT has_function('wallet', 'post_transfers', ARRAY['uuid', 'wallet.transfer_request[]'],
    'wallet.post_transfers(uuid, wallet.transfer_request[]) exists');
SELECT has_function('wallet', 'transfer', ARRAY['uuid', 'uuid', 'numeric', 'text', 'jsonb'],
    'wallet.transfer(uuid, uuid, numeric, text, jsonb) exists');
SELECT has_function('wallet', 'get_transfer', ARRAY['uuid'], 'wallet.get_transfer(uuid) exists');
SELECT volatility_is('wallet', 'get_transfer', ARRAY['uuid'], 'stable', 'wallet.get_transfer is STABLE: it only reads');

-- b1: 100.00 USD, b2: 0 USD, b3: 50 EUR, b4: 1000 JPY, b5: 0 JPY
SELECT FROM wallet.create_wallet(100, 'b1000000-0000-4000-8000-000000000001');
SELECT FROM wallet.create_wallet(0, 'b1000000-0000-4000-8000-000000000002');
SELECT FROM wallet.create_wallet(50, 'b1000000-0000-4000-8000-000000000003', NULL, 'EUR');
SELECT FROM wallet.create_wallet(1000, 'b1000000-0000-4000-8000-000000000004', NULL, 'JPY');
SELECT FROM wallet.create_wallet(0, 'b1000000-0000-4000-8000-000000000005', NULL, 'JPY');

SELECT results_eq(
    $$SELECT kind, amount, currency, seq, balance_after, counter_seq, replayed, metadata
      FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 30.5,
          'pgtap-t1', '{"order": "A-17"}')$$,
    $$VALUES ('TRANSFER'::text, 30.50::numeric, 'USD'::text, 2::bigint, 69.50::numeric, 1::bigint, false, '{"order": "A-17"}'::jsonb)$$,
    'a transfer returns both legs (seq 2 on the source, 1 on the destination) and the source''s balance after it');
SELECT results_eq(
    $$SELECT wallet_id, operation_type, amount, balance_after, counterparty_wallet_id, idempotency_key, metadata
      FROM wallet.operations WHERE wallet_id IN ('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002')
          AND operation_type LIKE 'TRANSFER%' ORDER BY operation_type$$,
    $$VALUES ('b1000000-0000-4000-8000-000000000002'::uuid, 'TRANSFER_IN'::text, 30.50::numeric, 30.50::numeric,
              'b1000000-0000-4000-8000-000000000001'::uuid, NULL::text, '{"order": "A-17"}'::jsonb),
             ('b1000000-0000-4000-8000-000000000001', 'TRANSFER_OUT', 30.50, 69.50,
              'b1000000-0000-4000-8000-000000000002', 'pgtap-t1', '{"order": "A-17"}')$$,
    'the legs: TRANSFER_OUT on the source (with the key), TRANSFER_IN on the destination, each naming the other');
SELECT is(
    (SELECT count(DISTINCT transfer_id) FROM wallet.operations WHERE operation_type LIKE 'TRANSFER%'
        AND wallet_id IN ('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002')),
    1::bigint, 'both legs carry one transfer id');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, currency, metadata
      FROM wallet.get_transfer((SELECT transfer_id FROM wallet.operations
                                WHERE wallet_id = 'b1000000-0000-4000-8000-000000000002'))$$,
    $$VALUES ('TRANSFER'::text, 'b1000000-0000-4000-8000-000000000001'::uuid, 'b1000000-0000-4000-8000-000000000002'::uuid,
              30.50::numeric, 'USD'::text, '{"order": "A-17"}'::jsonb)$$,
    'get_transfer reads the transfer back by its id');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id FROM wallet.get_transfer((SELECT transfer_id FROM wallet.operations
          WHERE wallet_id = 'b1000000-0000-4000-8000-000000000001' AND seq = 1))$$,
    $$VALUES ('DEPOSIT'::text, NULL::uuid, 'b1000000-0000-4000-8000-000000000001'::uuid)$$,
    'an opening balance is a deposit: a transfer from the outside world (from_wallet_id NULL)');
SELECT throws_ok($$SELECT * FROM wallet.get_transfer('b1000000-0000-4000-8000-0000000000ff')$$, 'WL011',
    'transfer not found', 'get_transfer of an unknown id raises WL011');

-- Replays and keys (scoped to the source)
SELECT results_eq(
    $$SELECT seq, balance_after, replayed FROM wallet.transfer('b1000000-0000-4000-8000-000000000001',
          'b1000000-0000-4000-8000-000000000002', 30.50, 'pgtap-t1', '{"order": "A-17"}')$$,
    $$VALUES (2::bigint, 69.50::numeric, true)$$,
    'the same transfer with its key replays the original (replayed, nothing moves)');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001',
        'b1000000-0000-4000-8000-000000000002', 30.50, 'pgtap-t1', '{"order": "B-1"}')$$, 'WL005',
    'idempotency key reused with a different request', 'the key with other metadata is another request: WL005');
SELECT throws_ok($$SELECT * FROM wallet.withdraw('b1000000-0000-4000-8000-000000000001', 30.50, 'pgtap-t1')$$, 'WL005',
    'idempotency key reused with a different request', 'the key of a transfer cannot be reused for a withdrawal: WL005');
SELECT results_eq(
    $$SELECT replayed FROM wallet.transfer('b1000000-0000-4000-8000-000000000002',
          'b1000000-0000-4000-8000-000000000001', 1, 'pgtap-t1')$$,
    $$VALUES (false)$$,
    'the same key from another source wallet is another key (keys are scoped to the source)');

-- Refusals: each changes nothing
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-0000000000ff', 1)$$,
    'WL001', 'wallet not found', 'an unknown destination raises WL001');
SELECT throws_like($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-0000000000ff', 'b1000000-0000-4000-8000-000000000001', 1)$$,
    'wallet not found', 'an unknown source raises WL001');
SELECT results_eq(
    $$SELECT error_detail FROM wallet.post_transfers('b1000000-0000-4000-8000-000000000001', ARRAY[
          ROW('b1000000-0000-4000-8000-0000000000ff', 'b1000000-0000-4000-8000-000000000001', 1, NULL, false, NULL)::wallet.transfer_request,
          ROW('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-0000000000fe', 1, NULL, false, NULL)::wallet.transfer_request])$$,
    $$VALUES ('no wallet has id b1000000-0000-4000-8000-0000000000ff (the source)'::text),
             ('no wallet has id b1000000-0000-4000-8000-0000000000fe (the destination)')$$,
    'the detail of WL001 says which side is unknown');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 1000)$$,
    'WL002', 'insufficient funds', 'more than the source holds raises WL002');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000001', 1)$$,
    'WL014', 'source and destination are the same wallet', 'a transfer to itself raises WL014');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000003', 1)$$,
    'WL012', 'currency mismatch', 'USD to EUR raises WL012');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 0.001)$$,
    'WL003', 'invalid amount', 'a fraction of a cent raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000004', 'b1000000-0000-4000-8000-000000000005', 1.5)$$,
    'WL003', 'invalid amount', 'a fraction of a yen raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 1, NULL, '[1]')$$,
    'WL013', 'invalid metadata', 'metadata that is not an object raises WL013');
SELECT throws_ok(
    format($$SELECT * FROM wallet.transfer('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 1, NULL, %L)$$,
        jsonb_build_object('x', repeat('y', 5000))),
    'WL013', 'invalid metadata', 'metadata over 4096 bytes raises WL013');
SELECT throws_ok($$SELECT * FROM wallet.transfer(NULL, 'b1000000-0000-4000-8000-000000000002', 1)$$,
    'WL009', 'invalid argument', 'a NULL source raises WL009 (no NULL distribution argument ever travels on)');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet(0, NULL, NULL, 'XXX')$$,
    'WL015', 'invalid currency', 'a currency outside wallet.currencies raises WL015');
SELECT results_eq(
    $$SELECT id, balance, version FROM wallet.wallets WHERE id::text LIKE 'b1000000-%' ORDER BY id$$,
    $$VALUES ('b1000000-0000-4000-8000-000000000001'::uuid, 70.50::numeric, 3::bigint),
             ('b1000000-0000-4000-8000-000000000002', 29.50, 2), ('b1000000-0000-4000-8000-000000000003', 50.00, 1),
             ('b1000000-0000-4000-8000-000000000004', 1000, 1), ('b1000000-0000-4000-8000-000000000005', 0, 0)$$,
    'after the refusals the balances and versions hold only the two transfers');

-- Currencies: amounts leave with the currency's minor units
SELECT results_eq(
    $$SELECT amount::text, balance_after::text FROM wallet.transfer('b1000000-0000-4000-8000-000000000004',
          'b1000000-0000-4000-8000-000000000005', 300)$$,
    $$VALUES ('300'::text, '700'::text)$$,
    'JPY amounts leave without decimal places');
SELECT is((SELECT balance::text FROM wallet.get_wallet('b1000000-0000-4000-8000-000000000003')), '50.00',
    'EUR balances leave with 2 decimal places');

-- A batch: one call, several wallets, locked in id order; each request sees the ones before it
SELECT results_eq(
    $$SELECT ordinal, kind, error_code, balance_after FROM wallet.post_transfers('b1000000-0000-4000-8000-000000000002', ARRAY[
          ROW(NULL, 'b1000000-0000-4000-8000-000000000002', 10, 'pgtap-b1', false, NULL)::wallet.transfer_request,
          ROW('b1000000-0000-4000-8000-000000000002', 'b1000000-0000-4000-8000-000000000001', 39.50, NULL, false, NULL)::wallet.transfer_request,
          ROW('b1000000-0000-4000-8000-000000000002', 'b1000000-0000-4000-8000-000000000001', 0.01, NULL, false, NULL)::wallet.transfer_request,
          ROW(NULL, 'b1000000-0000-4000-8000-000000000002', 10, 'pgtap-b1', false, NULL)::wallet.transfer_request,
          ROW(NULL, NULL, 1, NULL, false, NULL)::wallet.transfer_request])$$,
    $$VALUES (1, 'DEPOSIT'::text, NULL::text, 39.50::numeric), (2, 'TRANSFER', NULL, 0.00), (3, 'TRANSFER', 'WL002', 0.00),
             (4, 'DEPOSIT', NULL, 39.50), (5, NULL, 'WL009', NULL)$$,
    'a batch: a deposit, a transfer using it, a refused one, a replay within the batch, and a request naming no wallet');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger() WHERE wallet_id::text LIKE 'b1000000-%'$$,
    'every wallet agrees with its ledger and every transfer is balanced');
SELECT is_empty(
    $$SELECT transfer_id FROM wallet.postings WHERE transfer_id IN (SELECT transfer_id FROM wallet.operations WHERE wallet_id::text LIKE 'b1000000-%')
      GROUP BY transfer_id, currency HAVING sum(amount) <> 0$$,
    'the postings of every transfer, the outside world''s legs included, sum to zero per currency');
SELECT results_eq(
    $$SELECT error_code FROM wallet.post_transfers('b1000000-0000-4000-8000-000000000001', ARRAY[
          ROW('b1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000002', 1000, 'pgtap-refused-t', true, NULL)::wallet.transfer_request])$$,
    $$VALUES ('WL002'::text)$$,
    'a keyed transfer refused for insufficient funds');
SELECT results_eq(
    $$SELECT operation_type, counterparty_wallet_id, expires_at IS NOT NULL FROM wallet.refusals
      WHERE wallet_id = 'b1000000-0000-4000-8000-000000000001' AND idempotency_key = 'pgtap-refused-t'$$,
    $$VALUES ('TRANSFER_OUT'::text, 'b1000000-0000-4000-8000-000000000002'::uuid, true)$$,
    'is recorded for its source with its destination (and, its key being ephemeral, an expiry)');

-- Ids: a new transfer's id is a UUID of version 7 whose first 48 bits are the millisecond it was made
-- (so new transfers append to the transfer_id index), and its first leg carries the transfer's id
SELECT is(
    (SELECT count(*) FILTER (WHERE substr(t.transfer_id::text, 15, 1) = '7'
            AND abs(('x' || substr(replace(t.transfer_id::text, '-', ''), 1, 12))::bit(48)::bigint
                    - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) < 60000)
     FROM wallet.operations AS t WHERE t.wallet_id::text LIKE 'b1000000-%' AND t.created_at = now()),
    (SELECT count(*) FROM wallet.operations AS t WHERE t.wallet_id::text LIKE 'b1000000-%' AND t.created_at = now()),
    'every transfer made now has a version-7 id stamped with the current time');
SELECT is_empty(
    $$SELECT transfer_id FROM wallet.operations WHERE wallet_id::text LIKE 'b1000000-%'
      GROUP BY transfer_id HAVING count(*) FILTER (WHERE id = transfer_id) <> 1$$,
    'the first leg of every transfer has the transfer''s id, and only that leg');
SELECT is(
    (SELECT count(DISTINCT u) FROM unnest(wallet.time_ordered_ids(1000)) AS u WHERE substr(u::text, 15, 1) = '7'
        AND substr(u::text, 20, 1) IN ('8', '9', 'a', 'b')),
    1000::bigint,
    'wallet.time_ordered_ids(1000): 1000 distinct ids, each of version 7 and variant RFC 9562');

-- All or nothing: wallet.post_transfers_atomic
SELECT wallet.create_wallet(10, 'b1000000-0000-4000-8000-000000000031');
SELECT wallet.create_wallet(0, 'b1000000-0000-4000-8000-000000000032');
SELECT results_eq(
    $$SELECT ordinal, kind, balance_after, error_code FROM wallet.post_transfers_atomic('b1000000-0000-4000-8000-000000000031', ARRAY[
          ROW('b1000000-0000-4000-8000-000000000031', 'b1000000-0000-4000-8000-000000000032', 4, 'pgtap-at-1', false, NULL)::wallet.transfer_request,
          ROW(NULL, 'b1000000-0000-4000-8000-000000000031', 1, NULL, false, NULL)::wallet.transfer_request])$$,
    $$VALUES (1, 'TRANSFER'::text, 6.00::numeric, NULL::text), (2, 'DEPOSIT', 7.00, NULL)$$,
    'post_transfers_atomic applies every request when all can apply');
SELECT throws_ok(
    $$SELECT * FROM wallet.post_transfers_atomic('b1000000-0000-4000-8000-000000000031', ARRAY[
          ROW(NULL, 'b1000000-0000-4000-8000-000000000031', 5, 'pgtap-at-2', false, NULL)::wallet.transfer_request,
          ROW('b1000000-0000-4000-8000-000000000031', NULL, 100, 'pgtap-at-3', false, NULL)::wallet.transfer_request,
          ROW(NULL, 'b1000000-0000-4000-8000-0000000000ff', 1, NULL, false, NULL)::wallet.transfer_request])$$,
    'WL002', NULL,
    'one refused request (the second) raises its own code for the whole call');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.wallets WHERE id = 'b1000000-0000-4000-8000-000000000031'$$,
    $$VALUES (7.0000::numeric, 3::bigint)$$,
    'and nothing of the call is written');
SELECT is_empty(
    $$SELECT FROM wallet.refusals WHERE idempotency_key IN ('pgtap-at-2', 'pgtap-at-3')$$,
    'not even the refusal of its keyed request: the keys stay free');
CREATE FUNCTION pg_temp.atomic_detail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_detail text;
BEGIN
    PERFORM wallet.post_transfers_atomic('b1000000-0000-4000-8000-000000000031', ARRAY[
        ROW(NULL, 'b1000000-0000-4000-8000-000000000031', 5, NULL, false, NULL)::wallet.transfer_request,
        ROW(NULL, 'b1000000-0000-4000-8000-0000000000ff', 1, NULL, false, NULL)::wallet.transfer_request]);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_state || ' ' || v_detail;
END
$$;
SELECT is(pg_temp.atomic_detail(), 'WL001 transfer 2 of 2: no wallet has id b1000000-0000-4000-8000-0000000000ff',
    'the error names the first refused request and says why');

SELECT * FROM finish();
ROLLBACK;
