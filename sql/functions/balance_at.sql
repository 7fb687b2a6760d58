--liquibase formatted sql

--changeset wallet:fn-balance-at runOnChange:true splitStatements:false
-- A wallet's balance at a moment: the balance_after of its latest ledger entry at or before it (one
-- probe of the index operations_wallet_time). Read-only, no lock: the ledger never changes.
CREATE OR REPLACE FUNCTION wallet.balance_at(p_wallet_id uuid, p_at timestamptz DEFAULT NULL)
RETURNS TABLE (
    wallet_id uuid,
    currency text,
    at timestamptz,
    balance numeric,
    available_balance numeric,
    seq bigint
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    w wallet.wallets;
    v_at timestamptz := coalesce(p_at, now());
    v_mu integer;
    v_seq bigint := 0;
    v_balance numeric := 0;
BEGIN
    SELECT * INTO w FROM wallet.wallets AS x WHERE x.id = p_wallet_id;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL001', format('no wallet has id %s', coalesce(p_wallet_id::text, 'NULL')));
    END IF;
    IF v_at < w.created_at THEN
        PERFORM wallet.raise_error('WL001', format('wallet %s did not exist yet at %s (see its created_at)', p_wallet_id,
            v_at));
    END IF;
    IF v_at > now() THEN
        PERFORM wallet.raise_error('WL009', format('%s is in the future (the database''s time is %s)', v_at, now()));
    END IF;
    SELECT c.minor_units INTO v_mu FROM wallet.currencies AS c WHERE c.code = w.currency;
    SELECT o.seq, o.balance_after INTO v_seq, v_balance
    FROM wallet.operations AS o
    WHERE o.wallet_id = p_wallet_id AND o.created_at <= v_at
    ORDER BY o.created_at DESC, o.seq DESC
    LIMIT 1;
    IF NOT FOUND THEN  -- an empty wallet, or none of its entries yet
        v_seq := 0;
        v_balance := 0;
    END IF;
    RETURN QUERY SELECT w.id, w.currency, v_at, round(v_balance, v_mu),
        CASE WHEN p_at IS NULL THEN round(w.balance - w.held + wallet.due_held(w.id, w.held), v_mu) END, v_seq;
END
$$;
ALTER FUNCTION wallet.balance_at(uuid, timestamptz) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.balance_at(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.balance_at(uuid, timestamptz) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.balance_at(uuid, timestamptz) IS
'The wallet''s balance at p_at (default: now): the balance_after of its latest ledger entry at or before that moment, and that entry''s seq (0 and a balance of 0 before its first entry). One index probe (operations_wallet_time), whatever the ledger''s length. available_balance (balance minus active holds) only for now (p_at NULL): holds are not kept as a history. Raises WL001 if there is no such wallet or it did not exist yet at p_at, WL009 if p_at is in the future.';
--rollback DROP FUNCTION wallet.balance_at(uuid, timestamptz);
