--liquibase formatted sql

--changeset wallet:fn-apply-operations runOnChange:true splitStatements:false
-- Applies a batch of deposits and withdrawals to one wallet atomically and in order, as transfers with
-- the outside world through wallet.post_transfers (one lock, one update, one insert). Idempotent per
-- element (key unique per wallet); a failing element is reported in its row, not raised; a keyed
-- refusal for the wallet's state (WL002, WL006) is recorded and replayed for that key.
-- 1.1.0 added p_ephemeral_keys (last, with a default): the old four-argument signature is dropped so
-- that calls with four arguments find exactly this function.
DROP FUNCTION IF EXISTS wallet.apply_operations(uuid, text[], numeric[], text[]);
CREATE OR REPLACE FUNCTION wallet.apply_operations(
    p_wallet_id uuid,
    p_operation_types text[],
    p_amounts numeric[],
    p_idempotency_keys text[] DEFAULT NULL,
    p_ephemeral_keys boolean[] DEFAULT NULL
)
RETURNS TABLE (
    ordinal integer,
    operation_id uuid,
    wallet_id uuid,
    seq bigint,
    operation_type text,
    amount numeric,
    balance_after numeric,
    idempotency_key text,
    created_at timestamptz,
    replayed boolean,
    error_code text,
    error_detail text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_batch constant integer := 1000;
    v_n integer := coalesce(cardinality(p_amounts), 0);
    v_requests wallet.transfer_request[] := '{}';
BEGIN
    IF p_wallet_id IS NULL THEN
        PERFORM wallet.raise_error('WL009', 'p_wallet_id is NULL');
    END IF;
    IF v_n NOT BETWEEN 1 AND c_max_batch
        OR array_ndims(p_amounts) <> 1
        OR coalesce(cardinality(p_operation_types), 0) <> v_n
        OR (p_idempotency_keys IS NOT NULL AND cardinality(p_idempotency_keys) <> v_n)
        OR (p_ephemeral_keys IS NOT NULL AND cardinality(p_ephemeral_keys) <> v_n) THEN
        PERFORM wallet.raise_error('WL009', format(
            'a batch has 1 to %s elements and its arrays have equal lengths; got %s operation types, %s amounts, %s idempotency keys, %s ephemeral flags',
            c_max_batch, coalesce(cardinality(p_operation_types), 0), v_n, coalesce(cardinality(p_idempotency_keys)::text, 'no'),
            coalesce(cardinality(p_ephemeral_keys)::text, 'no')));
    END IF;

    -- A deposit is a transfer from the outside world into the wallet, a withdrawal one out of it to the
    -- world: wallet.post_transfers decides everything. An element of another type goes as a deposit of
    -- no amount, so it meets the checks before the amount's (WL001, WL007) in the same order as a valid
    -- one, shows the balance at its point of the batch, and its WL003 is answered as WL004.
    -- One pass over the arrays (a subscript would walk a variable-length array from its start).
    v_requests := ARRAY(
        SELECT ROW(CASE WHEN x.t = 'WITHDRAW' THEN p_wallet_id END,
            CASE WHEN x.t = 'WITHDRAW' THEN NULL ELSE p_wallet_id END,
            CASE WHEN x.t IN ('DEPOSIT', 'WITHDRAW') THEN x.a END, x.k, x.e, NULL)::wallet.transfer_request
        FROM unnest(p_operation_types, p_amounts, p_idempotency_keys, p_ephemeral_keys) WITH ORDINALITY AS x (t, a, k, e, i)
        ORDER BY x.i);
    -- post_transfers answers in input order, each row with the request's key and, unless it applied
    -- the request, its amount as given: that is this function's answer, but for an element of an
    -- unknown type (which went with no amount); only then is the input zipped back in, position by position.
    IF NOT EXISTS (SELECT FROM unnest(p_operation_types) AS t WHERE t IS DISTINCT FROM 'DEPOSIT' AND t IS DISTINCT FROM 'WITHDRAW') THEN
        RETURN QUERY
        SELECT r.ordinal, r.entry_id, p_wallet_id, r.seq, r.entry_kind, r.amount, r.balance_after, r.idempotency_key,
            r.created_at, r.replayed, r.error_code, r.error_detail
        FROM wallet.post_transfers(p_wallet_id, v_requests) AS r;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT r.ordinal, r.entry_id, p_wallet_id, r.seq, CASE WHEN x.valid THEN r.entry_kind ELSE x.t END,
        coalesce(r.amount, x.a), r.balance_after, x.k, r.created_at, r.replayed,
        CASE WHEN r.error_code = 'WL003' AND NOT x.valid THEN 'WL004' ELSE r.error_code END,
        CASE WHEN r.error_code = 'WL003' AND NOT x.valid
            THEN format('operation type %s is neither DEPOSIT nor WITHDRAW', coalesce(quote_literal(x.t), 'NULL'))
            ELSE r.error_detail END
    FROM ROWS FROM (
        wallet.post_transfers(p_wallet_id, v_requests),
        unnest(p_operation_types), unnest(p_amounts), unnest(p_idempotency_keys)
    ) AS z (ordinal, transfer_id, kind, owner, from_wallet_id, to_wallet_id, amount, currency, metadata, entry_id,
            entry_kind, seq, balance_after, counter_entry_id, counter_seq, idempotency_key, created_at, replayed,
            error_code, error_detail, t, a, k)
    CROSS JOIN LATERAL (SELECT z.ordinal, z.entry_id, z.seq, z.entry_kind, z.amount, z.balance_after, z.created_at,
            z.replayed, z.error_code, z.error_detail) AS r
    CROSS JOIN LATERAL (SELECT z.t, z.a, z.k, coalesce(z.t IN ('DEPOSIT', 'WITHDRAW'), false) AS valid) AS x;
END
$$;
ALTER FUNCTION wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]) TO wallet_app;
COMMENT ON FUNCTION wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]) IS
'Applies up to 1000 operations to one wallet in one transaction, in array order; each element sees the effect of the ones before it.
Arguments: p_wallet_id; p_operation_types (DEPOSIT|WITHDRAW each); p_amounts (whole cents, > 0); p_idempotency_keys (NULL, or one key or NULL per element); p_ephemeral_keys (NULL, or one flag per element: true for a key the caller made up only to make its own retries safe, whose recorded refusal then expires after 10 minutes, see wallet.expire_refusals()).
Returns one row per element, in input order (ordinal = 1-based position). A failing element does not abort the others: its row has error_code (the SQLSTATE wallet.apply_operation would raise: WL001-WL007), error_detail, and balance_after = the balance it was checked against; nothing of it is written.
A key already used on this wallet (earlier, or earlier in this batch) with the same type and amount returns the original outcome with replayed = true: the entry, or the refusal; with another request it fails with WL005.
A keyed element refused for the wallet''s state (WL002 insufficient funds, WL006 balance limit) is recorded in wallet.refusals: that refusal is final for its key, so an attempt still in flight can never apply it later; try again with a new key. An element refused for its own content (WL003, WL004, WL007) leaves no trace.
Raises WL009 for a NULL wallet id, an empty or oversized batch, or arrays of unequal length.';
--rollback DROP FUNCTION wallet.apply_operations(uuid, text[], numeric[], text[], boolean[]);
