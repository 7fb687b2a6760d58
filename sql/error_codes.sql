--liquibase formatted sql

--changeset wallet:error-codes runOnChange:true splitStatements:false
-- The one table of SQLSTATEs the wallet functions raise (class WL). Stable: a code, once released,
-- keeps its meaning. The API's HTTP mapping and the README are tested against this list.
CREATE OR REPLACE FUNCTION wallet.error_codes()
RETURNS TABLE (sqlstate text, name text, message text, hint text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES
        ('WL001', 'wallet_not_found', 'wallet not found',
         'Check the wallet id, or create the wallet with wallet.create_wallet().'),
        ('WL002', 'insufficient_funds', 'insufficient funds',
         'Withdraw at most the current balance, or deposit first.'),
        ('WL003', 'invalid_amount', 'invalid amount',
         'Amounts are positive numbers of whole cents (at most 2 decimal places) up to 999999999999999999.99.'),
        ('WL004', 'invalid_operation_type', 'invalid operation type',
         'Use DEPOSIT or WITHDRAW.'),
        ('WL005', 'idempotency_key_reused', 'idempotency key reused with a different request',
         'Send a new idempotency key for a new request; repeat a key only with the identical request.'),
        ('WL006', 'balance_limit_exceeded', 'balance limit exceeded',
         'A balance cannot exceed 999999999999999999.99.'),
        ('WL007', 'invalid_idempotency_key', 'invalid idempotency key',
         'An idempotency key is 1 to 255 characters long.'),
        ('WL008', 'wallet_already_exists', 'wallet already exists',
         'Choose another wallet id, or omit it to have one generated.'),
        ('WL009', 'invalid_argument', 'invalid argument',
         'See the function''s documentation: \df+ wallet.*'),
        ('WL010', 'ledger_append_only', 'the ledger is append-only',
         'Ledger entries are never changed or removed; correct a mistake with a new operation.')
$$;
ALTER FUNCTION wallet.error_codes() OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.error_codes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.error_codes() TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.error_codes() IS
'The SQLSTATE codes the wallet functions raise: sqlstate, stable name (the API''s error code), message and hint. SELECT * FROM wallet.error_codes();';
--rollback DROP FUNCTION wallet.error_codes();
