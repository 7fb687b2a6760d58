--liquibase formatted sql

--changeset wallet:fn-create-wallet runOnChange:true splitStatements:false
-- Creates a wallet and, for an initial balance, its first ledger entry, in one transaction.
-- Idempotent by key: the wallet id derives from the key, so a repeat finds the wallet it made and
-- returns it as it was created (the original result), not as it is now.
CREATE OR REPLACE FUNCTION wallet.create_wallet(
    p_initial_balance numeric DEFAULT 0,
    p_wallet_id uuid DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL
)
RETURNS TABLE (
    wallet_id uuid,
    balance numeric,
    version bigint,
    created_at timestamptz,
    updated_at timestamptz,
    replayed boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_max constant numeric := 999999999999999999.99;
    v_id uuid;
    v_digest bytea;
    v_now timestamptz := now();
    w wallet.wallets;
BEGIN
    IF p_initial_balance IS NULL OR NOT (p_initial_balance >= 0 AND p_initial_balance <= c_max)
        OR p_initial_balance <> round(p_initial_balance, 2) THEN
        PERFORM wallet.raise_error('WL003', format(
            'initial balance %s is not a number of whole cents from 0 to %s', coalesce(p_initial_balance::text, 'NULL'), c_max));
    END IF;
    IF length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM wallet.raise_error('WL007', format(
            'an idempotency key is 1 to 255 characters long; this one has %s', length(p_idempotency_key)));
    END IF;

    IF p_wallet_id IS NOT NULL THEN
        v_id := p_wallet_id;
    ELSIF p_idempotency_key IS NOT NULL THEN
        -- A name-based (version 3, MD5) UUID of the key: the same key always names the same wallet.
        v_digest := decode(md5('wallet.create_wallet:' || p_idempotency_key), 'hex');
        v_digest := set_byte(v_digest, 6, (get_byte(v_digest, 6) & 15) | 48);
        v_digest := set_byte(v_digest, 8, (get_byte(v_digest, 8) & 63) | 128);
        v_id := encode(v_digest, 'hex')::uuid;
    ELSE
        v_id := gen_random_uuid();
    END IF;

    -- ON CONFLICT waits for a concurrent creator of the same id to finish, then finds its wallet.
    INSERT INTO wallet.wallets AS t (id, balance, version, initial_balance, creation_key, created_at, updated_at)
    VALUES (v_id, p_initial_balance, CASE WHEN p_initial_balance > 0 THEN 1 ELSE 0 END, p_initial_balance,
        p_idempotency_key, v_now, v_now)
    ON CONFLICT (id) DO NOTHING
    RETURNING t.* INTO w;

    IF FOUND THEN
        IF p_initial_balance > 0 THEN
            INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at)
            VALUES (v_id, 1, gen_random_uuid(), 'DEPOSIT', p_initial_balance, p_initial_balance, NULL, v_now);
        END IF;
        RETURN QUERY SELECT w.id, w.balance, w.version, w.created_at, w.updated_at, false;
        RETURN;
    END IF;

    SELECT * INTO w FROM wallet.wallets AS t WHERE t.id = v_id;
    IF p_idempotency_key IS NULL OR w.creation_key IS DISTINCT FROM p_idempotency_key THEN
        PERFORM wallet.raise_error('WL008', format('a wallet with id %s exists already', v_id));
    END IF;
    IF w.initial_balance <> p_initial_balance THEN
        PERFORM wallet.raise_error('WL005', format(
            'key %L created wallet %s with initial balance %s; this request asks for %s',
            p_idempotency_key, v_id, w.initial_balance, p_initial_balance));
    END IF;
    -- The original result: the wallet as this key created it (its first entry, if any, is its version 1).
    RETURN QUERY SELECT w.id, w.initial_balance, CASE WHEN w.initial_balance > 0 THEN 1::bigint ELSE 0::bigint END,
        w.created_at, w.created_at, true;
END
$$;
ALTER FUNCTION wallet.create_wallet(numeric, uuid, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.create_wallet(numeric, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.create_wallet(numeric, uuid, text) TO wallet_app;
COMMENT ON FUNCTION wallet.create_wallet(numeric, uuid, text) IS
'Creates a wallet and returns it. p_initial_balance (default 0, whole cents, 0 to 999999999999999999.99) becomes its first ledger entry (a DEPOSIT) when > 0.
p_wallet_id: the id to use (default: generated). p_idempotency_key (optional, 1-255 characters): with no p_wallet_id the id is derived from the key (a version-3 UUID of it), so repeating the call returns the original result (the wallet as it was created: its initial balance and version, replayed = true) instead of a second wallet; the same key with another initial balance raises WL005.
Raises WL003 invalid initial balance, WL007 invalid key, WL008 the wallet id exists already (not created by this key).';
--rollback DROP FUNCTION wallet.create_wallet(numeric, uuid, text);
