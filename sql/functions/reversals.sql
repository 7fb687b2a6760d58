--liquibase formatted sql

--changeset wallet:fn-reversals runOnChange:true splitStatements:false
-- Reversals: money moved back along an earlier transfer, all or part of it, as a new transfer posted by
-- wallet.post_transfers and linked to the original in wallet.reversals. Every wallet involved is locked
-- (in id order) before what is already reversed is read, so concurrent reversals of one transfer
-- serialise and never sum to more than it. Idempotent: a key is scoped to the wallet that pays back.

CREATE OR REPLACE FUNCTION wallet.reverse_transfer(
    p_wallet_id uuid,
    p_transfer_id uuid,
    p_amount numeric DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL
)
RETURNS SETOF wallet.reversal_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o wallet.operations;  -- the original's owning leg (its source's, or a deposit's wallet's)
    t wallet.transfer_result;
    v_from uuid;  -- the reversal's source (NULL: it is a deposit)
    v_to uuid;  -- its destination (NULL: it is a withdrawal)
    v_owner uuid;  -- the wallet that owns the reversal, and every other reversal of the original
    v_currency text;
    v_mu integer;
    v_reversed numeric;
    v_remaining numeric;
    v_amount numeric;
    v_replay boolean := false;
    v_prior_tid uuid;
    v_prior_amount numeric;
BEGIN
    -- The original (the ledger never changes: it may be read before the locks).
    IF p_wallet_id IS NULL THEN  -- psql/HTTP convenience: the transfer names its wallet
        SELECT * INTO o FROM wallet.operations AS x
        WHERE x.transfer_id = p_transfer_id AND x.operation_type <> 'TRANSFER_IN'
        LIMIT 1;
    ELSE
        SELECT * INTO o FROM wallet.operations AS x
        WHERE x.wallet_id = p_wallet_id AND x.transfer_id = p_transfer_id AND x.operation_type <> 'TRANSFER_IN';
    END IF;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL011', CASE WHEN p_wallet_id IS NULL
            THEN format('no transfer has id %s', coalesce(p_transfer_id::text, 'NULL'))
            ELSE format('wallet %s owns no transfer %s (the owner is its source, or the wallet of a deposit)', p_wallet_id,
                coalesce(p_transfer_id::text, 'NULL')) END);
    END IF;

    -- The way back: B->A for A->B, a withdrawal for a deposit, a deposit for a withdrawal.
    CASE o.operation_type
        WHEN 'TRANSFER_OUT' THEN
            v_from := o.counterparty_wallet_id;
            v_to := o.wallet_id;
        WHEN 'DEPOSIT' THEN
            v_from := o.wallet_id;
        ELSE
            v_to := o.wallet_id;
    END CASE;
    v_owner := coalesce(v_from, v_to);

    -- Every wallet involved, locked at once in id order; only then what is already reversed is read.
    PERFORM FROM wallet.wallets AS w
    WHERE w.id IN (o.wallet_id, o.counterparty_wallet_id)
    ORDER BY w.id
    FOR NO KEY UPDATE;
    SELECT w.currency, c.minor_units INTO v_currency, v_mu
    FROM wallet.wallets AS w
    JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE w.id = v_owner;

    IF p_idempotency_key IS NOT NULL AND length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM wallet.raise_error('WL007', format('an idempotency key is 1 to 255 characters long; this one has %s',
            length(p_idempotency_key)));
    END IF;
    IF p_amount IS NOT NULL AND (NOT (p_amount > 0 AND p_amount <= wallet.max_amount()) OR p_amount <> round(p_amount, v_mu)) THEN
        PERFORM wallet.raise_error('WL003', format('amount %s is not a positive number of whole minor units of %s (%s decimal places)',
            p_amount, v_currency, v_mu));
    END IF;

    SELECT coalesce(sum(r.amount), 0) INTO v_reversed
    FROM wallet.reversals AS r
    WHERE r.wallet_id = v_owner AND r.reverses = o.transfer_id;
    v_remaining := o.amount - v_reversed;

    -- The key (scoped to the paying-back wallet), before the amount is checked against what remains: the
    -- same reversal again replays, even once the original is fully reversed; any other use is WL005.
    -- (A refusal is never recorded for a reversal: reverse_transfer raises it, which undoes the record.)
    IF p_idempotency_key IS NOT NULL THEN
        SELECT x.transfer_id, x.amount INTO v_prior_tid, v_prior_amount
        FROM wallet.operations AS x
        WHERE x.wallet_id = v_owner AND x.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            IF NOT EXISTS (SELECT FROM wallet.reversals AS r
                           WHERE r.wallet_id = v_owner AND r.transfer_id = v_prior_tid AND r.reverses = o.transfer_id) THEN
                PERFORM wallet.raise_error('WL005', format('key %L was used on wallet %s for transfer %s, which is not a reversal of transfer %s',
                    p_idempotency_key, v_owner, v_prior_tid, o.transfer_id));
            END IF;
            v_replay := true;
            v_amount := coalesce(p_amount, v_prior_amount);
        ELSIF EXISTS (SELECT FROM wallet.refusals AS x WHERE x.wallet_id = v_owner AND x.idempotency_key = p_idempotency_key) THEN
            PERFORM wallet.raise_error('WL005', format('key %L was used on wallet %s by a refused request (wallet.refusals); this request reverses transfer %s',
                p_idempotency_key, v_owner, o.transfer_id));
        END IF;
    END IF;

    IF NOT v_replay THEN
        v_amount := coalesce(p_amount, v_remaining);
        IF v_remaining <= 0 OR v_amount > v_remaining THEN
            PERFORM wallet.raise_error('WL018', format('transfer %s: original %s %s, already reversed %s, requested %s; %s remains',
                o.transfer_id, round(o.amount, v_mu), v_currency, round(v_reversed, v_mu),
                coalesce(p_amount::text, 'the rest'), round(greatest(v_remaining, 0), v_mu)));
        END IF;
    END IF;

    -- The money moves as any transfer does (same checks, same ledger): the paying side needs the amount
    -- available (balance - held), or WL002.
    SELECT * INTO t FROM wallet.post_transfers(v_owner,
        ARRAY[ROW(v_from, v_to, v_amount, p_idempotency_key, false, p_metadata)::wallet.transfer_request]);
    IF t.error_code IS NOT NULL THEN
        PERFORM wallet.raise_error(t.error_code, t.error_detail);
    END IF;
    IF t.replayed THEN  -- never link a reversal to another request's money
        IF NOT EXISTS (SELECT FROM wallet.reversals AS r
                       WHERE r.wallet_id = v_owner AND r.transfer_id = t.transfer_id AND r.reverses = o.transfer_id) THEN
            PERFORM wallet.raise_error('WL005', format('key %L was used on wallet %s for transfer %s; this request reverses transfer %s',
                p_idempotency_key, v_owner, t.transfer_id, o.transfer_id));
        END IF;
    ELSE
        INSERT INTO wallet.reversals (wallet_id, transfer_id, reverses, amount, created_at)
        VALUES (v_owner, t.transfer_id, o.transfer_id, t.amount, t.created_at);
        v_reversed := v_reversed + t.amount;
    END IF;

    RETURN QUERY SELECT t.transfer_id, t.kind, t.from_wallet_id, t.to_wallet_id, t.amount, t.currency, t.metadata, t.created_at,
        o.transfer_id, round(v_reversed, v_mu), t.balance_after, t.replayed;
END
$$;
ALTER FUNCTION wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb) TO wallet_app;
COMMENT ON FUNCTION wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb) IS
'Reverses transfer p_transfer_id, all or part of it: moves the money back as a new transfer (B to A for a transfer from A to B; a withdrawal from A for a deposit into A; a deposit into A for a withdrawal from A), in the same currency, and links it to the original in wallet.reversals. A reversal is a transfer like any other (wallet.get_transfer shows it, with reverses = the original); it may itself be reversed.
p_wallet_id: the original''s owning wallet (its source, or the wallet of a deposit); NULL looks it up by the transfer id. p_amount: default what remains (the original''s amount minus its reversals so far). Every wallet involved is locked, in id order, before what remains is read, so concurrent reversals of one transfer never sum to more than it.
p_idempotency_key (optional, 1-255 characters) is scoped to the wallet that pays back (the original''s destination, or the wallet of a deposit or withdrawal): the same reversal again (same original, amount (NULL: the amount the first one reversed) and metadata) returns the original reversal with replayed = true, even once the original is fully reversed; the key used on that wallet by any other request raises WL005. p_metadata: a JSON object of at most 4096 bytes, stored on the reversal''s legs.
Returns one wallet.reversal_result: transfer_id (the reversal), kind (DEPOSIT, WITHDRAW or TRANSFER), from_wallet_id, to_wallet_id, amount, currency, metadata, created_at, reverses (the original''s id), original_reversed_amount (how much of the original is reversed in all, this one included), balance_after (the reversal''s owning wallet''s balance after it; for a replay, as it was then), replayed.
Raises WL011 no such transfer (or p_wallet_id does not own it), WL018 the amount exceeds what remains of the original (or nothing remains; the detail gives the original, already reversed and requested amounts), WL003 invalid amount (not positive, or finer than the currency''s minor units), WL002 the paying wallet lacks the money (its available balance: held money does not count), WL005 key reused, WL006 balance limit, WL007 invalid key, WL013 invalid metadata. A refusal is raised, so nothing of it is recorded: the same request may be retried.';
--rollback DROP FUNCTION wallet.reverse_transfer(uuid, uuid, numeric, text, jsonb);
