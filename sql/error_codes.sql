--liquibase formatted sql

--changeset wallet:error-codes runOnChange:true splitStatements:false
-- The one table of SQLSTATEs the wallet functions raise (class WL). Stable: a code, once released,
-- keeps its meaning. Each code's HTTP status is here too: the API's mapping, the README's table and the
-- problem pages are tested against this list. 1.1.0 added http_status (last): the old one is dropped.
DROP FUNCTION IF EXISTS wallet.error_codes();
CREATE OR REPLACE FUNCTION wallet.error_codes()
RETURNS TABLE (sqlstate text, name text, message text, hint text, http_status integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES
        ('WL001', 'wallet_not_found', 'wallet not found',
         'Check the wallet id, or create the wallet with wallet.create_wallet().', 404),
        ('WL002', 'insufficient_funds', 'insufficient funds',
         'Withdraw at most the current balance, or deposit first.', 400),
        ('WL003', 'invalid_amount', 'invalid amount',
         'Amounts are positive, in whole minor units of the wallet''s currency (cents for USD: at most 2 decimal places), below 10^18.', 422),
        ('WL004', 'invalid_operation_type', 'invalid operation type',
         'Use DEPOSIT or WITHDRAW.', 422),
        ('WL005', 'idempotency_key_reused', 'idempotency key reused with a different request',
         'Send a new idempotency key for a new request; repeat a key only with the identical request.', 422),
        ('WL006', 'balance_limit_exceeded', 'balance limit exceeded',
         'A balance stays below 10^18 (at most 999999999999999999.99 in USD).', 400),
        ('WL007', 'invalid_idempotency_key', 'invalid idempotency key',
         'An idempotency key is 1 to 255 characters long.', 422),
        ('WL008', 'wallet_already_exists', 'wallet already exists',
         'Choose another wallet id, or omit it to have one generated.', 409),
        ('WL009', 'invalid_argument', 'invalid argument',
         'See the function''s documentation: \df+ wallet.*', 422),
        ('WL010', 'ledger_append_only', 'the ledger is append-only',
         'Ledger entries are never changed or removed; correct a mistake with a new operation.', 500),
        ('WL011', 'transfer_not_found', 'transfer not found',
         'Check the transfer id: every ledger entry names its transfer_id.', 404),
        ('WL012', 'currency_mismatch', 'currency mismatch',
         'A transfer moves one currency: both wallets must hold the same one.', 422),
        ('WL013', 'invalid_metadata', 'invalid metadata',
         'Metadata is a JSON object of at most 4096 bytes (as PostgreSQL writes it), or absent.', 422),
        ('WL014', 'same_wallet', 'source and destination are the same wallet',
         'A transfer moves money between two different wallets.', 422),
        ('WL015', 'invalid_currency', 'invalid currency',
         'Use an ISO 4217 code of wallet.currencies, e.g. USD, EUR, JPY.', 422),
        ('WL016', 'hold_not_found', 'hold not found',
         'Check the hold id (and its wallet), or see the wallet''s holds in wallet.holds.', 404),
        ('WL017', 'hold_not_active', 'the hold is no longer active',
         'A hold is captured or voided once, and not after it expired: see its status with wallet.get_hold().', 409),
        ('WL018', 'reversal_exceeds_original', 'the reversal exceeds what remains of the original',
         'Reverse at most the original''s amount minus its reversals so far: see reversed_amount in wallet.get_transfer().', 422)
$$;
ALTER FUNCTION wallet.error_codes() OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.error_codes() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.error_codes() TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.error_codes() IS
'The SQLSTATE codes the wallet functions raise: sqlstate, stable name (the API''s error code), message (the problem''s title), hint, and the HTTP status the API answers with. SELECT * FROM wallet.error_codes();';
--rollback DROP FUNCTION wallet.error_codes();
