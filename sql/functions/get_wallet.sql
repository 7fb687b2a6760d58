--liquibase formatted sql

--changeset wallet:fn-get-wallet runOnChange:true splitStatements:false
-- Reads one wallet (committed state, no lock).
-- Raises WL001 rather than returning no row, so a caller cannot mistake "missing" for "empty".
-- 1.1.0 added the currency column (and balances in its minor units), then available_balance (balance
-- minus active holds): the old function is dropped.
DROP FUNCTION IF EXISTS wallet.get_wallet(uuid);
CREATE OR REPLACE FUNCTION wallet.get_wallet(p_wallet_id uuid)
RETURNS TABLE (
    wallet_id uuid,
    balance numeric,
    version bigint,
    created_at timestamptz,
    updated_at timestamptz,
    currency text,
    available_balance numeric
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT w.id, round(w.balance, c.minor_units), w.version, w.created_at, w.updated_at, w.currency,
        round(w.balance - w.held + wallet.due_held(w.id, w.held), c.minor_units)
    FROM wallet.wallets AS w
    JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE w.id = p_wallet_id;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL001', format('no wallet has id %s', coalesce(p_wallet_id::text, 'NULL')));
    END IF;
END
$$;
ALTER FUNCTION wallet.get_wallet(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.get_wallet(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.get_wallet(uuid) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.get_wallet(uuid) IS
'Returns the wallet: id, balance (with its currency''s decimal places), version (= number of ledger entries), created_at, updated_at, currency, available_balance (balance minus the active holds not past their expires_at: what withdrawals, transfers out and new holds may take). Raises WL001 if there is no such wallet.';
--rollback DROP FUNCTION wallet.get_wallet(uuid);
