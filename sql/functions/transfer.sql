--liquibase formatted sql

--changeset wallet:fn-transfer runOnChange:true splitStatements:false
-- Moves money from one wallet to another of the same currency, atomically and idempotently: one
-- element of wallet.post_transfers (both wallets locked in id order), but a failure is raised.
CREATE OR REPLACE FUNCTION wallet.transfer(
    p_from_wallet_id uuid,
    p_to_wallet_id uuid,
    p_amount numeric,
    p_idempotency_key text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL
)
RETURNS SETOF wallet.transfer_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r wallet.transfer_result;
BEGIN
    -- Never a NULL distribution argument (see docs: a distributed database routes by the first one).
    IF p_from_wallet_id IS NULL OR p_to_wallet_id IS NULL THEN
        PERFORM wallet.raise_error('WL009', 'a transfer between wallets names both: use wallet.deposit or wallet.withdraw for the outside world');
    END IF;
    SELECT * INTO r FROM wallet.post_transfers(p_from_wallet_id,
        ARRAY[ROW(p_from_wallet_id, p_to_wallet_id, p_amount, p_idempotency_key, false, p_metadata)::wallet.transfer_request]);
    IF r.error_code IS NOT NULL THEN
        PERFORM wallet.raise_error(r.error_code, r.error_detail);
    END IF;
    RETURN NEXT r;
END
$$;
ALTER FUNCTION wallet.transfer(uuid, uuid, numeric, text, jsonb) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.transfer(uuid, uuid, numeric, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.transfer(uuid, uuid, numeric, text, jsonb) TO wallet_app;
COMMENT ON FUNCTION wallet.transfer(uuid, uuid, numeric, text, jsonb) IS
'Moves p_amount from p_from_wallet_id to p_to_wallet_id (same currency, whole minor units) and returns the transfer (wallet.transfer_result): its id, both legs (entry_id/seq of the source, counter_entry_id/counter_seq of the destination) and the source''s balance after it.
p_idempotency_key (optional, 1-255 characters) is scoped to the source wallet: repeating the same transfer returns the original (replayed = true); another request with it raises WL005. p_metadata: a JSON object of at most 4096 bytes, stored on both legs.
Raises WL001 unknown wallet (the detail says which side), WL002 insufficient funds, WL003 invalid amount, WL005 key reused, WL006 the destination would exceed the balance limit, WL007 invalid key, WL009 a NULL wallet id, WL012 currency mismatch, WL013 invalid metadata, WL014 the same wallet on both sides.';

CREATE OR REPLACE FUNCTION wallet.post_transfers_atomic(p_wallet_id uuid, p_requests wallet.transfer_request[])
RETURNS SETOF wallet.transfer_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    results wallet.transfer_result[];
    r wallet.transfer_result;
BEGIN
    results := ARRAY(SELECT x FROM wallet.post_transfers(p_wallet_id, p_requests) AS x);
    SELECT * INTO r FROM unnest(results) AS u WHERE u.error_code IS NOT NULL ORDER BY u.ordinal LIMIT 1;
    IF FOUND THEN  -- raising undoes the whole call: every element, and any refusal it recorded
        PERFORM wallet.raise_error(r.error_code, format('transfer %s of %s: %s', r.ordinal, cardinality(results),
            r.error_detail));
    END IF;
    RETURN QUERY SELECT * FROM unnest(results);
END
$$;
ALTER FUNCTION wallet.post_transfers_atomic(uuid, wallet.transfer_request[]) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.post_transfers_atomic(uuid, wallet.transfer_request[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.post_transfers_atomic(uuid, wallet.transfer_request[]) TO wallet_app;
COMMENT ON FUNCTION wallet.post_transfers_atomic(uuid, wallet.transfer_request[]) IS
'wallet.post_transfers, all or nothing: every request applies (one wallet.transfer_result each, in order; replays included) or none does. The first refused request is raised with its own SQLSTATE (WL001, WL002, WL003, WL005, ...) and a detail that names it ("transfer 3 of 10: ..."), and nothing of the call is written, not even a refusal for a key: the keys stay free.';

-- 1.1.0 (holds, reversals) added reverses, reversed_amount and hold_id (last): a RETURNS TABLE cannot
-- change in place, so the old form is dropped first.
DROP FUNCTION IF EXISTS wallet.get_transfer(uuid);
CREATE OR REPLACE FUNCTION wallet.get_transfer(p_transfer_id uuid)
RETURNS TABLE (
    transfer_id uuid,
    kind text,
    from_wallet_id uuid,
    to_wallet_id uuid,
    amount numeric,
    currency text,
    metadata jsonb,
    created_at timestamptz,
    reverses uuid,
    reversed_amount numeric,
    hold_id uuid
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- The owning leg (the source's, or the wallet's of a deposit) says it all. Its reversal link is keyed
    -- by that wallet; its own reversals all belong to the wallet that pays back (the destination of a
    -- transfer between wallets, else the same wallet): two probes of wallet.reversals' indexes.
    RETURN QUERY
    SELECT o.transfer_id, CASE o.operation_type WHEN 'TRANSFER_OUT' THEN 'TRANSFER' ELSE o.operation_type END,
        CASE WHEN o.operation_type <> 'DEPOSIT' THEN o.wallet_id END,
        CASE o.operation_type WHEN 'DEPOSIT' THEN o.wallet_id WHEN 'TRANSFER_OUT' THEN o.counterparty_wallet_id END,
        round(o.amount, c.minor_units), w.currency, o.metadata, o.created_at,
        (SELECT r.reverses FROM wallet.reversals AS r WHERE r.wallet_id = o.wallet_id AND r.transfer_id = o.transfer_id),
        round(coalesce((SELECT sum(r.amount) FROM wallet.reversals AS r
                        WHERE r.wallet_id = coalesce(o.counterparty_wallet_id, o.wallet_id) AND r.reverses = o.transfer_id),
                       0), c.minor_units),
        (SELECT h.id FROM wallet.holds AS h WHERE h.wallet_id = o.wallet_id AND h.capture_transfer_id = o.transfer_id)
    FROM wallet.operations AS o
    JOIN wallet.wallets AS w ON w.id = o.wallet_id
    JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE o.transfer_id = p_transfer_id AND o.operation_type <> 'TRANSFER_IN'
    LIMIT 1;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL011', format('no transfer has id %s', coalesce(p_transfer_id::text, 'NULL')));
    END IF;
END
$$;
ALTER FUNCTION wallet.get_transfer(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.get_transfer(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.get_transfer(uuid) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.get_transfer(uuid) IS
'Returns a transfer by its id: kind (DEPOSIT, WITHDRAW or TRANSFER), from_wallet_id (NULL for a deposit: the outside world), to_wallet_id (NULL for a withdrawal), amount, currency, metadata, created_at, reverses (the transfer this one reverses, NULL unless it is a reversal: wallet.reverse_transfer) and reversed_amount (how much of it its reversals have moved back, 0 if none), hold_id (the hold whose capture this transfer is, NULL if none: wallet.capture_hold). Every ledger entry names its transfer_id. Raises WL011 if there is no such transfer. Finds it by the transfer id alone (an index on every node of a distributed database).';
--rollback DROP FUNCTION wallet.get_transfer(uuid);
--rollback DROP FUNCTION wallet.post_transfers_atomic(uuid, wallet.transfer_request[]);
--rollback DROP FUNCTION wallet.transfer(uuid, uuid, numeric, text, jsonb);
