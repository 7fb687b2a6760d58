--liquibase formatted sql

--changeset wallet:fn-list-operations runOnChange:true splitStatements:false
-- A page of one wallet's ledger, oldest first, by keyset on seq (an index range scan on the primary
-- key, however deep the page): pass the last seq you saw as p_after to get the next page.
-- 1.1.0 added the transfer columns at the end: the old function is dropped.
DROP FUNCTION IF EXISTS wallet.list_operations(uuid, bigint, integer);
CREATE OR REPLACE FUNCTION wallet.list_operations(
    p_wallet_id uuid,
    p_after bigint DEFAULT 0,
    p_limit integer DEFAULT 100
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
    transfer_id uuid,
    counterparty_wallet_id uuid,
    metadata jsonb,
    currency text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_mu integer;
    v_currency text;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        PERFORM wallet.raise_error('WL009', format('p_limit must be 1 to 1000, not %s', coalesce(p_limit::text, 'NULL')));
    END IF;
    IF p_after < 0 THEN
        PERFORM wallet.raise_error('WL009', format('p_after must be 0 or a seq, not %s', p_after));
    END IF;
    SELECT c.minor_units, c.code INTO v_mu, v_currency
    FROM wallet.wallets AS w JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE w.id = p_wallet_id;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL001', format('no wallet has id %s', coalesce(p_wallet_id::text, 'NULL')));
    END IF;
    RETURN QUERY
    SELECT o.id, o.wallet_id, o.seq, o.operation_type, round(o.amount, v_mu), round(o.balance_after, v_mu),
        o.idempotency_key, o.created_at, o.transfer_id, o.counterparty_wallet_id, o.metadata, v_currency
    FROM wallet.operations AS o
    WHERE o.wallet_id = p_wallet_id AND o.seq > coalesce(p_after, 0)
    ORDER BY o.seq
    LIMIT p_limit;
END
$$;
ALTER FUNCTION wallet.list_operations(uuid, bigint, integer) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.list_operations(uuid, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.list_operations(uuid, bigint, integer) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.list_operations(uuid, bigint, integer) IS
'Returns up to p_limit (1-1000, default 100) ledger entries of the wallet with seq > p_after (default 0), in ascending seq order (oldest first): each entry''s kind (DEPOSIT, WITHDRAW, TRANSFER_IN, TRANSFER_OUT), amount and balance_after in the wallet''s currency, its transfer_id, the counterparty wallet of a transfer, and the transfer''s metadata.
Next page: call again with p_after = the last seq returned; fewer than p_limit rows means the end for now. Raises WL001 for an unknown wallet, WL009 for a bad p_limit or p_after.';
--rollback DROP FUNCTION wallet.list_operations(uuid, bigint, integer);
