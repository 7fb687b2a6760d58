-- wallet.reverse_transfer: money moved back along an earlier transfer (all or part of it, never more in
-- all), as a new transfer linked to it in wallet.reversals; get_transfer's reverses and reversed_amount;
-- keys; verify_ledger's over_reversed and bad_captures.
BEGIN;
SELECT plan(44);

SELECT has_function('wallet', 'reverse_transfer', ARRAY['uuid', 'uuid', 'numeric', 'text', 'jsonb'],
    'wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb) exists');

-- d7...01 A: 100 USD, 02 B: 0, 03 C: 0, 04 D: 0, 05 E: 100, 06 F: 100
SELECT FROM wallet.create_wallet(100, 'd7000000-0000-4000-8000-000000000001');
SELECT FROM wallet.create_wallet(0, 'd7000000-0000-4000-8000-000000000002');
SELECT FROM wallet.create_wallet(0, 'd7000000-0000-4000-8000-000000000003');
SELECT FROM wallet.create_wallet(0, 'd7000000-0000-4000-8000-000000000004');
SELECT FROM wallet.create_wallet(100, 'd7000000-0000-4000-8000-000000000005');
SELECT FROM wallet.create_wallet(100, 'd7000000-0000-4000-8000-000000000006');

-- The transfer a key of this file's wallets made (every key here is used once).
CREATE FUNCTION pg_temp.tid(p_key text)
RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT o.transfer_id FROM wallet.operations AS o
    WHERE o.wallet_id::text LIKE 'd7000000-%' AND o.idempotency_key = p_key
$$;
-- The SQLSTATE and detail of the error a statement raises (no row if none).
CREATE FUNCTION pg_temp.caught(p_sql text)
RETURNS TABLE (code text, detail text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
    RETURN;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN NEXT;
END
$$;

-- A transfer A -> B of 40.00, reversed in parts: 15, 20, then the rest
SELECT FROM wallet.transfer('d7000000-0000-4000-8000-000000000001', 'd7000000-0000-4000-8000-000000000002', 40, 'pgtap-t1');
SELECT results_eq(
    $$SELECT transfer_id <> reverses, kind, from_wallet_id, to_wallet_id, amount, currency, metadata, reverses,
             original_reversed_amount, balance_after, replayed
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'), 15, 'pgtap-r1',
          '{"reason": "refund"}')$$,
    $$VALUES (true, 'TRANSFER'::text, 'd7000000-0000-4000-8000-000000000002'::uuid, 'd7000000-0000-4000-8000-000000000001'::uuid,
              15.00::numeric, 'USD'::text, '{"reason": "refund"}'::jsonb, pg_temp.tid('pgtap-t1'), 15.00::numeric, 25.00::numeric,
              false)$$,
    'reversing 15.00 of a transfer A -> B of 40.00 is a new transfer B -> A; 15.00 of the original is reversed, B keeps 25.00');
SELECT results_eq(
    $$SELECT id, balance FROM wallet.wallets WHERE id IN ('d7000000-0000-4000-8000-000000000001', 'd7000000-0000-4000-8000-000000000002')
      ORDER BY id$$,
    $$VALUES ('d7000000-0000-4000-8000-000000000001'::uuid, 75.00::numeric), ('d7000000-0000-4000-8000-000000000002', 25.00)$$,
    'the money is back on both sides: A 100 - 40 + 15 = 75.00, B 40 - 15 = 25.00');
SELECT results_eq(
    $$SELECT wallet_id, operation_type, amount, balance_after, counterparty_wallet_id, idempotency_key, metadata
      FROM wallet.operations WHERE transfer_id = pg_temp.tid('pgtap-r1') ORDER BY operation_type$$,
    $$VALUES ('d7000000-0000-4000-8000-000000000001'::uuid, 'TRANSFER_IN'::text, 15.00::numeric, 75.00::numeric,
              'd7000000-0000-4000-8000-000000000002'::uuid, NULL::text, '{"reason": "refund"}'::jsonb),
             ('d7000000-0000-4000-8000-000000000002', 'TRANSFER_OUT', 15.00, 25.00, 'd7000000-0000-4000-8000-000000000001',
              'pgtap-r1', '{"reason": "refund"}')$$,
    'its legs: TRANSFER_OUT on B (with the key), TRANSFER_IN on A, both with the metadata');
SELECT results_eq(
    $$SELECT wallet_id, reverses, amount, created_at = now() FROM wallet.reversals WHERE transfer_id = pg_temp.tid('pgtap-r1')$$,
    $$VALUES ('d7000000-0000-4000-8000-000000000002'::uuid, pg_temp.tid('pgtap-t1'), 15.00::numeric, true)$$,
    'wallet.reversals links it to the original, owned by B (the wallet that pays back)');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, reverses, reversed_amount FROM wallet.get_transfer(pg_temp.tid('pgtap-t1'))$$,
    $$VALUES ('TRANSFER'::text, 'd7000000-0000-4000-8000-000000000001'::uuid, NULL::uuid, 15.00::numeric)$$,
    'get_transfer of the original: reverses NULL, reversed_amount 15.00');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, reverses, reversed_amount FROM wallet.get_transfer(pg_temp.tid('pgtap-r1'))$$,
    $$VALUES ('TRANSFER'::text, 'd7000000-0000-4000-8000-000000000002'::uuid, 'd7000000-0000-4000-8000-000000000001'::uuid,
              15.00::numeric, pg_temp.tid('pgtap-t1'), 0.00::numeric)$$,
    'get_transfer of the reversal: B -> A 15.00, reverses the original, itself reversed by nothing (0.00)');
SELECT results_eq(
    $$SELECT amount, original_reversed_amount, balance_after
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'), 20, 'pgtap-r2')$$,
    $$VALUES (20.00::numeric, 35.00::numeric, 5.00::numeric)$$,
    'a second partial reversal of 20.00: 35.00 of 40.00 reversed, B keeps 5.00');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'), 10)$$,
    'WL018', NULL, 'reversing 10.00 when 5.00 remains raises WL018');
SELECT results_eq(
    $$SELECT * FROM pg_temp.caught(format('SELECT * FROM wallet.reverse_transfer(NULL, %L, 10)', pg_temp.tid('pgtap-t1')))$$,
    $$VALUES ('WL018'::text, format('transfer %s: original 40.00 USD, already reversed 35.00, requested 10; 5.00 remains',
                                    pg_temp.tid('pgtap-t1')))$$,
    'the WL018 detail gives the original, the amount already reversed, the amount requested and what remains');
SELECT results_eq(
    $$SELECT amount, original_reversed_amount, balance_after
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'), NULL, 'pgtap-r3')$$,
    $$VALUES (5.00::numeric, 40.00::numeric, 0.00::numeric)$$,
    'without an amount, a reversal takes what remains (5.00): the original is fully reversed');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'))$$,
    'WL018', NULL, 'reversing a fully reversed transfer raises WL018');
SELECT results_eq(
    $$SELECT reversed_amount FROM wallet.get_transfer(pg_temp.tid('pgtap-t1'))$$,
    $$VALUES (40.00::numeric)$$,
    'get_transfer of the original now says 40.00 reversed');

-- Keys: the same reversal replays, even once the original is fully reversed; any other use is WL005
SELECT results_eq(
    $$SELECT transfer_id, amount, metadata, original_reversed_amount, balance_after, replayed
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000001', pg_temp.tid('pgtap-t1'), 15, 'pgtap-r1',
          '{"reason": "refund"}')$$,
    $$VALUES (pg_temp.tid('pgtap-r1'), 15.00::numeric, '{"reason": "refund"}'::jsonb, 40.00::numeric, 25.00::numeric, true)$$,
    'the first reversal again with its key returns it (replayed, balance as it was then), though nothing remains to reverse');
SELECT results_eq(
    $$SELECT transfer_id, amount, replayed
      FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t1'), NULL, 'pgtap-r1', '{"reason": "refund"}')$$,
    $$VALUES (pg_temp.tid('pgtap-r1'), 15.00::numeric, true)$$,
    'without an amount, the replay takes the amount the first one reversed');
SELECT results_eq(
    $$SELECT (SELECT version FROM wallet.wallets WHERE id = 'd7000000-0000-4000-8000-000000000002'),
             (SELECT count(*) FROM wallet.reversals WHERE reverses = pg_temp.tid('pgtap-t1'))$$,
    $$VALUES (4::bigint, 3::bigint)$$,
    'the replays wrote nothing: B has its 4 entries, the original its 3 reversals');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t1'), 14, 'pgtap-r1', '{"reason": "refund"}')$$,
    'WL005', NULL, 'the key with another amount raises WL005');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t1'), 15, 'pgtap-r1')$$,
    'WL005', NULL, 'the key with other metadata raises WL005');
SELECT FROM wallet.transfer('d7000000-0000-4000-8000-000000000001', 'd7000000-0000-4000-8000-000000000002', 10, 'pgtap-t2');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 15, 'pgtap-r1', '{"reason": "refund"}')$$,
    'WL005', NULL, 'the key of a reversal of another transfer raises WL005');
SELECT FROM wallet.withdraw('d7000000-0000-4000-8000-000000000002', 1, 'pgtap-w-b');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 1, 'pgtap-w-b')$$,
    'WL005', NULL, 'a key a plain withdrawal used on the paying wallet raises WL005 (never linked to that withdrawal)');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 1, repeat('k', 256))$$,
    'WL007', NULL, 'a 256-character key raises WL007');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 1, NULL, '[1]')$$,
    'WL013', NULL, 'metadata that is not an object raises WL013');

-- Which transfer, and how much
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, 'd7000000-0000-4000-8000-0000000000ff')$$,
    'WL011', NULL, 'an unknown transfer raises WL011');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, NULL)$$,
    'WL011', NULL, 'a NULL transfer id raises WL011');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000002', pg_temp.tid('pgtap-t2'))$$,
    'WL011', NULL, 'a transfer named with a wallet that does not own it (here its destination) raises WL011');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 1.001)$$,
    'WL003', NULL, 'an amount finer than the currency''s minor units raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), 0)$$,
    'WL003', NULL, 'an amount of 0 raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'), -5)$$,
    'WL003', NULL, 'a negative amount raises WL003');
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-t2'))$$,
    'WL002', NULL, 'B no longer has the 10.00 (it withdrew 1.00 of it): WL002');

-- A reversal is a transfer like any other: it may be reversed
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, reverses, original_reversed_amount
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000002', pg_temp.tid('pgtap-r2'), 20, 'pgtap-rr2')$$,
    $$VALUES ('TRANSFER'::text, 'd7000000-0000-4000-8000-000000000001'::uuid, 'd7000000-0000-4000-8000-000000000002'::uuid,
              20.00::numeric, pg_temp.tid('pgtap-r2'), 20.00::numeric)$$,
    'reversing the 20.00 reversal B -> A moves 20.00 A -> B again, owned by A');

-- A deposit into C is reversed by a withdrawal; held money cannot pay it
SELECT FROM wallet.deposit('d7000000-0000-4000-8000-000000000003', 50, 'pgtap-d1');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, original_reversed_amount, balance_after
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000003', pg_temp.tid('pgtap-d1'), 20, 'pgtap-rd1')$$,
    $$VALUES ('WITHDRAW'::text, 'd7000000-0000-4000-8000-000000000003'::uuid, NULL::uuid, 20.00::numeric, 20.00::numeric,
              30.00::numeric)$$,
    'reversing 20.00 of a deposit of 50.00 is a withdrawal of 20.00 from the wallet (30.00 left)');
SELECT results_eq(
    $$SELECT operation_type, amount, idempotency_key FROM wallet.operations WHERE transfer_id = pg_temp.tid('pgtap-rd1')$$,
    $$VALUES ('WITHDRAW'::text, 20.00::numeric, 'pgtap-rd1'::text)$$,
    'in the ledger: one WITHDRAW entry on the wallet, with the key');
SELECT FROM wallet.create_hold('d7000000-0000-4000-8000-000000000003', 25);
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-d1'), NULL, 'pgtap-rd2')$$,
    'WL002', NULL, 'reversing the remaining 30.00 while 25.00 of the wallet''s 30.00 is held raises WL002');
SELECT results_eq(
    $$SELECT balance, held, (SELECT count(*) FROM wallet.reversals WHERE reverses = pg_temp.tid('pgtap-d1'))
      FROM wallet.wallets WHERE id = 'd7000000-0000-4000-8000-000000000003'$$,
    $$VALUES (30.00::numeric, 25.00::numeric, 1::bigint)$$,
    'the refused reversal changed nothing: balance 30.00, 25.00 held, one reversal');
SELECT results_eq(
    $$SELECT amount, balance_after FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-d1'), 5)$$,
    $$VALUES (5.00::numeric, 25.00::numeric)$$,
    'reversing 5.00, all that is available, is applied');
SELECT FROM wallet.deposit('d7000000-0000-4000-8000-000000000004', 10, 'pgtap-d2');
SELECT FROM wallet.withdraw('d7000000-0000-4000-8000-000000000004', 8);
SELECT throws_ok($$SELECT * FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-d2'))$$,
    'WL002', NULL, 'reversing a deposit of 10.00 from a wallet that kept 2.00 of it raises WL002');

-- A withdrawal from E is reversed by a deposit; the wallet found by the transfer id
SELECT FROM wallet.withdraw('d7000000-0000-4000-8000-000000000005', 30, 'pgtap-w1');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, reverses, balance_after
      FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-w1'), NULL, 'pgtap-rw1')$$,
    $$VALUES ('DEPOSIT'::text, NULL::uuid, 'd7000000-0000-4000-8000-000000000005'::uuid, 30.00::numeric, pg_temp.tid('pgtap-w1'),
              100.00::numeric)$$,
    'reversing a withdrawal of 30.00 (its wallet looked up by the transfer id) deposits 30.00 back: 100.00');
SELECT results_eq(
    $$SELECT wallet_id, operation_type FROM wallet.operations WHERE transfer_id = pg_temp.tid('pgtap-rw1')$$,
    $$VALUES ('d7000000-0000-4000-8000-000000000005'::uuid, 'DEPOSIT'::text)$$,
    'in the ledger: one DEPOSIT entry on the wallet');

-- A captured hold is a withdrawal (or a transfer) like any other: its capture can be reversed
SELECT FROM wallet.create_hold('d7000000-0000-4000-8000-000000000006', 60, 600, 'pgtap-h1');
SELECT FROM wallet.capture_hold('d7000000-0000-4000-8000-000000000006',
    (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'), 45, NULL, 'pgtap-c1');
SELECT results_eq(
    $$SELECT kind, amount, reverses, balance_after
      FROM wallet.reverse_transfer('d7000000-0000-4000-8000-000000000006',
          (SELECT capture_transfer_id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'))$$,
    $$VALUES ('DEPOSIT'::text, 45.00::numeric, pg_temp.tid('pgtap-c1'), 100.00::numeric)$$,
    'reversing a capture of 45.00 (a withdrawal) deposits it back: 100.00');
SELECT FROM wallet.create_hold('d7000000-0000-4000-8000-000000000006', 20, 600, 'pgtap-h2');
SELECT FROM wallet.capture_hold('d7000000-0000-4000-8000-000000000006',
    (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'), NULL, 'd7000000-0000-4000-8000-000000000002', 'pgtap-c2');
SELECT results_eq(
    $$SELECT kind, from_wallet_id, to_wallet_id, amount, (SELECT status FROM wallet.holds WHERE idempotency_key = 'pgtap-h2')
      FROM wallet.reverse_transfer(NULL, pg_temp.tid('pgtap-c2'), 5)$$,
    $$VALUES ('TRANSFER'::text, 'd7000000-0000-4000-8000-000000000002'::uuid, 'd7000000-0000-4000-8000-000000000006'::uuid,
              5.00::numeric, 'captured'::text)$$,
    'reversing 5.00 of a capture to another wallet moves it back from that wallet; the hold stays captured');

-- The audit: clean, then forged reversals and captures are reported
SELECT is_empty($$SELECT * FROM wallet.verify_ledger() WHERE wallet_id::text LIKE 'd7000000-%'$$,
    'verify_ledger reports none of the wallets after all these reversals');
INSERT INTO wallet.reversals (wallet_id, transfer_id, reverses, amount, created_at)
VALUES ('d7000000-0000-4000-8000-000000000002', gen_random_uuid(), pg_temp.tid('pgtap-t1'), 0.01, now());
SELECT results_eq(
    $$SELECT wallet_id, balance = ledger_sum, over_reversed, bad_captures FROM wallet.verify_ledger()
      WHERE wallet_id::text LIKE 'd7000000-%'$$,
    $$VALUES ('d7000000-0000-4000-8000-000000000002'::uuid, true, 1::bigint, 0::bigint)$$,
    'a forged link that takes the original''s reversals to 40.01 of 40.00 is reported on the paying wallet (over_reversed 1)');
UPDATE wallet.holds SET captured_amount = 44 WHERE idempotency_key = 'pgtap-h1';
SELECT results_eq(
    $$SELECT over_reversed, bad_captures FROM wallet.verify_ledger('d7000000-0000-4000-8000-000000000006')$$,
    $$VALUES (0::bigint, 1::bigint)$$,
    'a captured hold whose captured amount (44.00) is not what its transfer moved (45.00) is reported (bad_captures 1)');
UPDATE wallet.holds SET captured_amount = 45 WHERE idempotency_key = 'pgtap-h1';
UPDATE wallet.holds SET capture_transfer_id = pg_temp.tid('pgtap-c1') WHERE idempotency_key = 'pgtap-h2';
SELECT results_eq(
    $$SELECT over_reversed, bad_captures FROM wallet.verify_ledger('d7000000-0000-4000-8000-000000000006')$$,
    $$VALUES (0::bigint, 2::bigint)$$,
    'two captured holds naming one transfer (one withdrawal captured twice) are both reported (bad_captures 2)');

SELECT * FROM finish();
ROLLBACK;
