-- The security model: applications reach the tables only through SECURITY DEFINER functions with a
-- pinned search_path; wallet_app may execute the API, wallet_reader may read, nobody else gets anything.
BEGIN;
SELECT plan(219);

-- Which role may EXECUTE which wallet function.
CREATE TEMP TABLE expected_execute (fn name, args name[], app boolean, reader boolean) ON COMMIT DROP;
INSERT INTO expected_execute VALUES
    ('apply_operation', '{uuid,text,numeric,text}', true, false),
    ('apply_operations', '{uuid,text[],numeric[],text[],boolean[]}', true, false),
    ('expire_refusals', '{integer}', true, false),
    ('create_wallet', '{numeric,uuid,text,text}', true, false),
    ('post_transfers', '{uuid,wallet.transfer_request[]}', true, false),
    ('post_transfers_atomic', '{uuid,wallet.transfer_request[]}', true, false),
    ('transfer', '{uuid,uuid,numeric,text,jsonb}', true, false),
    ('get_transfer', '{uuid}', true, true),
    ('deposit', '{uuid,numeric,text}', true, false),
    ('withdraw', '{uuid,numeric,text}', true, false),
    ('get_wallet', '{uuid}', true, true),
    ('balance_at', '{uuid,"timestamp with time zone"}', true, true),
    ('list_operations', '{uuid,bigint,integer,text[],"timestamp with time zone","timestamp with time zone",uuid,boolean}', true, true),
    ('verify_ledger', '{uuid}', true, true),
    ('error_codes', '{}', true, true),
    ('max_amount', '{}', true, true),
    ('raise_error', '{text,text}', false, false),
    ('create_hold', '{uuid,numeric,integer,text,jsonb}', true, false),
    ('create_holds', '{uuid,wallet.hold_request[]}', true, false),
    ('get_hold', '{uuid}', true, true),
    ('capture_hold', '{uuid,uuid,numeric,uuid,text,jsonb}', true, false),
    ('void_hold', '{uuid,uuid,text}', true, false),
    ('reverse_transfer', '{uuid,uuid,numeric,text,jsonb}', true, false),
    ('expire_holds', '{integer}', true, false),
    ('expire_due_holds', '{uuid}', false, false),
    ('due_held', '{uuid,numeric}', false, false),
    ('hold_view', '{uuid,uuid,boolean}', false, false),
    ('lock_hold', '{uuid,uuid,uuid}', false, false),
    ('raise_hold_not_active', '{wallet.holds}', false, false),
    ('time_ordered_ids', '{integer}', false, false),
    ('refuse_ledger_change', '{}', false, false);

-- Functions (1 + 28)
SELECT functions_are('wallet', ARRAY['apply_operation', 'apply_operations', 'create_wallet', 'deposit', 'withdraw',
        'get_wallet', 'balance_at', 'list_operations', 'verify_ledger', 'error_codes', 'max_amount', 'raise_error', 'refuse_ledger_change',
        'prune_refusals', 'expire_refusals', 'post_transfers', 'post_transfers_atomic', 'transfer', 'get_transfer', 'time_ordered_ids',
        'create_hold', 'create_holds', 'get_hold', 'capture_hold', 'void_hold', 'expire_holds', 'expire_due_holds', 'due_held', 'hold_view', 'lock_hold', 'raise_hold_not_active',
        'reverse_transfer'],
    'the wallet schema holds exactly the expected functions');
SELECT has_function('wallet', fn, args, format('wallet.%s(%s) exists', fn, array_to_string(args, ', ')))
FROM expected_execute ORDER BY fn;
SELECT has_function('pgbouncer', 'get_auth', ARRAY['text'], 'pgbouncer.get_auth(text) exists');

-- SECURITY DEFINER, search_path and ownership (6)
SELECT results_eq(
    $$SELECT proname::text COLLATE "default" FROM pg_proc WHERE pronamespace = 'wallet'::regnamespace AND prosecdef ORDER BY 1$$,
    $$VALUES ('apply_operation'), ('apply_operations'), ('balance_at'), ('capture_hold'), ('create_hold'), ('create_holds'), ('create_wallet'), ('deposit'),
             ('expire_holds'), ('expire_refusals'), ('get_hold'), ('get_transfer'), ('get_wallet'), ('list_operations'),
             ('post_transfers'), ('post_transfers_atomic'), ('prune_refusals'), ('reverse_transfer'), ('transfer'), ('verify_ledger'), ('void_hold'),
             ('withdraw')$$,
    'exactly the wallet functions that read or write the tables are SECURITY DEFINER');
SELECT is_definer('pgbouncer', 'get_auth', ARRAY['text'], 'pgbouncer.get_auth is SECURITY DEFINER (it reads pg_shadow for PgBouncer)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
      WHERE p.pronamespace IN ('wallet'::regnamespace, 'pgbouncer'::regnamespace)
        AND (p.prosecdef OR p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql'))
        AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']$$,
    'every SECURITY DEFINER or PL/pgSQL function pins search_path to pg_catalog, pg_temp (pg_temp last)');
SELECT results_eq(
    $$SELECT proname::text COLLATE "default", provolatile::text, prosecdef FROM pg_proc
      WHERE pronamespace = 'wallet'::regnamespace AND proname IN ('error_codes', 'max_amount') ORDER BY 1$$,
    $$VALUES ('error_codes', 'i', false), ('max_amount', 'i', false)$$,
    'error_codes() and max_amount() read no table: they are IMMUTABLE and run with the caller''s rights');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
      WHERE p.pronamespace = 'wallet'::regnamespace AND p.proowner <> 'wallet_owner'::regrole$$,
    'every wallet function is owned by wallet_owner');
SELECT ok((SELECT r.rolsuper FROM pg_proc AS p JOIN pg_roles AS r ON r.oid = p.proowner
           WHERE p.oid = 'pgbouncer.get_auth(text)'::regprocedure),
    'pgbouncer.get_auth is owned by a superuser, the only kind of role that may read pg_shadow');

-- EXECUTE privileges (27 x 4 + 4)
SELECT function_privs_are('wallet', fn, args, 'wallet_app', CASE WHEN app THEN '{EXECUTE}' ELSE '{}' END::name[],
    format('wallet_app %s EXECUTE wallet.%s(%s)', CASE WHEN app THEN 'has' ELSE 'does not have' END, fn, array_to_string(args, ', ')))
FROM expected_execute ORDER BY fn;
SELECT function_privs_are('wallet', fn, args, 'wallet_reader', CASE WHEN reader THEN '{EXECUTE}' ELSE '{}' END::name[],
    format('wallet_reader %s EXECUTE wallet.%s(%s)', CASE WHEN reader THEN 'has' ELSE 'does not have' END, fn, array_to_string(args, ', ')))
FROM expected_execute ORDER BY fn;
SELECT function_privs_are('wallet', fn, args, 'public', '{}'::name[],
    format('PUBLIC does not have EXECUTE on wallet.%s(%s)', fn, array_to_string(args, ', ')))
FROM expected_execute ORDER BY fn;
SELECT function_privs_are('wallet', fn, args, 'pgbouncer_auth', '{}'::name[],
    format('pgbouncer_auth does not have EXECUTE on wallet.%s(%s)', fn, array_to_string(args, ', ')))
FROM expected_execute ORDER BY fn;
SELECT function_privs_are('pgbouncer', 'get_auth', ARRAY['text'], 'pgbouncer_auth', ARRAY['EXECUTE'],
    'pgbouncer_auth has EXECUTE on pgbouncer.get_auth(text)');
SELECT function_privs_are('pgbouncer', 'get_auth', ARRAY['text'], 'wallet_app', '{}'::name[],
    'wallet_app does not have EXECUTE on pgbouncer.get_auth(text)');
SELECT function_privs_are('pgbouncer', 'get_auth', ARRAY['text'], 'wallet_reader', '{}'::name[],
    'wallet_reader does not have EXECUTE on pgbouncer.get_auth(text)');
SELECT function_privs_are('pgbouncer', 'get_auth', ARRAY['text'], 'public', '{}'::name[],
    'PUBLIC does not have EXECUTE on pgbouncer.get_auth(text)');

-- Table, schema and database privileges (12 + 8 + 4)
SELECT table_privs_are('wallet', 'wallets', 'wallet_app', '{}'::name[], 'wallet_app has no privilege on wallet.wallets');
SELECT table_privs_are('wallet', 'operations', 'wallet_app', '{}'::name[], 'wallet_app has no privilege on wallet.operations');
SELECT table_privs_are('wallet', 'wallets', 'wallet_reader', ARRAY['SELECT'], 'wallet_reader has only SELECT on wallet.wallets');
SELECT table_privs_are('wallet', 'operations', 'wallet_reader', ARRAY['SELECT'], 'wallet_reader has only SELECT on wallet.operations');
SELECT table_privs_are('wallet', 'wallets', 'public', '{}'::name[], 'PUBLIC has no privilege on wallet.wallets');
SELECT table_privs_are('wallet', 'operations', 'public', '{}'::name[], 'PUBLIC has no privilege on wallet.operations');
SELECT table_privs_are('wallet', 'wallets', 'pgbouncer_auth', '{}'::name[], 'pgbouncer_auth has no privilege on wallet.wallets');
SELECT table_privs_are('wallet', 'operations', 'pgbouncer_auth', '{}'::name[], 'pgbouncer_auth has no privilege on wallet.operations');
SELECT table_privs_are('wallet', 'reversals', 'wallet_app', '{}'::name[], 'wallet_app has no privilege on wallet.reversals');
SELECT table_privs_are('wallet', 'reversals', 'wallet_reader', ARRAY['SELECT'], 'wallet_reader has only SELECT on wallet.reversals');
SELECT table_privs_are('wallet', 'reversals', 'public', '{}'::name[], 'PUBLIC has no privilege on wallet.reversals');
SELECT table_privs_are('wallet', 'operations', 'wallet_owner', ARRAY['INSERT', 'REFERENCES', 'SELECT', 'TRIGGER'],
    'even the owner wallet_owner may not UPDATE, DELETE or TRUNCATE wallet.operations');
SELECT schema_privs_are('wallet', 'wallet_app', ARRAY['USAGE'], 'wallet_app has only USAGE on schema wallet');
SELECT schema_privs_are('wallet', 'wallet_reader', ARRAY['USAGE'], 'wallet_reader has only USAGE on schema wallet');
SELECT schema_privs_are('wallet', 'pgbouncer_auth', '{}'::name[], 'pgbouncer_auth has no privilege on schema wallet');
SELECT schema_privs_are('wallet', 'public', '{}'::name[], 'PUBLIC has no privilege on schema wallet');
SELECT schema_privs_are('pgbouncer', 'pgbouncer_auth', ARRAY['USAGE'], 'pgbouncer_auth has only USAGE on schema pgbouncer');
SELECT schema_privs_are('pgbouncer', 'wallet_app', '{}'::name[], 'wallet_app has no privilege on schema pgbouncer');
SELECT schema_privs_are('pgbouncer', 'wallet_reader', '{}'::name[], 'wallet_reader has no privilege on schema pgbouncer');
SELECT schema_privs_are('pgbouncer', 'public', '{}'::name[], 'PUBLIC has no privilege on schema pgbouncer');
SELECT database_privs_are(current_database(), 'public', '{}'::name[],
    'PUBLIC has no privilege on the database (no CONNECT, no TEMPORARY)');
SELECT database_privs_are(current_database(), 'wallet_app', ARRAY['CONNECT'],
    'wallet_app may only CONNECT to the database (no TEMPORARY: it cannot create temp objects to hijack a search_path)');
SELECT database_privs_are(current_database(), 'wallet_reader', ARRAY['CONNECT'], 'wallet_reader may only CONNECT to the database');
SELECT database_privs_are(current_database(), 'pgbouncer_auth', ARRAY['CONNECT'], 'pgbouncer_auth may only CONNECT to the database');

-- Roles (1)
SELECT results_eq(
    $$SELECT rolname::text COLLATE "default", rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolbypassrls
      FROM pg_roles WHERE rolname IN ('wallet_owner', 'wallet_app', 'wallet_reader', 'pgbouncer_auth') ORDER BY 1$$,
    $$VALUES ('pgbouncer_auth', true, false, false, false, false, false),
             ('wallet_app', true, false, false, false, false, false),
             ('wallet_owner', false, false, false, false, false, false),
             ('wallet_reader', true, false, false, false, false, false)$$,
    'the four roles exist, none is a superuser or may create roles or databases, and only wallet_owner cannot log in');

-- Behaviour under each role. pgTAP keeps its state in this session's temp tables, owned by the
-- superuser: let the roles write them while they are the current role (all rolled back at the end).
DO $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA %I TO wallet_app, wallet_reader, pgbouncer_auth',
        pg_my_temp_schema()::regnamespace);
    EXECUTE format('GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO wallet_app, wallet_reader, pgbouncer_auth',
        pg_my_temp_schema()::regnamespace);
END
$$;
SELECT FROM wallet.create_wallet(50, '5e000000-0000-4000-8000-000000000001');
-- Created and rolled back inside this transaction: a login role whose password expired.
CREATE ROLE pgtap_expired_login LOGIN PASSWORD 'expired-password' VALID UNTIL '2000-01-01';

-- as wallet_app (14)
SET LOCAL ROLE wallet_app;
SELECT throws_ok($$SELECT * FROM wallet.wallets$$, '42501', 'permission denied for table wallets',
    'wallet_app cannot SELECT from wallet.wallets directly (42501)');
SELECT throws_ok($$SELECT * FROM wallet.operations$$, '42501', 'permission denied for table operations',
    'wallet_app cannot SELECT from wallet.operations directly (42501)');
SELECT throws_ok(
    $$INSERT INTO wallet.wallets (id, balance, version, initial_balance, created_at, updated_at)
      VALUES ('5e000000-0000-4000-8000-000000000002', 1000, 0, 0, now(), now())$$,
    '42501', 'permission denied for table wallets', 'wallet_app cannot INSERT into wallet.wallets directly (42501)');
SELECT throws_ok($$UPDATE wallet.wallets SET balance = 1000 WHERE id = '5e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table wallets', 'wallet_app cannot UPDATE wallet.wallets directly (42501)');
SELECT throws_ok($$DELETE FROM wallet.wallets WHERE id = '5e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table wallets', 'wallet_app cannot DELETE from wallet.wallets directly (42501)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at)
      VALUES ('5e000000-0000-4000-8000-000000000001', 2, gen_random_uuid(), 'DEPOSIT', 1000, 1050, now())$$,
    '42501', 'permission denied for table operations', 'wallet_app cannot INSERT into wallet.operations directly (42501)');
SELECT throws_ok($$UPDATE wallet.operations SET amount = 1000 WHERE wallet_id = '5e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table operations', 'wallet_app cannot UPDATE wallet.operations directly (42501)');
SELECT throws_ok($$DELETE FROM wallet.operations WHERE wallet_id = '5e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table operations', 'wallet_app cannot DELETE from wallet.operations directly (42501)');
SELECT throws_ok($$TRUNCATE wallet.operations$$,
    '42501', 'permission denied for table operations', 'wallet_app cannot TRUNCATE wallet.operations (42501)');
SELECT throws_ok($$SELECT wallet.raise_error('WL001', 'raised by hand')$$,
    '42501', 'permission denied for function raise_error', 'wallet_app cannot call the internal wallet.raise_error (42501)');
SELECT throws_ok($$SELECT * FROM pgbouncer.get_auth('wallet_app')$$,
    '42501', NULL, 'wallet_app cannot call pgbouncer.get_auth to read password secrets (42501)');
SELECT results_eq(
    $$SELECT seq, balance_after FROM wallet.deposit('5e000000-0000-4000-8000-000000000001', 25)$$,
    $$VALUES (2::bigint, 75.00::numeric)$$,
    'wallet_app can deposit through wallet.deposit: entry 2 takes the balance from 50.00 to 75.00');
SELECT results_eq(
    $$SELECT balance, version FROM wallet.get_wallet('5e000000-0000-4000-8000-000000000001')$$,
    $$VALUES (75.00::numeric, 2::bigint)$$,
    'wallet_app can read the wallet through wallet.get_wallet');
SELECT is(current_user::text, 'wallet_app', 'the checks above ran as wallet_app');
RESET ROLE;

-- as wallet_reader (7)
SET LOCAL ROLE wallet_reader;
SELECT results_eq(
    $$SELECT balance FROM wallet.wallets WHERE id = '5e000000-0000-4000-8000-000000000001'$$,
    $$VALUES (75.00::numeric)$$,
    'wallet_reader can SELECT from wallet.wallets');
SELECT results_eq(
    $$SELECT count(*) FROM wallet.operations WHERE wallet_id = '5e000000-0000-4000-8000-000000000001'$$,
    $$VALUES (2::bigint)$$,
    'wallet_reader can SELECT from wallet.operations');
SELECT throws_ok($$UPDATE wallet.wallets SET balance = 0 WHERE id = '5e000000-0000-4000-8000-000000000001'$$,
    '42501', 'permission denied for table wallets', 'wallet_reader cannot UPDATE wallet.wallets (42501)');
SELECT throws_ok(
    $$INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, created_at)
      VALUES ('5e000000-0000-4000-8000-000000000001', 3, gen_random_uuid(), 'DEPOSIT', 1, 76, now())$$,
    '42501', 'permission denied for table operations', 'wallet_reader cannot INSERT into wallet.operations (42501)');
SELECT throws_ok($$SELECT * FROM wallet.deposit('5e000000-0000-4000-8000-000000000001', 1)$$,
    '42501', 'permission denied for function deposit', 'wallet_reader cannot call wallet.deposit (42501)');
SELECT throws_ok($$SELECT * FROM wallet.create_wallet()$$,
    '42501', 'permission denied for function create_wallet', 'wallet_reader cannot call wallet.create_wallet (42501)');
SELECT is_empty($$SELECT * FROM wallet.verify_ledger('5e000000-0000-4000-8000-000000000001')$$,
    'wallet_reader can audit a wallet with wallet.verify_ledger');
RESET ROLE;

-- as pgbouncer_auth (6)
SET LOCAL ROLE pgbouncer_auth;
SELECT results_eq(
    $$SELECT usename::text COLLATE "default", passwd LIKE 'SCRAM-SHA-256$%' FROM pgbouncer.get_auth('wallet_app')$$,
    $$VALUES ('wallet_app', true)$$,
    'pgbouncer.get_auth returns one row with the SCRAM secret of wallet_app');
SELECT is_empty($$SELECT * FROM pgbouncer.get_auth('postgres')$$,
    'pgbouncer.get_auth returns no row for the superuser postgres');
SELECT is_empty($$SELECT * FROM pgbouncer.get_auth('wallet_owner')$$,
    'pgbouncer.get_auth returns no row for wallet_owner, which cannot log in');
SELECT is_empty($$SELECT * FROM pgbouncer.get_auth('pgtap_expired_login')$$,
    'pgbouncer.get_auth returns no row for a role whose password has expired');
SELECT is_empty($$SELECT * FROM pgbouncer.get_auth('no_such_role')$$,
    'pgbouncer.get_auth returns no row for an unknown role');
SELECT throws_ok($$SELECT * FROM wallet.get_wallet('5e000000-0000-4000-8000-000000000001')$$,
    '42501', NULL, 'pgbouncer_auth cannot call the wallet functions (42501)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
