--liquibase formatted sql

--changeset wallet:fn-create-wallet runOnChange:true splitStatements:false
-- Creates a wallet and, for an initial balance, its first ledger entry, in one transaction.
-- Idempotent by key: the wallet id derives from the key, so a repeat finds the wallet it made and
-- returns it as it was created (the original result), not as it is now.
-- 1.1.0 added p_currency (last, with a default) and the result's currency: the old signature is dropped.
DROP FUNCTION IF EXISTS wallet.create_wallet(numeric, uuid, text);
CREATE OR REPLACE FUNCTION wallet.create_wallet(
    p_initial_balance numeric DEFAULT 0,
    p_wallet_id uuid DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL,
    p_currency text DEFAULT 'USD'
)
RETURNS TABLE (
    wallet_id uuid,
    balance numeric,
    version bigint,
    created_at timestamptz,
    updated_at timestamptz,
    replayed boolean,
    currency text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_limit constant numeric := 1000000000000000000;
    v_mu integer;
    v_id uuid;
    v_digest bytea;
    v_now timestamptz := now();
    w wallet.wallets;
BEGIN
    SELECT c.minor_units INTO v_mu FROM wallet.currencies AS c WHERE c.code = p_currency;
    IF v_mu IS NULL THEN
        PERFORM wallet.raise_error('WL015', format('%s is not a currency of wallet.currencies',
            coalesce(quote_literal(p_currency), 'NULL')));
    END IF;
    IF p_initial_balance IS NULL OR NOT (p_initial_balance >= 0 AND p_initial_balance < c_limit)
        OR p_initial_balance <> round(p_initial_balance, v_mu) THEN
        PERFORM wallet.raise_error('WL003', format(
            'initial balance %s is not a number of whole %s from 0 to %s', coalesce(p_initial_balance::text, 'NULL'),
            CASE v_mu WHEN 2 THEN 'cents' WHEN 0 THEN format('units of %s', p_currency) ELSE format('%s minor units (%s decimal places)', p_currency, v_mu) END,
            round(c_limit - power(10::numeric, -v_mu), v_mu)));
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
    INSERT INTO wallet.wallets AS t (id, balance, version, initial_balance, creation_key, created_at, updated_at, currency)
    VALUES (v_id, p_initial_balance, CASE WHEN p_initial_balance > 0 THEN 1 ELSE 0 END, p_initial_balance,
        p_idempotency_key, v_now, v_now, p_currency)
    ON CONFLICT (id) DO NOTHING
    RETURNING t.* INTO w;

    IF FOUND THEN
        IF p_initial_balance > 0 THEN  -- the opening balance: a deposit, a transfer from the outside world
            INSERT INTO wallet.operations (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key,
                created_at, transfer_id)
            SELECT v_id, 1, x.id, 'DEPOSIT', p_initial_balance, p_initial_balance, NULL, v_now, x.id
            FROM unnest(wallet.time_ordered_ids(1)) AS x (id);  -- its one leg has the transfer's id
        END IF;
        RETURN QUERY SELECT w.id, round(w.balance, v_mu), w.version, w.created_at, w.updated_at, false, w.currency;
        RETURN;
    END IF;

    SELECT * INTO w FROM wallet.wallets AS t WHERE t.id = v_id;
    IF p_idempotency_key IS NULL OR w.creation_key IS DISTINCT FROM p_idempotency_key THEN
        PERFORM wallet.raise_error('WL008', format('a wallet with id %s exists already', v_id));
    END IF;
    IF w.initial_balance <> p_initial_balance OR w.currency <> p_currency THEN
        PERFORM wallet.raise_error('WL005', format(
            'key %L created wallet %s with initial balance %s %s; this request asks for %s %s',
            p_idempotency_key, v_id, round(w.initial_balance, v_mu), w.currency, p_initial_balance, p_currency));
    END IF;
    -- The original result: the wallet as this key created it (its first entry, if any, is its version 1).
    RETURN QUERY SELECT w.id, round(w.initial_balance, v_mu),
        CASE WHEN w.initial_balance > 0 THEN 1::bigint ELSE 0::bigint END, w.created_at, w.created_at, true, w.currency;
END
$$;
ALTER FUNCTION wallet.create_wallet(numeric, uuid, text, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.create_wallet(numeric, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.create_wallet(numeric, uuid, text, text) TO wallet_app;
COMMENT ON FUNCTION wallet.create_wallet(numeric, uuid, text, text) IS
'Creates a wallet and returns it. p_initial_balance (default 0, whole minor units of the currency, below 10^18) becomes its first ledger entry (a DEPOSIT, a transfer from the outside world) when > 0. p_currency: an ISO 4217 code of wallet.currencies (default USD); every amount of the wallet is in it.
p_wallet_id: the id to use (default: generated). p_idempotency_key (optional, 1-255 characters): with no p_wallet_id the id is derived from the key (a version-3 UUID of it), so repeating the call returns the original result (the wallet as it was created: its initial balance and version, replayed = true) instead of a second wallet; the same key with another initial balance or currency raises WL005.
Raises WL003 invalid initial balance, WL007 invalid key, WL008 the wallet id exists already (not created by this key), WL015 unknown currency.';
--rollback DROP FUNCTION wallet.create_wallet(numeric, uuid, text, text);
