-- The wallet schema: its tables, keys, indexes and the CHECK constraints that hold even for a superuser.
BEGIN;
SELECT plan(47);

SELECT has_schema('wallet', 'the wallet schema exists');
SELECT tables_are('wallet', ARRAY['wallets', 'operations', 'refusals', 'currencies', 'entry_kinds', 'holds', 'reversals'],
    'the wallet schema holds exactly the tables wallets, operations, refusals, currencies, entry_kinds, holds and reversals');
SELECT views_are('wallet', ARRAY['postings'], 'the wallet schema holds exactly the view postings (double entry, the world''s legs derived)');
SELECT table_owner_is('wallet', 'wallets', 'wallet_owner', 'wallet.wallets is owned by wallet_owner');
SELECT table_owner_is('wallet', 'operations', 'wallet_owner', 'wallet.operations is owned by wallet_owner');
SELECT table_owner_is('wallet', 'reversals', 'wallet_owner', 'wallet.reversals is owned by wallet_owner');

-- Columns and types
SELECT columns_are('wallet', 'wallets',
    ARRAY['id', 'balance', 'version', 'initial_balance', 'creation_key', 'created_at', 'updated_at', 'currency', 'held'],
    'wallet.wallets has exactly the columns id, balance, version, initial_balance, creation_key, created_at, updated_at, currency, held');
SELECT columns_are('wallet', 'operations',
    ARRAY['wallet_id', 'seq', 'id', 'operation_type', 'amount', 'balance_after', 'idempotency_key', 'created_at',
          'transfer_id', 'counterparty_wallet_id', 'metadata'],
    'wallet.operations has exactly the columns wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at, transfer_id, counterparty_wallet_id, metadata');
SELECT col_type_is('wallet', 'wallets', 'balance', 'numeric(22,4)', 'wallets.balance is numeric(22,4): below 10^18, up to 4 decimal places (the most any currency has)');
SELECT col_type_is('wallet', 'wallets', 'version', 'bigint', 'wallets.version is a bigint');
SELECT col_type_is('wallet', 'operations', 'seq', 'bigint', 'operations.seq is a bigint');
SELECT col_type_is('wallet', 'operations', 'amount', 'numeric(22,4)', 'operations.amount is numeric(22,4)');
SELECT col_type_is('wallet', 'operations', 'balance_after', 'numeric(22,4)', 'operations.balance_after is numeric(22,4)');
SELECT col_type_is('wallet', 'operations', 'created_at', 'timestamp with time zone', 'operations.created_at is a timestamptz');
SELECT results_eq(
    $$SELECT table_name::text COLLATE "default", column_name::text COLLATE "default" FROM information_schema.columns
      WHERE table_schema = 'wallet' AND is_nullable = 'YES' ORDER BY 1, 2$$,
    $$VALUES ('holds', 'capture_to_wallet_id'), ('holds', 'capture_transfer_id'), ('holds', 'captured_amount'),
             ('holds', 'close_key'), ('holds', 'closed_at'), ('holds', 'idempotency_key'), ('holds', 'metadata'),
             ('operations', 'counterparty_wallet_id'), ('operations', 'idempotency_key'), ('operations', 'metadata'),
             ('postings', 'account'), ('postings', 'amount'), ('postings', 'created_at'), ('postings', 'currency'),
             ('postings', 'kind'), ('postings', 'transfer_id'),
             ('refusals', 'counterparty_wallet_id'), ('refusals', 'expires_at'), ('refusals', 'metadata'),
             ('wallets', 'creation_key')$$,
    'every table column is NOT NULL except the optional ones: idempotency keys, counterparties, metadata, refusals.expires_at, how a hold ended (a view''s columns count as nullable)');

-- Keys and indexes
SELECT col_is_pk('wallet', 'wallets', 'id', 'the primary key of wallet.wallets is id');
SELECT col_is_pk('wallet', 'operations', ARRAY['wallet_id', 'seq'], 'the primary key of wallet.operations is (wallet_id, seq)');
SELECT col_is_unique('wallet', 'operations', ARRAY['wallet_id', 'idempotency_key'], 'an idempotency key is unique per wallet: UNIQUE (wallet_id, idempotency_key)');
SELECT fk_ok('wallet', 'operations', 'wallet_id', 'wallet', 'wallets', 'id', 'every ledger entry belongs to an existing wallet (operations.wallet_id references wallets.id)');
SELECT indexes_are('wallet', 'wallets', ARRAY['wallets_pkey'],
    'wallet.wallets has only its primary key index: no index on balance or updated_at, so balance updates can stay HOT');
SELECT indexes_are('wallet', 'operations', ARRAY['operations_pkey', 'operations_idempotency_key_unique', 'operations_transfer_id',
        'operations_wallet_time'],
    'wallet.operations has only the indexes of its primary key, its idempotency key, its transfer id and its time (balance_at)');
SELECT col_is_pk('wallet', 'reversals', ARRAY['wallet_id', 'transfer_id'],
    'the primary key of wallet.reversals is (wallet_id, transfer_id): the reversal, keyed by the wallet that owns it');
SELECT indexes_are('wallet', 'reversals', ARRAY['reversals_pkey', 'reversals_reverses'],
    'wallet.reversals has the indexes of its primary key and of (wallet_id, reverses), which sums what is reversed of a transfer');
SELECT fk_ok('wallet', 'reversals', 'wallet_id', 'wallet', 'wallets', 'id', 'every reversal belongs to an existing wallet (reversals.wallet_id references wallets.id)');
SELECT fk_ok('wallet', 'wallets', 'currency', 'wallet', 'currencies', 'code', 'every wallet holds a known currency (wallets.currency references currencies.code)');
SELECT is(
    (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'operations_kind_known'),
    format('CHECK ((operation_type = ANY (ARRAY[%s])))',
        (SELECT string_agg(quote_literal(kind) || '::text', ', ' ORDER BY CASE kind WHEN 'DEPOSIT' THEN 1 WHEN 'WITHDRAW' THEN 2
                                                                   WHEN 'TRANSFER_IN' THEN 3 ELSE 4 END)
         FROM wallet.entry_kinds)),
    'the CHECK on operations.operation_type lists exactly the kinds of entry_kinds (a CHECK, not a foreign key: no shared row lock per entry)');
SELECT results_eq(
    $$SELECT kind, direction::integer, counterparty FROM wallet.entry_kinds ORDER BY kind$$,
    $$VALUES ('DEPOSIT'::text, 1, 'world'::text), ('TRANSFER_IN', 1, 'wallet'), ('TRANSFER_OUT', -1, 'wallet'),
             ('WITHDRAW', -1, 'world')$$,
    'entry_kinds is the one definition of what an entry does to a balance: DEPOSIT and TRANSFER_IN add, WITHDRAW and TRANSFER_OUT subtract');
SELECT results_eq(
    $$SELECT code, minor_units::integer FROM wallet.currencies WHERE code IN ('USD', 'EUR', 'JPY', 'KWD', 'CLF') ORDER BY code$$,
    $$VALUES ('CLF'::text, 4), ('EUR', 2), ('JPY', 0), ('KWD', 3), ('USD', 2)$$,
    'currencies knows the minor units: USD and EUR 2, JPY 0, KWD 3, CLF 4');
SELECT ok((SELECT 'fillfactor=70' = ANY (reloptions) FROM pg_class WHERE oid = 'wallet.wallets'::regclass),
    'wallet.wallets has fillfactor 70, leaving room on each page for HOT balance updates');

-- CHECK constraints
SELECT results_eq(
    $$SELECT conrelid::regclass::text, conname::text COLLATE "default" FROM pg_constraint
      WHERE connamespace = 'wallet'::regnamespace AND contype = 'c' ORDER BY 1, 2$$,
    $$VALUES ('wallet.currencies', 'currencies_code_iso'),
             ('wallet.currencies', 'currencies_minor_units_range'),
             ('wallet.entry_kinds', 'entry_kinds_counterparty_known'),
             ('wallet.entry_kinds', 'entry_kinds_direction_sign'),
             ('wallet.holds', 'holds_amount_positive'),
             ('wallet.holds', 'holds_capture_only_when_captured'),
             ('wallet.holds', 'holds_captured_within_amount'),
             ('wallet.holds', 'holds_close_key_length'),
             ('wallet.holds', 'holds_closed_unless_active'),
             ('wallet.holds', 'holds_idempotency_key_length'),
             ('wallet.holds', 'holds_metadata_object'),
             ('wallet.holds', 'holds_status_known'),
             ('wallet.operations', 'operations_amount_positive'),
             ('wallet.operations', 'operations_balance_after_not_negative'),
             ('wallet.operations', 'operations_counterparty_only_for_transfers'),
             ('wallet.operations', 'operations_idempotency_key_length'),
             ('wallet.operations', 'operations_kind_known'),
             ('wallet.operations', 'operations_metadata_object'),
             ('wallet.operations', 'operations_seq_positive'),
             ('wallet.refusals', 'refusals_amount_positive'),
             ('wallet.refusals', 'refusals_idempotency_key_length'),
             ('wallet.refusals', 'refusals_kind_known'),
             ('wallet.reversals', 'reversals_amount_positive'),
             ('wallet.reversals', 'reversals_not_itself'),
             ('wallet.wallets', 'wallets_balance_not_negative'),
             ('wallet.wallets', 'wallets_creation_key_length'),
             ('wallet.wallets', 'wallets_held_within_balance'),
             ('wallet.wallets', 'wallets_initial_balance_not_negative'),
             ('wallet.wallets', 'wallets_version_not_negative')$$,
    'the tables carry exactly the expected CHECK constraints');

-- A wallet with one ledger entry (seq 1, key k1) to run the constraints against, as superuser.
SELECT FROM wallet.create_wallet(0, '5c000000-0000-4000-8000-000000000001');
SELECT FROM wallet.deposit('5c000000-0000-4000-8000-000000000001', 10, 'k1');

SELECT throws_ok(
    $$UPDATE wallet.wallets SET balance = -0.01 WHERE id = '5c000000-0000-4000-8000-000000000001'$$,
    '23514', 'new row for relation "wallets" violates check constraint "wallets_balance_not_negative"',
    'a direct UPDATE of a balance below zero is refused by a CHECK constraint (23514), even for a superuser');
SELECT throws_ok(
    $$UPDATE wallet.wallets SET version = -1 WHERE id = '5c000000-0000-4000-8000-000000000001'$$,
    '23514', 'new row for relation "wallets" violates check constraint "wallets_version_not_negative"',
    'a negative wallet version is refused by a CHECK constraint (23514)');
SELECT throws_ok(
    $$UPDATE wallet.wallets SET creation_key = '' WHERE id = '5c000000-0000-4000-8000-000000000001'$$,
    '23514', 'new row for relation "wallets" violates check constraint "wallets_creation_key_length"',
    'an empty creation key is refused by a CHECK constraint (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'DEPOSIT', 0, 10, now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_amount_positive"',
    'a ledger entry with amount 0 is refused by a CHECK constraint (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'deposit', 1, 11, now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_kind_known"',
    'a ledger entry whose kind is not one of entry_kinds (here lowercase deposit) is refused (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'TRANSFER_IN', 1, 11, now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_counterparty_only_for_transfers"',
    'a transfer leg without its counterparty wallet is refused (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id, metadata)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'DEPOSIT', 1, 11, now(), gen_random_uuid(), '[1]')$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_metadata_object"',
    'metadata that is not a JSON object is refused (23514)');
SELECT throws_ok(
    $$UPDATE wallet.wallets SET currency = 'XXX' WHERE id = '5c000000-0000-4000-8000-000000000001'$$,
    '23503', 'insert or update on table "wallets" violates foreign key constraint "wallets_currency_known"',
    'a wallet with a currency outside wallet.currencies is refused (23503)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 0, gen_random_uuid(), 'DEPOSIT', 1, 11, now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_seq_positive"',
    'a ledger entry with seq 0 is refused: seq starts at 1 (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'WITHDRAW', 11, -1, now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_balance_after_not_negative"',
    'a ledger entry with a negative balance_after is refused (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'DEPOSIT', 1, 11, repeat('k', 256), now(), gen_random_uuid())$$,
    '23514', 'new row for relation "operations" violates check constraint "operations_idempotency_key_length"',
    'a ledger entry with a 256-character idempotency key is refused (23514)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 1, gen_random_uuid(), 'DEPOSIT', 1, 11, now(), gen_random_uuid())$$,
    '23505', 'duplicate key value violates unique constraint "operations_pkey"',
    'a second ledger entry with the same (wallet_id, seq) is refused by the primary key (23505)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'DEPOSIT', 1, 11, 'k1', now(), gen_random_uuid())$$,
    '23505', 'duplicate key value violates unique constraint "operations_idempotency_key_unique"',
    'a second ledger entry of the same wallet with the same idempotency key is refused (23505)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at, transfer_id)
      VALUES ('5c000000-0000-4000-8000-0000000000ff', 1, gen_random_uuid(), 'DEPOSIT', 1, 1, now(), gen_random_uuid())$$,
    '23503', NULL,
    'a ledger entry for a wallet that does not exist is refused by the foreign key (23503)');
-- The foreign key's check runs as the owner of wallet.operations, and wallet_owner may not lock ledger
-- rows (UPDATE, DELETE and TRUNCATE were revoked from it), so no wallet can be deleted, not even an empty one.
SELECT FROM wallet.create_wallet(0, '5c000000-0000-4000-8000-000000000002');
SELECT throws_ok(
    $$DELETE FROM wallet.wallets WHERE id = '5c000000-0000-4000-8000-000000000002'$$,
    '42501', 'permission denied for table operations',
    'deleting a wallet, even one without ledger entries and as a superuser, is refused (42501 from the foreign key check)');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.wallets WHERE id = '5c000000-0000-4000-8000-000000000001'$$,
    $$VALUES (10.00::numeric, 1::bigint)$$,
    'after the refused statements the wallet still has balance 10.00 and version 1');

-- The key probe's estimate (changeset 010): the planner assumes many entries per wallet, so a batch's
-- idempotency-key probes take the key index even when the statistics say a wallet has one entry
SELECT is((SELECT attoptions FROM pg_attribute WHERE attrelid = 'wallet.operations'::regclass AND attname = 'wallet_id'),
    ARRAY['n_distinct=-0.01'], 'operations.wallet_id has n_distinct = -0.01 (100 entries per wallet, for the planner)');

SELECT * FROM finish();
ROLLBACK;
