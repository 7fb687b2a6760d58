-- Holds: create, capture (all, part, to another wallet), void, expire; the available balance that
-- withdrawals, transfers out and new holds are checked against; keys; verify_ledger's held check.
BEGIN;
SELECT plan(50);

SELECT wallet.create_wallet(100.00, 'c1000000-0000-4000-8000-000000000001');
SELECT wallet.create_wallet(0, 'c1000000-0000-4000-8000-000000000002');
SELECT wallet.create_wallet(50, 'c1000000-0000-4000-8000-000000000003', NULL, 'EUR');

-- Create
SELECT results_eq(
    $$SELECT status, amount, currency, available_balance, captured_amount IS NULL, replayed, expires_at - created_at
      FROM wallet.create_hold('c1000000-0000-4000-8000-000000000001', 30, 600, 'pgtap-h1', '{"order": 7}')$$,
    $$VALUES ('active'::text, 30.00::numeric, 'USD'::text, 70.00::numeric, true, false, interval '600 seconds')$$,
    'create_hold: an active hold of 30.00 for 600 s; the wallet''s available balance is 70.00');
SELECT results_eq(
    $$SELECT balance, held FROM wallet.wallets WHERE id = 'c1000000-0000-4000-8000-000000000001'$$,
    $$VALUES (100.00::numeric, 30.00::numeric)$$,
    'a hold moves no money: balance 100.00, held 30.00');
SELECT results_eq(
    $$SELECT h.hold_id, h.replayed FROM wallet.create_hold('c1000000-0000-4000-8000-000000000001', 30, 600, 'pgtap-h1', '{"order": 7}') AS h$$,
    $$SELECT id, true FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'$$,
    'the same request with its key returns the original hold (replayed)');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 31, 600, 'pgtap-h1')$$,
    'WL005', NULL, 'the key with another amount: WL005');
SELECT wallet.deposit('c1000000-0000-4000-8000-000000000002', 1, 'pgtap-used');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000002', 1, 600, 'pgtap-used')$$,
    'WL005', NULL, 'a key a deposit used on the wallet: WL005');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 70.01)$$,
    'WL002', NULL, 'a hold beyond the available balance: WL002');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 1.001)$$, 'WL003', NULL,
    'an amount finer than the currency: WL003');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 1, 0)$$, 'WL009', NULL,
    'an expiry of 0 s: WL009');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 1, 2592001)$$, 'WL009', NULL,
    'an expiry over 30 days: WL009');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-0000000000ff', 1)$$, 'WL001', NULL,
    'an unknown wallet: WL001');
SELECT throws_ok($$SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 1, 60, NULL, '[1]')$$, 'WL013', NULL,
    'metadata that is not an object: WL013');

-- The available balance is what withdrawals and transfers out may take
SELECT throws_ok($$SELECT wallet.withdraw('c1000000-0000-4000-8000-000000000001', 70.01)$$, 'WL002', NULL,
    'a withdrawal beyond the available balance (70.00 of 100.00): WL002');
SELECT results_eq(
    $$SELECT error_detail FROM wallet.post_transfers('c1000000-0000-4000-8000-000000000001', ARRAY[
          ROW('c1000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000002', 80, NULL, false, NULL)::wallet.transfer_request])$$,
    $$VALUES ('wallet c1000000-0000-4000-8000-000000000001 has 100.00, of which 70.00 is available (30.00 is held); transferring 80.00 needs 10.00 more'::text)$$,
    'a transfer out beyond it: refused, the detail gives both figures');
SELECT results_eq(
    $$SELECT balance_after FROM wallet.withdraw('c1000000-0000-4000-8000-000000000001', 10)$$,
    $$VALUES (90.00::numeric)$$,
    'a withdrawal within it is applied');

-- Capture part, as a withdrawal
SELECT results_eq(
    $$SELECT status, captured_amount, capture_transfer_id IS NOT NULL, capture_to_wallet_id, available_balance, replayed
      FROM wallet.capture_hold('c1000000-0000-4000-8000-000000000001', (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'),
          12.50, NULL, 'pgtap-cap1')$$,
    $$VALUES ('captured'::text, 12.50::numeric, true, NULL::uuid, 77.50::numeric, false)$$,
    'capture_hold 12.50 of 30.00: captured, the rest released at once (available 77.50)');
SELECT results_eq(
    $$SELECT o.operation_type, o.amount, o.balance_after, o.idempotency_key, o.metadata
      FROM wallet.operations AS o JOIN wallet.holds AS h ON h.capture_transfer_id = o.transfer_id
      WHERE h.idempotency_key = 'pgtap-h1'$$,
    $$VALUES ('WITHDRAW'::text, 12.50::numeric, 77.50::numeric, 'pgtap-cap1'::text, '{"order": 7}'::jsonb)$$,
    'the capture is a withdrawal in the ledger, linked to the hold by its transfer, with the hold''s metadata');
SELECT results_eq(
    $$SELECT balance, held FROM wallet.wallets WHERE id = 'c1000000-0000-4000-8000-000000000001'$$,
    $$VALUES (77.50::numeric, 0.00::numeric)$$,
    'balance 77.50 (only the captured part left), nothing held');
SELECT results_eq(
    $$SELECT replayed, captured_amount FROM wallet.capture_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'), 12.50, NULL, 'pgtap-cap1')$$,
    $$VALUES (true, 12.50::numeric)$$,
    'the same capture with its key: the original answer, nothing moves again');
SELECT throws_ok($$SELECT wallet.capture_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'), 1, NULL, 'pgtap-cap2')$$,
    'WL017', NULL, 'a second capture: WL017');
SELECT throws_ok($$SELECT wallet.void_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h1'))$$,
    'WL017', NULL, 'voiding a captured hold: WL017');

-- Capture to another wallet, and what a capture may not do
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 20, 600, 'pgtap-h2');
SELECT throws_ok($$SELECT wallet.capture_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'), 20.01)$$,
    'WL003', NULL, 'capturing more than the hold: WL003');
SELECT throws_ok($$SELECT wallet.capture_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'), NULL, 'c1000000-0000-4000-8000-000000000003')$$,
    'WL012', NULL, 'capturing to a wallet of another currency: WL012');
SELECT results_eq(
    $$SELECT status, held FROM wallet.holds AS h JOIN wallet.wallets AS w ON w.id = h.wallet_id WHERE h.idempotency_key = 'pgtap-h2'$$,
    $$VALUES ('active'::text, 20.00::numeric)$$,
    'a refused capture changes nothing: the hold is still active and held');
SELECT throws_ok($$SELECT wallet.capture_hold('c1000000-0000-4000-8000-000000000002',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'))$$,
    'WL016', NULL, 'a hold named with another wallet: WL016');
SELECT wallet.withdraw('c1000000-0000-4000-8000-000000000001', 5, 'pgtap-w5');
SELECT throws_ok($$SELECT wallet.capture_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'), 5, NULL, 'pgtap-w5')$$,
    'WL005', NULL, 'a capture whose key an identical withdrawal used: WL005, never linked to that withdrawal');
SELECT results_eq(
    $$SELECT status, captured_amount, capture_to_wallet_id FROM wallet.capture_hold(NULL,
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'), 15, 'c1000000-0000-4000-8000-000000000002')$$,
    $$VALUES ('captured'::text, 15.00::numeric, 'c1000000-0000-4000-8000-000000000002'::uuid)$$,
    'capture 15.00 of 20.00 to another wallet (the hold found by its id alone)');
SELECT results_eq(
    $$SELECT o.wallet_id, o.operation_type, o.amount FROM wallet.operations AS o
      JOIN wallet.holds AS h ON h.capture_transfer_id = o.transfer_id WHERE h.idempotency_key = 'pgtap-h2' ORDER BY o.operation_type$$,
    $$VALUES ('c1000000-0000-4000-8000-000000000002'::uuid, 'TRANSFER_IN'::text, 15.00::numeric),
             ('c1000000-0000-4000-8000-000000000001', 'TRANSFER_OUT', 15.00)$$,
    'its transfer has both legs');

-- Void
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 7, 600, 'pgtap-h3');
SELECT results_eq(
    $$SELECT status, closed_at IS NOT NULL, available_balance FROM wallet.void_hold('c1000000-0000-4000-8000-000000000001',
          (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h3'), 'pgtap-v3')$$,
    $$SELECT 'voided'::text, true, balance FROM wallet.wallets WHERE id = 'c1000000-0000-4000-8000-000000000001'$$,
    'void_hold: voided, closed, all of the balance available again');
SELECT results_eq(
    $$SELECT replayed FROM wallet.void_hold(NULL, (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h3'), 'pgtap-v3')$$,
    $$VALUES (true)$$, 'the same void with its key: the original answer');
SELECT throws_ok($$SELECT wallet.void_hold(NULL, (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h3'))$$,
    'WL017', NULL, 'voiding it again without the key: WL017');

-- Expiry: a due hold gives its money back when its wallet is next locked, or by the sweep
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 50, 600, 'pgtap-h4');
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000001', 2, 600, 'pgtap-h5');
UPDATE wallet.holds SET created_at = now() - interval '10 minutes', expires_at = now() - interval '1 second'
WHERE idempotency_key IN ('pgtap-h4', 'pgtap-h5');
SELECT results_eq(
    $$SELECT balance_after FROM wallet.withdraw('c1000000-0000-4000-8000-000000000001', 50)$$,
    $$SELECT balance - 50 FROM wallet.wallets WHERE id = 'c1000000-0000-4000-8000-000000000001'$$,
    'a withdrawal that only the expired holds'' money makes possible is applied');
SELECT results_eq(
    $$SELECT status, closed_at = now() FROM wallet.holds WHERE idempotency_key IN ('pgtap-h4', 'pgtap-h5') ORDER BY idempotency_key$$,
    $$VALUES ('expired'::text, true), ('expired', true)$$,
    'both holds are expired, with the time it was recorded');
SELECT throws_ok($$SELECT wallet.capture_hold(NULL, (SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h4'))$$,
    'WL017', NULL, 'capturing an expired hold: WL017');
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000002', 3, 600, 'pgtap-h6');
UPDATE wallet.holds SET created_at = now() - interval '10 minutes', expires_at = now() - interval '1 second'
WHERE idempotency_key = 'pgtap-h6';
SELECT is(wallet.expire_holds(), 1, 'expire_holds sweeps the due hold and says how many');
SELECT results_eq(
    $$SELECT h.status, w.held FROM wallet.holds AS h JOIN wallet.wallets AS w ON w.id = h.wallet_id WHERE h.idempotency_key = 'pgtap-h6'$$,
    $$VALUES ('expired'::text, 0.0000::numeric)$$,
    'it is expired and its wallet holds nothing');
SELECT is(wallet.expire_holds(), 0, 'a second sweep finds nothing');

-- Batches: wallet.create_holds, one element each, in order, each seeing the ones before it
SELECT wallet.create_wallet(10, 'c1000000-0000-4000-8000-000000000004');
SELECT results_eq(
    $$SELECT ordinal, status, available_balance, replayed, error_code
      FROM wallet.create_holds('c1000000-0000-4000-8000-000000000004', ARRAY[
          ROW(4, 60, 'pgtap-b1', false, NULL)::wallet.hold_request,
          ROW(4, 60, 'pgtap-b1', false, NULL)::wallet.hold_request,
          ROW(5, 60, 'pgtap-b1', false, NULL)::wallet.hold_request,
          ROW(7, 60, NULL, false, NULL)::wallet.hold_request,
          ROW(0, 60, NULL, false, NULL)::wallet.hold_request,
          ROW(1, 0, NULL, false, NULL)::wallet.hold_request,
          ROW(6, 60, 'srv-1', true, '{"n": 1}')::wallet.hold_request])$$,
    $$VALUES (1, 'active'::text, 6.00::numeric, false, NULL::text), (2, 'active', 6.00, true, NULL), (3, NULL, 6.00, false, 'WL005'),
             (4, NULL, 6.00, false, 'WL002'), (5, NULL, 6.00, false, 'WL003'), (6, NULL, 6.00, false, 'WL009'),
             (7, 'active', 0.00, false, NULL)$$,
    'create_holds: a hold, its replay in the same batch, the key with another amount (WL005), one beyond what is left (WL002), a bad amount and expiry, and one that takes the rest');
SELECT results_eq(
    $$SELECT count(*)::integer, sum(amount), (SELECT held FROM wallet.wallets WHERE id = 'c1000000-0000-4000-8000-000000000004')
      FROM wallet.holds WHERE wallet_id = 'c1000000-0000-4000-8000-000000000004'$$,
    $$VALUES (2, 10.0000::numeric, 10.0000::numeric)$$,
    'only the two holds that were made are written, and held is their sum');
SELECT results_eq(
    $$SELECT hold_id, replayed FROM wallet.create_holds('c1000000-0000-4000-8000-000000000004',
          ARRAY[ROW(4, 60, 'pgtap-b1', false, NULL)::wallet.hold_request])$$,
    $$SELECT id, true FROM wallet.holds WHERE idempotency_key = 'pgtap-b1'$$,
    'a later batch replays the hold its key made');
SELECT is((SELECT count(*)::integer FROM wallet.create_holds('c1000000-0000-4000-8000-0000000000ff',
          ARRAY[ROW(1, 60, NULL, false, NULL)::wallet.hold_request, ROW(1, 60, NULL, false, NULL)::wallet.hold_request])
          WHERE error_code = 'WL001'), 2, 'create_holds on an unknown wallet refuses every element with WL001');
SELECT wallet.deposit('c1000000-0000-4000-8000-000000000004', 1, 'pgtap-b-dep');
SELECT results_eq(
    $$SELECT error_code FROM wallet.create_holds('c1000000-0000-4000-8000-000000000004',
          ARRAY[ROW(1, 60, 'pgtap-b-dep', false, NULL)::wallet.hold_request])
      UNION ALL
      SELECT error_code FROM wallet.create_holds('c1000000-0000-4000-8000-000000000004',
          ARRAY[ROW(1, 60, 'pgtap-b-dep', true, NULL)::wallet.hold_request])$$,
    $$VALUES ('WL005'::text), (NULL)$$,
    'a client''s key a deposit used is WL005; a key the caller made up is not looked up among movements');
SELECT throws_ok($$SELECT * FROM wallet.create_holds('c1000000-0000-4000-8000-000000000004', '{}')$$, 'WL009', NULL,
    'an empty batch: WL009');
SELECT throws_ok($$SELECT * FROM wallet.create_holds(NULL, ARRAY[ROW(1, 60, NULL, false, NULL)::wallet.hold_request])$$,
    'WL009', NULL, 'a NULL wallet: WL009');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('c1000000-0000-4000-8000-000000000004')$$,
    'verify_ledger agrees after the batches');

-- A hold past its expires_at stops counting at once, before its expiry is recorded
SELECT wallet.create_wallet(10, 'c1000000-0000-4000-8000-000000000005');
SELECT wallet.create_hold('c1000000-0000-4000-8000-000000000005', 4, 600, 'pgtap-due');
UPDATE wallet.holds SET created_at = now() - interval '10 minutes', expires_at = now() - interval '1 second'
WHERE idempotency_key = 'pgtap-due';
SELECT results_eq(
    $$SELECT g.available_balance, h.status, h.closed_at IS NULL, w.held
      FROM wallet.get_wallet('c1000000-0000-4000-8000-000000000005') AS g,
           wallet.get_hold((SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-due')) AS h,
           wallet.wallets AS w WHERE w.id = g.wallet_id$$,
    $$VALUES (10.00::numeric, 'expired'::text, true, 4.0000::numeric)$$,
    'a due hold reads as expired and its money as available (due_held adds it back) while its expiry is not yet recorded');
SELECT is(wallet.due_held('c1000000-0000-4000-8000-000000000005', 0), 0::numeric,
    'due_held skips the lookup for a wallet that holds nothing');

-- Lookups and the audit
SELECT results_eq(
    $$SELECT status, amount FROM wallet.get_hold((SELECT id FROM wallet.holds WHERE idempotency_key = 'pgtap-h2'))$$,
    $$VALUES ('captured'::text, 20.00::numeric)$$, 'get_hold');
SELECT throws_ok($$SELECT wallet.get_hold('c1000000-0000-4000-8000-0000000000ff')$$, 'WL016', NULL, 'get_hold of no hold: WL016');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger() WHERE wallet_id::text LIKE 'c1000000-%'$$,
    'verify_ledger: every wallet''s held is the sum of its active holds, and its ledger agrees');
UPDATE wallet.wallets SET held = held + 1 WHERE id = 'c1000000-0000-4000-8000-000000000001';
SELECT results_eq(
    $$SELECT held - active_holds FROM wallet.verify_ledger('c1000000-0000-4000-8000-000000000001')$$,
    $$VALUES (1.0000::numeric)$$,
    'and it reports a held amount that is not');

SELECT * FROM finish();
ROLLBACK;
