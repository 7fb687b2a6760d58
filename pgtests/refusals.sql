-- Refusals that depend on the wallet's state (WL002, WL006) are final for their key: recorded in
-- wallet.refusals by apply_operations and replayed, so a late attempt can never apply them.
BEGIN;
SELECT plan(19);

SELECT FROM wallet.create_wallet(5, 'a7000000-0000-4000-8000-000000000001');
SELECT results_eq(
    $$SELECT error_code, replayed, balance_after FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001',
          '{WITHDRAW}', '{10}', '{pgtap-refused}')$$,
    $$VALUES ('WL002'::text, false, 5.00::numeric)$$,
    'withdrawing 10 of 5 with a key is refused with WL002');
SELECT results_eq(
    $$SELECT idempotency_key, operation_type, amount, balance, error_code FROM wallet.refusals
      WHERE wallet_id = 'a7000000-0000-4000-8000-000000000001'$$,
    $$VALUES ('pgtap-refused'::text, 'WITHDRAW'::text, 10.00::numeric, 5.00::numeric, 'WL002'::text)$$,
    'the refusal is recorded with its key, request and the balance it was checked against');
SELECT FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001', '{DEPOSIT}', '{100}');
SELECT results_eq(
    $$SELECT error_code, replayed, balance_after FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001',
          '{WITHDRAW}', '{10}', '{pgtap-refused}')$$,
    $$VALUES ('WL002'::text, true, 5.00::numeric)$$,
    'after a deposit that would cover it, the same key still replays the refusal (a late attempt applies nothing)');
SELECT throws_ok($$SELECT * FROM wallet.withdraw('a7000000-0000-4000-8000-000000000001', 10, 'pgtap-refused')$$,
    'WL002', 'insufficient funds', 'wallet.withdraw with that key raises the recorded WL002 too');
SELECT results_eq(
    $$SELECT error_code, error_detail FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001',
          '{WITHDRAW}', '{11}', '{pgtap-refused}')$$,
    $$VALUES ('WL005'::text, 'key ''pgtap-refused'' was used for WITHDRAW 10.00 on wallet a7000000-0000-4000-8000-000000000001 (refused: insufficient_funds); this request is WITHDRAW 11'::text)$$,
    'the refused key with another amount is a different request: WL005, whose detail says the key was refused');
SELECT results_eq(
    $$SELECT error_code, seq, balance_after FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001',
          '{WITHDRAW}', '{10}', '{pgtap-new-key}')$$,
    $$VALUES (NULL::text, 3::bigint, 95.00::numeric)$$,
    'the same withdrawal with a new key succeeds');
SELECT is(
    (SELECT balance FROM wallet.get_wallet('a7000000-0000-4000-8000-000000000001')), 95.00::numeric,
    'the balance moved only by the deposit and the new withdrawal');

-- Only keyed refusals for the wallet's state are recorded.
SELECT FROM wallet.create_wallet(999999999999999999.00, 'a7000000-0000-4000-8000-000000000002');
SELECT results_eq(
    $$SELECT error_code FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000002',
          '{DEPOSIT,WITHDRAW,DEPOSIT,WITHDRAW}', '{5,1.001,5,999999999999999999.99}', '{pgtap-limit,pgtap-bad,NULL,NULL}')$$,
    $$VALUES ('WL006'::text), ('WL003'), ('WL006'), ('WL002')$$,
    'a batch with a keyed WL006, a keyed WL003, and unkeyed WL006 and WL002');
SELECT results_eq(
    $$SELECT idempotency_key, error_code FROM wallet.refusals WHERE wallet_id = 'a7000000-0000-4000-8000-000000000002'$$,
    $$VALUES ('pgtap-limit'::text, 'WL006'::text)$$,
    'only the keyed WL006 is recorded: an invalid request (WL003) or an unkeyed one leaves no trace');

-- Pruning (for DBAs)
UPDATE wallet.refusals SET created_at = now() - interval '8 days'
WHERE wallet_id = 'a7000000-0000-4000-8000-000000000001';
SELECT throws_ok($$SELECT wallet.prune_refusals(NULL, interval '5 minutes')$$, 'WL009', 'invalid argument',
    'pruning refusals younger than 1 hour is refused with WL009: an attempt could still be in flight');
SELECT is(wallet.prune_refusals('a7000000-0000-4000-8000-000000000001'), 1::bigint,
    'prune_refusals removes the refusal older than 7 days');
SELECT results_eq(
    $$SELECT error_code, seq FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000001',
          '{WITHDRAW}', '{10}', '{pgtap-refused}')$$,
    $$VALUES (NULL::text, 4::bigint)$$,
    'once pruned, the key is free: the withdrawal applies');


-- Keys the caller made up for its own retries (ephemeral): their refusals expire.
SELECT FROM wallet.create_wallet(1, 'a7000000-0000-4000-8000-000000000003');
SELECT results_eq(
    $$SELECT error_code FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000003',
          '{WITHDRAW,WITHDRAW}', '{5,6}', '{pgtap-client-key,pgtap-server-key}', '{false,true}')$$,
    $$VALUES ('WL002'::text), ('WL002')$$,
    'a client key and an ephemeral key are both refused with WL002');
SELECT results_eq(
    $$SELECT idempotency_key, expires_at IS NULL, expires_at - created_at FROM wallet.refusals
      WHERE wallet_id = 'a7000000-0000-4000-8000-000000000003' ORDER BY 1$$,
    $$VALUES ('pgtap-client-key'::text, true, NULL::interval), ('pgtap-server-key', false, interval '10 minutes')$$,
    'the client key''s refusal never expires; the ephemeral key''s expires 10 minutes after it was recorded');
SELECT results_eq(
    $$SELECT error_code, replayed FROM wallet.apply_operations('a7000000-0000-4000-8000-000000000003',
          '{WITHDRAW}', '{6}', '{pgtap-server-key}', '{true}')$$,
    $$VALUES ('WL002'::text, true)$$,
    'until it expires, a retry with the ephemeral key replays its refusal');
SELECT is(wallet.expire_refusals(), 0::bigint, 'expire_refusals removes nothing that has not expired');
UPDATE wallet.refusals SET expires_at = now() - interval '1 second'
WHERE wallet_id = 'a7000000-0000-4000-8000-000000000003' AND idempotency_key = 'pgtap-server-key';
SELECT is(wallet.expire_refusals(), 1::bigint, 'expire_refusals removes the expired ephemeral refusal');
SELECT results_eq(
    $$SELECT idempotency_key FROM wallet.refusals WHERE wallet_id = 'a7000000-0000-4000-8000-000000000003'$$,
    $$VALUES ('pgtap-client-key'::text)$$,
    'the client key''s refusal is kept');
SELECT throws_ok($$SELECT wallet.expire_refusals(0)$$, 'WL009', 'invalid argument',
    'expire_refusals with a limit below 1 raises WL009');

SELECT * FROM finish();
ROLLBACK;
