-- wallet.verify_ledger(p_wallet_id): lists the wallets whose stored state disagrees with their ledger.
-- The inconsistencies are made by hand, as superuser, inside this rolled-back transaction.
BEGIN;
SELECT plan(18);

SELECT has_function('wallet', 'verify_ledger', ARRAY['uuid'], 'wallet.verify_ledger(uuid) exists');
SELECT volatility_is('wallet', 'verify_ledger', ARRAY['uuid'], 'stable', 'wallet.verify_ledger is STABLE: it only reads');

-- fe...01: a series of mixed operations through the API
SELECT FROM wallet.create_wallet(100, 'fe000000-0000-4000-8000-000000000001');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000001', 50, 'pgtap-verify-1');
SELECT FROM wallet.withdraw('fe000000-0000-4000-8000-000000000001', 30.25);
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000001', 50, 'pgtap-verify-1');
SELECT FROM wallet.apply_operations('fe000000-0000-4000-8000-000000000001',
    '{WITHDRAW,DEPOSIT,WITHDRAW,WITHDRAW,DEPOSIT}', '{1000,0.75,20.5,1.001,3}');
SELECT FROM wallet.withdraw('fe000000-0000-4000-8000-000000000001', 103);
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000001', 0.01);
-- fe...02: a wallet never used
SELECT FROM wallet.create_wallet(0, 'fe000000-0000-4000-8000-000000000002');

SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('fe000000-0000-4000-8000-000000000001')$$,
    $$VALUES (0.01::numeric, 8::bigint)$$,
    'after the mixed series the wallet holds 0.01 at version 8 (100 + 50 - 30.25 + 0.75 - 20.50 + 3 - 103 + 0.01; the replay and the failed elements add nothing)');
SELECT results_eq(
    $$SELECT w.balance, w.version FROM wallet.wallets AS w WHERE w.id = 'fe000000-0000-4000-8000-000000000001'$$,
    $$SELECT sum(CASE operation_type WHEN 'DEPOSIT' THEN amount ELSE -amount END), count(*)
      FROM wallet.operations WHERE wallet_id = 'fe000000-0000-4000-8000-000000000001'$$,
    'ledger invariant: the balance equals the signed sum of the ledger amounts and the version their count');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000001')$$,
    'verify_ledger reports nothing for the wallet after the mixed series: it is consistent');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000002')$$,
    'verify_ledger reports nothing for a wallet with balance 0 and no entry');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger() WHERE wallet_id::text LIKE 'fe000000-%'$$,
    'verify_ledger() over all wallets reports none of this file''s wallets while they are consistent');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-0000000000ff')$$,
    'verify_ledger of an unknown wallet id returns no row (it does not raise WL001)');

-- fe...03: balance changed behind the ledger's back
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000003');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000003', 5);
UPDATE wallet.wallets SET balance = balance + 1 WHERE id = 'fe000000-0000-4000-8000-000000000003';
SELECT results_eq(
    $$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000003')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000003'::uuid, 16.00::numeric, 15.00::numeric, 2::bigint, 2::bigint, 2::bigint, 0::bigint, 0::bigint, 0::numeric, 0::numeric, 0::bigint, 0::bigint)$$,
    'a balance raised by a direct UPDATE (16.00 against a ledger sum of 15.00) is reported');

-- fe...04: version changed behind the ledger's back
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000004');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000004', 5);
UPDATE wallet.wallets SET version = 3 WHERE id = 'fe000000-0000-4000-8000-000000000004';
SELECT results_eq(
    $$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000004')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000004'::uuid, 15.00::numeric, 15.00::numeric, 3::bigint, 2::bigint, 2::bigint, 0::bigint, 0::bigint, 0::numeric, 0::numeric, 0::bigint, 0::bigint)$$,
    'a version that is not the number of entries (3 against 2) is reported');

-- fe...05: a gap in seq (entry 3 missing), balance and running balances otherwise right
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000005');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000005', 5);
INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
VALUES ('fe000000-0000-4000-8000-000000000005', 4, gen_random_uuid(), 'DEPOSIT', 1, 16, now(), gen_random_uuid());
UPDATE wallet.wallets SET balance = 16, version = 3 WHERE id = 'fe000000-0000-4000-8000-000000000005';
SELECT results_eq(
    $$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000005')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000005'::uuid, 16.00::numeric, 16.00::numeric, 3::bigint, 3::bigint, 4::bigint, 0::bigint, 0::bigint, 0::numeric, 0::numeric, 0::bigint, 0::bigint)$$,
    'a gap in seq (entries 1, 2, 4: last_seq 4 against 3 entries) is reported even when balance and version match');

-- fe...06: an entry whose balance_after is not the running sum
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000006');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000006', 5);
INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
VALUES ('fe000000-0000-4000-8000-000000000006', 3, gen_random_uuid(), 'DEPOSIT', 1, 99, now(), gen_random_uuid());
UPDATE wallet.wallets SET balance = 16, version = 3 WHERE id = 'fe000000-0000-4000-8000-000000000006';
SELECT results_eq(
    $$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000006')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000006'::uuid, 16.00::numeric, 16.00::numeric, 3::bigint, 3::bigint, 3::bigint, 1::bigint, 0::bigint, 0::numeric, 0::numeric, 0::bigint, 0::bigint)$$,
    'an entry whose balance_after (99.00) is not the running sum (16.00) is counted in bad_running_balances');

SELECT is_empty($$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000001')$$,
    'verify_ledger(p_wallet_id) reports only that wallet: the consistent one stays clean while others are broken');

-- fe...07: an amount rewritten in the ledger by a superuser who disabled the guard. Done last: the
-- ALTER TABLE lock is then held only until the ROLLBACK a few milliseconds later.
SET LOCAL lock_timeout = '5s';
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000007');
SELECT FROM wallet.deposit('fe000000-0000-4000-8000-000000000007', 5);
SELECT FROM wallet.withdraw('fe000000-0000-4000-8000-000000000007', 2);
ALTER TABLE wallet.operations DISABLE TRIGGER operations_append_only;
UPDATE wallet.operations SET amount = 500 WHERE wallet_id = 'fe000000-0000-4000-8000-000000000007' AND seq = 2;
-- fe...08 -> fe...09: a transfer whose destination leg was rewritten (and the balances made to match
-- it): each wallet's own ledger adds up, but the transfer's legs no longer sum to zero.
SELECT FROM wallet.create_wallet(10, 'fe000000-0000-4000-8000-000000000008');
SELECT FROM wallet.create_wallet(0, 'fe000000-0000-4000-8000-000000000009');
SELECT FROM wallet.transfer('fe000000-0000-4000-8000-000000000008', 'fe000000-0000-4000-8000-000000000009', 4);
UPDATE wallet.operations SET amount = 5, balance_after = 5 WHERE wallet_id = 'fe000000-0000-4000-8000-000000000009';
UPDATE wallet.wallets SET balance = 5 WHERE id = 'fe000000-0000-4000-8000-000000000009';
ALTER TABLE wallet.operations ENABLE TRIGGER operations_append_only;
SELECT results_eq(
    $$SELECT * FROM wallet.verify_ledger('fe000000-0000-4000-8000-000000000007')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000007'::uuid, 13.00::numeric, 508.00::numeric, 3::bigint, 3::bigint, 3::bigint, 2::bigint, 0::bigint, 0::numeric, 0::numeric, 0::bigint, 0::bigint)$$,
    'a past amount rewritten with the guard disabled (5 -> 500) is reported: ledger sum 508.00 against balance 13.00, two bad running balances');
SELECT results_eq(
    $$SELECT wallet_id, balance, ledger_sum, unbalanced_transfers FROM wallet.verify_ledger()
      WHERE wallet_id IN ('fe000000-0000-4000-8000-000000000008', 'fe000000-0000-4000-8000-000000000009')$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000008'::uuid, 6.00::numeric, 6.00::numeric, 1::bigint),
             ('fe000000-0000-4000-8000-000000000009', 5.00, 5.00, 1)$$,
    'a transfer whose legs do not sum to zero (-4 out, +5 in) is reported on both wallets, though each ledger adds up');
SELECT is_empty(
    $$SELECT transfer_id FROM wallet.postings WHERE transfer_id NOT IN (SELECT transfer_id FROM wallet.operations
          WHERE wallet_id IN ('fe000000-0000-4000-8000-000000000008', 'fe000000-0000-4000-8000-000000000009'))
      GROUP BY transfer_id, currency HAVING sum(amount) <> 0$$,
    'every other transfer''s postings, the outside world''s implied legs included, sum to zero');
SELECT results_eq(
    $$SELECT kind, amount FROM wallet.postings
      WHERE transfer_id = (SELECT transfer_id FROM wallet.operations WHERE wallet_id = 'fe000000-0000-4000-8000-000000000002'
                           UNION SELECT transfer_id FROM wallet.operations WHERE wallet_id = 'fe000000-0000-4000-8000-000000000006' AND seq = 2)
      ORDER BY amount$$,
    $$VALUES ('WORLD'::text, -5.00::numeric), ('DEPOSIT', 5.00)$$,
    'a deposit''s postings are its wallet''s leg and the outside world''s implied, opposite leg');
SELECT results_eq(
    $$SELECT wallet_id FROM wallet.verify_ledger() WHERE wallet_id::text LIKE 'fe000000-%'$$,
    $$VALUES ('fe000000-0000-4000-8000-000000000003'::uuid), ('fe000000-0000-4000-8000-000000000004'),
             ('fe000000-0000-4000-8000-000000000005'), ('fe000000-0000-4000-8000-000000000006'),
             ('fe000000-0000-4000-8000-000000000007'), ('fe000000-0000-4000-8000-000000000008'),
             ('fe000000-0000-4000-8000-000000000009')$$,
    'verify_ledger() over all wallets lists exactly the seven broken wallets, ordered by id');

SELECT * FROM finish();
ROLLBACK;
