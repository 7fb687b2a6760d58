--liquibase formatted sql

--changeset wallet:fn-list-operations runOnChange:true splitStatements:false
-- A page of one wallet's ledger, by keyset on seq (an index range scan on the primary key, however deep
-- the page), oldest first or newest first: pass the last seq you saw as p_after to get the next page.
-- Filters: kinds, a time window (turned into a seq range by two probes of operations_wallet_time: a
-- wallet's entries never go back in time), a transfer.
-- 1.1.0 added the transfer columns at the end, then the filters (last, with defaults): the old
-- function is dropped.
DROP FUNCTION IF EXISTS wallet.list_operations(uuid, bigint, integer);
CREATE OR REPLACE FUNCTION wallet.list_operations(
    p_wallet_id uuid,
    p_after bigint DEFAULT NULL,
    p_limit integer DEFAULT 100,
    p_types text[] DEFAULT NULL,
    p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL,
    p_transfer_id uuid DEFAULT NULL,
    p_descending boolean DEFAULT false
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
    v_lo bigint := 0;  -- entries with seq > v_lo ...
    v_hi bigint := 9223372036854775807;  -- ... and seq <= v_hi
    v_seq bigint;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        PERFORM wallet.raise_error('WL009', format('p_limit must be 1 to 1000, not %s', coalesce(p_limit::text, 'NULL')));
    END IF;
    IF p_after < 0 THEN
        PERFORM wallet.raise_error('WL009', format('p_after must be 0 or a seq, not %s', p_after));
    END IF;
    IF p_types IS NOT NULL AND (cardinality(p_types) = 0 OR NOT p_types <@ ARRAY['DEPOSIT', 'WITHDRAW', 'TRANSFER_IN', 'TRANSFER_OUT']) THEN
        PERFORM wallet.raise_error('WL004', format('p_types holds DEPOSIT, WITHDRAW, TRANSFER_IN or TRANSFER_OUT, not %s', p_types));
    END IF;
    SELECT c.minor_units, c.code INTO v_mu, v_currency
    FROM wallet.wallets AS w JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE w.id = p_wallet_id;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL001', format('no wallet has id %s', coalesce(p_wallet_id::text, 'NULL')));
    END IF;
    -- The time window as a seq range: after the last entry before p_since, up to the last at or before p_until.
    IF p_since IS NOT NULL THEN
        SELECT o.seq INTO v_seq FROM wallet.operations AS o
        WHERE o.wallet_id = p_wallet_id AND o.created_at < p_since
        ORDER BY o.created_at DESC, o.seq DESC LIMIT 1;
        v_lo := coalesce(v_seq, 0);
    END IF;
    IF p_until IS NOT NULL THEN
        v_seq := NULL;
        SELECT o.seq INTO v_seq FROM wallet.operations AS o
        WHERE o.wallet_id = p_wallet_id AND o.created_at <= p_until
        ORDER BY o.created_at DESC, o.seq DESC LIMIT 1;
        v_hi := coalesce(v_seq, 0);
    END IF;
    -- The cursor: past it in the chosen order.
    IF p_after IS NOT NULL THEN
        IF p_descending THEN
            v_hi := least(v_hi, p_after - 1);
        ELSE
            v_lo := greatest(v_lo, p_after);
        END IF;
    END IF;
    IF p_descending THEN
        RETURN QUERY
        SELECT o.id, o.wallet_id, o.seq, o.operation_type, round(o.amount, v_mu), round(o.balance_after, v_mu),
            o.idempotency_key, o.created_at, o.transfer_id, o.counterparty_wallet_id, o.metadata, v_currency
        FROM wallet.operations AS o
        WHERE o.wallet_id = p_wallet_id AND o.seq > v_lo AND o.seq <= v_hi
            AND (p_types IS NULL OR o.operation_type = ANY (p_types))
            AND (p_transfer_id IS NULL OR o.transfer_id = p_transfer_id)
        ORDER BY o.seq DESC
        LIMIT p_limit;
    ELSE
        RETURN QUERY
        SELECT o.id, o.wallet_id, o.seq, o.operation_type, round(o.amount, v_mu), round(o.balance_after, v_mu),
            o.idempotency_key, o.created_at, o.transfer_id, o.counterparty_wallet_id, o.metadata, v_currency
        FROM wallet.operations AS o
        WHERE o.wallet_id = p_wallet_id AND o.seq > v_lo AND o.seq <= v_hi
            AND (p_types IS NULL OR o.operation_type = ANY (p_types))
            AND (p_transfer_id IS NULL OR o.transfer_id = p_transfer_id)
        ORDER BY o.seq
        LIMIT p_limit;
    END IF;
END
$$;
ALTER FUNCTION wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean) IS
'Returns up to p_limit (1-1000, default 100) ledger entries of the wallet in seq order, ascending (oldest first, the default) or with p_descending newest first: each entry''s kind (DEPOSIT, WITHDRAW, TRANSFER_IN, TRANSFER_OUT), amount and balance_after in the wallet''s currency, its transfer_id, the counterparty wallet of a transfer, and the transfer''s metadata.
Filters (each optional, all combined): p_types (kinds), p_since / p_until (created_at at or after / at or before; a wallet''s entries never go back in time, so the window is a seq range found by two index probes), p_transfer_id (the legs of one transfer).
Next page: call again with p_after = the last seq returned (entries past it in the chosen order: seq > p_after ascending, seq < p_after descending); fewer than p_limit rows means the end for now. Raises WL001 for an unknown wallet, WL009 for a bad p_limit or p_after, WL004 for an unknown kind.';
--rollback DROP FUNCTION wallet.list_operations(uuid, bigint, integer, text[], timestamptz, timestamptz, uuid, boolean);
