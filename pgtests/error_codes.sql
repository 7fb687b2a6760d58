-- wallet.error_codes(): the one table of SQLSTATEs (class WL) the wallet functions raise, and
-- wallet.raise_error(), which raises them with that table's message and hint.
BEGIN;
SELECT plan(31);

SELECT has_function('wallet', 'error_codes', '{}'::name[], 'wallet.error_codes() exists');

SELECT results_eq(
    $$SELECT sqlstate, name FROM wallet.error_codes() ORDER BY sqlstate$$,
    $$VALUES ('WL001', 'wallet_not_found'), ('WL002', 'insufficient_funds'), ('WL003', 'invalid_amount'),
             ('WL004', 'invalid_operation_type'), ('WL005', 'idempotency_key_reused'), ('WL006', 'balance_limit_exceeded'),
             ('WL007', 'invalid_idempotency_key'), ('WL008', 'wallet_already_exists'), ('WL009', 'invalid_argument'),
             ('WL010', 'ledger_append_only'), ('WL011', 'transfer_not_found'), ('WL012', 'currency_mismatch'),
             ('WL013', 'invalid_metadata'), ('WL014', 'same_wallet'), ('WL015', 'invalid_currency'),
             ('WL016', 'hold_not_found'), ('WL017', 'hold_not_active'), ('WL018', 'reversal_exceeds_original')$$,
    'error_codes() lists exactly WL001 to WL018, each with its stable name');
SELECT results_eq(
    $$SELECT http_status, count(*)::integer FROM wallet.error_codes() GROUP BY 1 ORDER BY 1$$,
    $$VALUES (400, 2), (404, 3), (409, 2), (422, 10), (500, 1)$$,
    'every code carries its HTTP status: 400 for the wallets'' state, 404 unknown ids, 409 an existing wallet or a hold no longer active, 422 a bad request, 500 the ledger guard');
SELECT is_empty(
    $$SELECT sqlstate FROM wallet.error_codes()
      WHERE coalesce(name, '') = '' OR coalesce(message, '') = '' OR coalesce(hint, '') = ''$$,
    'every code has a non-empty name, message and hint');
SELECT is_empty(
    $$SELECT name FROM wallet.error_codes() GROUP BY name HAVING count(*) > 1$$,
    'the names are unique');
SELECT is_empty(
    $$SELECT message FROM wallet.error_codes() GROUP BY message HAVING count(*) > 1$$,
    'the messages are unique, so a message alone identifies the error');
SELECT is_empty(
    $$SELECT sqlstate FROM wallet.error_codes() WHERE sqlstate !~ '^WL[0-9]{3}$' OR name !~ '^[a-z][a-z_]*[a-z]$'$$,
    'every code is a valid SQLSTATE of class WL and every name is lower_snake_case');
SELECT results_eq(
    $$SELECT message FROM wallet.error_codes() WHERE sqlstate IN ('WL002', 'WL010') ORDER BY sqlstate$$,
    $$VALUES ('insufficient funds'), ('the ledger is append-only')$$,
    'WL002 reads insufficient funds and WL010 the ledger is append-only');

-- raise_error raises each code with the message of error_codes() (18 tests)
SELECT throws_ok(format('SELECT wallet.raise_error(%L, %L)', sqlstate, 'raised by pgTAP'), sqlstate, message,
    format('raise_error(%s) raises %s with the message "%s"', sqlstate, sqlstate, message))
FROM wallet.error_codes() ORDER BY sqlstate;

-- The SQLSTATE, message, detail and hint of the error a statement raises (no row if none);
-- an absent detail or hint is NULL.
CREATE FUNCTION pg_temp.caught(p_sql text)
RETURNS TABLE (code text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
    RETURN;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    detail := nullif(detail, '');
    hint := nullif(hint, '');
    RETURN NEXT;
END
$$;
SELECT results_eq(
    $$SELECT e.sqlstate, c.hint FROM wallet.error_codes() AS e,
             LATERAL pg_temp.caught(format('SELECT wallet.raise_error(%L, ''detail'')', e.sqlstate)) AS c
      ORDER BY e.sqlstate$$,
    $$SELECT sqlstate, hint FROM wallet.error_codes() ORDER BY sqlstate$$,
    'every raised code carries the hint of error_codes()');
-- RAISE ... USING DETAIL = NULL fails with 22004 "RAISE statement option cannot be null": raise_error
-- must still raise the wallet code.
SELECT results_eq(
    $$SELECT * FROM pg_temp.caught('SELECT wallet.raise_error(''WL001'', NULL)')$$,
    $$VALUES ('WL001', 'wallet not found', NULL::text, 'Check the wallet id, or create the wallet with wallet.create_wallet().')$$,
    'raise_error with a NULL detail still raises its code (WL001), without a detail');
SELECT results_eq(
    $$SELECT * FROM pg_temp.caught('SELECT wallet.raise_error(''WL999'', ''no such code'')')$$,
    $$VALUES ('WL999', 'wallet error WL999', 'no such code', 'See SELECT * FROM wallet.error_codes();')$$,
    'raise_error of a code missing from error_codes() still raises it, as "wallet error WL999" pointing to the table');
SELECT FROM wallet.create_wallet(0, 'ec000000-0000-4000-8000-000000000001');
SELECT results_eq(
    $$SELECT * FROM pg_temp.caught('SELECT * FROM wallet.withdraw(''ec000000-0000-4000-8000-000000000001'', 1)')$$,
    $$VALUES ('WL002', 'insufficient funds',
              'wallet ec000000-0000-4000-8000-000000000001 has 0.00; withdrawing 1.00 needs 1.00 more',
              'Withdraw at most the current balance, or deposit first.')$$,
    'a refused withdraw raises WL002 with the message, a detail naming the wallet and the shortfall, and the hint');
SELECT results_eq(
    $$SELECT * FROM pg_temp.caught('SELECT * FROM wallet.get_wallet(''ec000000-0000-4000-8000-0000000000ff'')')$$,
    $$VALUES ('WL001', 'wallet not found', 'no wallet has id ec000000-0000-4000-8000-0000000000ff',
              'Check the wallet id, or create the wallet with wallet.create_wallet().')$$,
    'an unknown wallet raises WL001 with a detail naming the id and the hint');

SELECT * FROM finish();
ROLLBACK;
