--liquibase formatted sql

--changeset wallet:fn-apply-operation runOnChange:true splitStatements:false
-- One operation, atomically and idempotently: the same code path as wallet.apply_operations (one
-- element of wallet.post_transfers), but a failure is raised as its SQLSTATE. deposit/withdraw are
-- its psql shorthands.
CREATE OR REPLACE FUNCTION wallet.apply_operation(
    p_wallet_id uuid,
    p_operation_type text,
    p_amount numeric,
    p_idempotency_key text DEFAULT NULL
)
RETURNS TABLE (
    operation_id uuid,
    wallet_id uuid,
    seq bigint,
    operation_type text,
    amount numeric,
    balance_after numeric,
    idempotency_key text,
    created_at timestamptz,
    replayed boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r wallet.transfer_result;
BEGIN
    -- Straight to wallet.post_transfers (what wallet.apply_operations does for a batch of one, without
    -- its extra layer): a deposit comes from the outside world, a withdrawal goes to it.
    IF p_wallet_id IS NULL THEN
        PERFORM wallet.raise_error('WL009', 'p_wallet_id is NULL');
    END IF;
    SELECT * INTO r FROM wallet.post_transfers(p_wallet_id, ARRAY[ROW(
        CASE WHEN p_operation_type = 'WITHDRAW' THEN p_wallet_id END,
        CASE WHEN p_operation_type = 'WITHDRAW' THEN NULL ELSE p_wallet_id END,
        CASE WHEN p_operation_type IN ('DEPOSIT', 'WITHDRAW') THEN p_amount END,
        p_idempotency_key, false, NULL)::wallet.transfer_request]);
    IF r.error_code = 'WL003' AND p_operation_type IS DISTINCT FROM 'DEPOSIT' AND p_operation_type IS DISTINCT FROM 'WITHDRAW' THEN
        PERFORM wallet.raise_error('WL004', format('operation type %s is neither DEPOSIT nor WITHDRAW',
            coalesce(quote_literal(p_operation_type), 'NULL')));
    END IF;
    IF r.error_code IS NOT NULL THEN
        PERFORM wallet.raise_error(r.error_code, r.error_detail);
    END IF;
    RETURN QUERY SELECT r.entry_id, p_wallet_id, r.seq, r.entry_kind, r.amount, r.balance_after, p_idempotency_key,
        r.created_at, r.replayed;
END
$$;
ALTER FUNCTION wallet.apply_operation(uuid, text, numeric, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.apply_operation(uuid, text, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.apply_operation(uuid, text, numeric, text) TO wallet_app;
COMMENT ON FUNCTION wallet.apply_operation(uuid, text, numeric, text) IS
'Applies one DEPOSIT or WITHDRAW to a wallet and returns its ledger entry (balance_after = the new balance).
Arguments: p_wallet_id; p_operation_type DEPOSIT|WITHDRAW; p_amount > 0 in whole cents (1.001 is refused, never rounded); p_idempotency_key (optional, 1-255 characters, unique per wallet).
Repeating a key with the same type and amount changes nothing and returns the original outcome: the entry (replayed = true), or the same refusal. With another request it raises WL005. A keyed refusal for insufficient funds (WL002) or the balance limit (WL006) is final for its key: retry with a new key.
Raises WL001 wallet not found, WL002 insufficient funds, WL003 invalid amount, WL004 invalid operation type, WL005 key reused, WL006 balance limit, WL007 invalid key, WL009 NULL wallet id.';

CREATE OR REPLACE FUNCTION wallet.deposit(p_wallet_id uuid, p_amount numeric, p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (
    operation_id uuid,
    wallet_id uuid,
    seq bigint,
    operation_type text,
    amount numeric,
    balance_after numeric,
    idempotency_key text,
    created_at timestamptz,
    replayed boolean
)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM wallet.apply_operation(p_wallet_id, 'DEPOSIT', p_amount, p_idempotency_key) $$;
ALTER FUNCTION wallet.deposit(uuid, numeric, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.deposit(uuid, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.deposit(uuid, numeric, text) TO wallet_app;
COMMENT ON FUNCTION wallet.deposit(uuid, numeric, text) IS
'Shorthand for wallet.apply_operation(p_wallet_id, ''DEPOSIT'', p_amount, p_idempotency_key).';

CREATE OR REPLACE FUNCTION wallet.withdraw(p_wallet_id uuid, p_amount numeric, p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (
    operation_id uuid,
    wallet_id uuid,
    seq bigint,
    operation_type text,
    amount numeric,
    balance_after numeric,
    idempotency_key text,
    created_at timestamptz,
    replayed boolean
)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM wallet.apply_operation(p_wallet_id, 'WITHDRAW', p_amount, p_idempotency_key) $$;
ALTER FUNCTION wallet.withdraw(uuid, numeric, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.withdraw(uuid, numeric, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.withdraw(uuid, numeric, text) TO wallet_app;
COMMENT ON FUNCTION wallet.withdraw(uuid, numeric, text) IS
'Shorthand for wallet.apply_operation(p_wallet_id, ''WITHDRAW'', p_amount, p_idempotency_key).';
--rollback DROP FUNCTION wallet.withdraw(uuid, numeric, text);
--rollback DROP FUNCTION wallet.deposit(uuid, numeric, text);
--rollback DROP FUNCTION wallet.apply_operation(uuid, text, numeric, text);
