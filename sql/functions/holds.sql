--liquibase formatted sql

--changeset wallet:fn-holds runOnChange:true splitStatements:false
-- Holds: money reserved on a wallet and taken later (captured: all or part, as a withdrawal or as a
-- transfer), given back (voided), or given back by time (expired). A hold moves no balance: it raises
-- wallets.held, and what a wallet may spend is its available balance, balance - held (post_transfers
-- checks withdrawals and transfers out against it). Every function here locks the wallet row
-- (FOR NO KEY UPDATE) before it reads or changes a hold of it, so a hold is captured at most once,
-- never after it expired or was voided, and held stays the sum of the wallet's active holds
-- (wallet.verify_ledger checks it).

CREATE OR REPLACE FUNCTION wallet.expire_due_holds(p_wallet_id uuid, OUT released numeric, OUT expired integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH x AS (
        UPDATE wallet.holds AS h
        SET status = 'expired', closed_at = now()
        WHERE h.wallet_id = p_wallet_id AND h.status = 'active' AND h.expires_at <= now()
        RETURNING h.amount
    )
    SELECT coalesce(sum(x.amount), 0), count(*) INTO released, expired FROM x;
    IF released > 0 THEN
        UPDATE wallet.wallets AS w SET held = w.held - released, updated_at = greatest(w.updated_at, now()) WHERE w.id = p_wallet_id;
    END IF;
END
$$;
ALTER FUNCTION wallet.expire_due_holds(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.expire_due_holds(uuid) FROM PUBLIC;
COMMENT ON FUNCTION wallet.expire_due_holds(uuid) IS
'Internal: marks the active holds of a wallet whose expires_at has passed as expired (closed_at = the moment it was done) and lowers the wallet''s held amount. The caller has locked the wallet. Returns the amount released and how many holds expired.';

CREATE OR REPLACE FUNCTION wallet.due_held(p_wallet_id uuid, p_held numeric)
RETURNS numeric
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_held = 0 THEN  -- no active holds: nothing to look up (the common case)
        RETURN 0;
    END IF;
    RETURN (SELECT coalesce(sum(h.amount), 0) FROM wallet.holds AS h
            WHERE h.wallet_id = p_wallet_id AND h.status = 'active' AND h.expires_at <= now());
END
$$;
ALTER FUNCTION wallet.due_held(uuid, numeric) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.due_held(uuid, numeric) FROM PUBLIC;
COMMENT ON FUNCTION wallet.due_held(uuid, numeric) IS
'Internal: the amount of the wallet''s active holds whose expires_at has passed but whose expiry is not recorded yet (p_held: the wallet''s held; 0 skips the lookup). Readers add it back: a hold stops counting at its expires_at.';

CREATE OR REPLACE FUNCTION wallet.hold_view(p_wallet_id uuid, p_hold_id uuid, p_replayed boolean)
RETURNS SETOF wallet.hold_result
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.id, h.wallet_id, round(h.amount, c.minor_units), w.currency,
        CASE WHEN h.status = 'active' AND h.expires_at <= now() THEN 'expired' ELSE h.status END,
        round(h.captured_amount, c.minor_units), h.capture_transfer_id, h.capture_to_wallet_id, h.expires_at, h.created_at,
        h.closed_at, h.metadata, round(w.balance - w.held + wallet.due_held(w.id, w.held), c.minor_units), p_replayed
    FROM wallet.holds AS h
    JOIN wallet.wallets AS w ON w.id = h.wallet_id
    JOIN wallet.currencies AS c ON c.code = w.currency
    WHERE h.wallet_id = p_wallet_id AND h.id = p_hold_id
$$;
ALTER FUNCTION wallet.hold_view(uuid, uuid, boolean) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.hold_view(uuid, uuid, boolean) FROM PUBLIC;
COMMENT ON FUNCTION wallet.hold_view(uuid, uuid, boolean) IS
'Internal: a hold as the hold functions return it (amounts in its currency''s minor units, with its wallet''s available balance). A hold past its expires_at is expired whether or not its expiry has been recorded yet (closed_at is set when it is).';

CREATE OR REPLACE FUNCTION wallet.create_holds(p_wallet_id uuid, p_requests wallet.hold_request[])
RETURNS SETOF wallet.hold_outcome
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_batch constant integer := 1000;
    c_max_seconds constant integer := 2592000;  -- 30 days
    c_metadata_bytes constant integer := 4096;
    v_n integer := coalesce(cardinality(p_requests), 0);
    v_now timestamptz := now();
    w wallet.wallets;
    v_mu integer;
    r wallet.hold_request;
    res wallet.hold_outcome;
    earlier wallet.hold_outcome;
    results wallet.hold_outcome[] := '{}';
    h wallet.holds;
    priors wallet.holds[] := '{}';  -- the wallet's holds made with a key of this batch
    prior_keys text[] := '{}';
    used_keys text[] := '{}';  -- keys of this batch the wallet's movements or refusals used
    v_keys text[] := '{}';
    v_client_keys text[] := '{}';
    batch_keys text[] := '{}';  -- keys of this batch's holds so far, and their positions
    batch_pos integer[] := '{}';
    v_ids uuid[];
    v_new boolean := false;
    i integer;
    j integer;
BEGIN
    IF p_wallet_id IS NULL THEN
        PERFORM wallet.raise_error('WL009', 'p_wallet_id is NULL');
    END IF;
    IF v_n NOT BETWEEN 1 AND c_max_batch OR array_ndims(p_requests) <> 1 THEN
        PERFORM wallet.raise_error('WL009', format('a batch has 1 to %s requests in a one-dimensional array; got %s',
            c_max_batch, v_n));
    END IF;
    SELECT * INTO w FROM wallet.wallets AS x WHERE x.id = p_wallet_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT g.i, NULL::uuid, p_wallet_id, NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::uuid,
            NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::jsonb, NULL::numeric, false, 'WL001',
            format('no wallet has id %s', p_wallet_id)
        FROM generate_series(1, v_n) AS g (i);
        RETURN;
    END IF;
    SELECT c.minor_units INTO v_mu FROM wallet.currencies AS c WHERE c.code = w.currency;
    -- What has expired gives its money back first.
    IF w.held > 0 THEN
        w.held := w.held - (wallet.expire_due_holds(p_wallet_id)).released;
    END IF;

    -- The keys: a hold made with one before is replayed; a key the wallet's movements or refusals used is
    -- another request's. One probe of a unique index per key (LIMIT 1 keeps each a probe, never a scan of
    -- a hot wallet's ledger); a key the caller made up for its own retries (ephemeral) is new to all but
    -- its own earlier attempt, so only the holds are probed for it.
    FOREACH r IN ARRAY p_requests LOOP
        IF r.idempotency_key IS NOT NULL THEN
            v_keys := array_append(v_keys, r.idempotency_key);
            IF NOT coalesce(r.ephemeral_key, false) THEN
                v_client_keys := array_append(v_client_keys, r.idempotency_key);
            END IF;
        END IF;
    END LOOP;
    IF cardinality(v_keys) > 0 THEN
        SELECT coalesce(array_agg(x), '{}'), coalesce(array_agg(x.idempotency_key), '{}') INTO priors, prior_keys
        FROM unnest(v_keys) AS q (key)
        CROSS JOIN LATERAL (SELECT * FROM wallet.holds AS y
                            WHERE y.wallet_id = p_wallet_id AND y.idempotency_key = q.key LIMIT 1) AS x;
    END IF;
    IF cardinality(v_client_keys) > 0 THEN
        SELECT coalesce(array_agg(q.key), '{}') INTO used_keys
        FROM unnest(v_client_keys) AS q (key)
        WHERE EXISTS (SELECT FROM wallet.operations AS o WHERE o.wallet_id = p_wallet_id AND o.idempotency_key = q.key)
            OR EXISTS (SELECT FROM wallet.refusals AS f WHERE f.wallet_id = p_wallet_id AND f.idempotency_key = q.key);
    END IF;

    -- One id per request (those that make a hold use theirs): wallet.time_ordered_ids(v_n), inline.
    v_ids := ARRAY(
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING t.ms FROM 1 FOR 6), 52, 1), 53, 1),
            'hex')::uuid
        FROM (SELECT substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) AS ms) AS t
        CROSS JOIN generate_series(1, v_n));
    i := 0;
    FOREACH r IN ARRAY p_requests LOOP
        i := i + 1;
        res := ROW(i, NULL, p_wallet_id, r.amount, w.currency, NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.metadata,
            round(w.balance - w.held, v_mu), false, NULL, NULL)::wallet.hold_outcome;
        IF r.idempotency_key IS NOT NULL AND length(r.idempotency_key) NOT BETWEEN 1 AND 255 THEN
            res.error_code := 'WL007';
            res.error_detail := format('an idempotency key is 1 to 255 characters long; this one has %s',
                length(r.idempotency_key));
        ELSIF r.metadata IS NOT NULL AND (jsonb_typeof(r.metadata) <> 'object' OR octet_length(r.metadata::text) > c_metadata_bytes) THEN
            res.error_code := 'WL013';
            res.error_detail := format('metadata is a JSON object of at most %s bytes; this is %s of %s bytes',
                c_metadata_bytes, jsonb_typeof(r.metadata), octet_length(r.metadata::text));
        ELSIF r.amount IS NULL OR NOT (r.amount > 0 AND r.amount <= wallet.max_amount()) OR r.amount <> round(r.amount, v_mu) THEN
            res.error_code := 'WL003';
            res.error_detail := format('amount %s is not a positive number of whole minor units of %s (%s decimal places)',
                coalesce(r.amount::text, 'NULL'), w.currency, v_mu);
        ELSIF r.expires_in_seconds IS NULL OR r.expires_in_seconds NOT BETWEEN 1 AND c_max_seconds THEN
            res.error_code := 'WL009';
            res.error_detail := format('a hold expires in 1 to %s seconds; got %s', c_max_seconds,
                coalesce(r.expires_in_seconds::text, 'NULL'));
        ELSIF r.idempotency_key IS NOT NULL THEN
            -- The same request again (amount, metadata, duration) replays its hold; anything else with the key is refused.
            j := array_position(prior_keys, r.idempotency_key);
            IF j IS NOT NULL THEN
                h := priors[j];
                IF h.amount = r.amount AND h.metadata IS NOT DISTINCT FROM r.metadata
                    AND h.expires_at - h.created_at = make_interval(secs => r.expires_in_seconds) THEN
                    res := ROW(i, h.id, p_wallet_id, round(h.amount, v_mu), w.currency, h.status, round(h.captured_amount, v_mu),
                        h.capture_transfer_id, h.capture_to_wallet_id, h.expires_at, h.created_at, h.closed_at, h.metadata,
                        round(w.balance - w.held, v_mu), true, NULL, NULL)::wallet.hold_outcome;
                ELSE
                    res.error_code := 'WL005';
                    res.error_detail := format('key %L made hold %s of %s on wallet %s; this request holds %s for %s s',
                        r.idempotency_key, h.id, round(h.amount, v_mu), p_wallet_id, r.amount, r.expires_in_seconds);
                END IF;
                results[i] := res;
                CONTINUE;
            END IF;
            j := array_position(batch_keys, r.idempotency_key);
            IF j IS NOT NULL THEN
                earlier := results[batch_pos[j]];
                IF earlier.amount = r.amount AND earlier.metadata IS NOT DISTINCT FROM r.metadata
                    AND earlier.expires_at - earlier.created_at = make_interval(secs => r.expires_in_seconds) THEN
                    res := earlier;
                    res.ordinal := i;
                    res.replayed := true;
                    res.available_balance := round(w.balance - w.held, v_mu);
                ELSE
                    res.error_code := 'WL005';
                    res.error_detail := format('key %L made hold %s of %s on wallet %s; this request holds %s for %s s',
                        r.idempotency_key, earlier.hold_id, earlier.amount, p_wallet_id, r.amount, r.expires_in_seconds);
                END IF;
                results[i] := res;
                CONTINUE;
            END IF;
            IF r.idempotency_key = ANY (used_keys) THEN
                res.error_code := 'WL005';
                res.error_detail := format('key %L was used on wallet %s by another request (see its ledger); this request holds %s',
                    r.idempotency_key, p_wallet_id, r.amount);
            END IF;
        END IF;
        IF res.error_code IS NULL AND r.amount > w.balance - w.held THEN
            res.error_code := 'WL002';
            res.error_detail := format('wallet %s has %s, of which %s is available; holding %s needs %s more',
                p_wallet_id, round(w.balance, v_mu), round(w.balance - w.held, v_mu), r.amount,
                round(r.amount - (w.balance - w.held), v_mu));
        END IF;
        IF res.error_code IS NULL THEN
            w.held := w.held + r.amount;
            res.hold_id := v_ids[i];
            res.amount := round(r.amount, v_mu);
            res.status := 'active';
            res.expires_at := v_now + make_interval(secs => r.expires_in_seconds);
            res.created_at := v_now;
            res.available_balance := round(w.balance - w.held, v_mu);
            v_new := true;
            IF r.idempotency_key IS NOT NULL THEN
                batch_keys := array_append(batch_keys, r.idempotency_key);
                batch_pos := array_append(batch_pos, i);
            END IF;
        END IF;
        results[i] := res;
    END LOOP;

    IF v_new THEN
        INSERT INTO wallet.holds (wallet_id, id, amount, status, expires_at, created_at, idempotency_key, metadata)
        SELECT p_wallet_id, z.hold_id, z.amount, 'active', z.expires_at, z.created_at, z.idempotency_key, z.metadata
        FROM ROWS FROM (unnest(results), unnest(p_requests)) AS z (ordinal, hold_id, wallet_id, amount, currency, status,
            captured_amount, capture_transfer_id, capture_to_wallet_id, expires_at, created_at, closed_at, metadata,
            available_balance, replayed, error_code, error_detail, r_amount, r_expires_in_seconds, idempotency_key,
            ephemeral_key, r_metadata)
        WHERE z.hold_id IS NOT NULL AND NOT z.replayed;
        UPDATE wallet.wallets AS x SET held = w.held, updated_at = greatest(x.updated_at, v_now) WHERE x.id = p_wallet_id;
    END IF;
    RETURN QUERY SELECT * FROM unnest(results);
END
$$;
ALTER FUNCTION wallet.create_holds(uuid, wallet.hold_request[]) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.create_holds(uuid, wallet.hold_request[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.create_holds(uuid, wallet.hold_request[]) TO wallet_app;
COMMENT ON FUNCTION wallet.create_holds(uuid, wallet.hold_request[]) IS
'Places up to 1000 holds (wallet.hold_request) on one wallet in one transaction, in array order, each checked against the available balance the ones before it left (the API batches a hot wallet''s holds into one call). The wallet is locked once; its due holds expire first.
Returns one wallet.hold_outcome per request, in input order: the hold (available_balance: the wallet''s right after it), or error_code and error_detail (nothing of it written): WL001 unknown wallet, WL002 insufficient available funds, WL003 invalid amount, WL005 key reused, WL007 invalid key, WL009 expiry out of range, WL013 invalid metadata. A key (scoped to the wallet) that made a hold replays it for the same request (amount, metadata, duration; replayed = true, the hold as it is now); any other request with it, or a key the wallet''s movements used, gets WL005. A refused hold is not recorded: its key stays free. ephemeral_key marks a key the caller made up for its own retries (it is looked up among the holds only).
Raises WL009 for a NULL p_wallet_id or an empty or oversized batch.';

CREATE OR REPLACE FUNCTION wallet.create_hold(
    p_wallet_id uuid,
    p_amount numeric,
    p_expires_in_seconds integer DEFAULT 3600,
    p_idempotency_key text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL
)
RETURNS SETOF wallet.hold_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o wallet.hold_outcome;
BEGIN
    SELECT * INTO o FROM wallet.create_holds(p_wallet_id,
        ARRAY[ROW(p_amount, p_expires_in_seconds, p_idempotency_key, false, p_metadata)::wallet.hold_request]);
    IF o.error_code IS NOT NULL THEN
        PERFORM wallet.raise_error(o.error_code, o.error_detail);
    END IF;
    RETURN QUERY SELECT o.hold_id, o.wallet_id, o.amount, o.currency, o.status, o.captured_amount, o.capture_transfer_id,
        o.capture_to_wallet_id, o.expires_at, o.created_at, o.closed_at, o.metadata, o.available_balance, o.replayed;
END
$$;
ALTER FUNCTION wallet.create_hold(uuid, numeric, integer, text, jsonb) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.create_hold(uuid, numeric, integer, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.create_hold(uuid, numeric, integer, text, jsonb) TO wallet_app;
COMMENT ON FUNCTION wallet.create_hold(uuid, numeric, integer, text, jsonb) IS
'Reserves p_amount of the wallet''s available balance (balance - held) for p_expires_in_seconds (1 to 2592000, default 3600) and returns the hold (status active). Nothing moves: capture it (wallet.capture_hold), void it (wallet.void_hold), or let it expire. One element of wallet.create_holds, whose refusal is raised.
p_idempotency_key (optional, scoped to the wallet): the same request returns the original hold (replayed = true); another request with it raises WL005. p_metadata: a JSON object of at most 4096 bytes.
Raises WL001 unknown wallet, WL002 insufficient available funds (the detail gives the balance and the available balance), WL003 invalid amount, WL005 key reused, WL007 invalid key, WL009 NULL wallet or expiry out of range, WL013 invalid metadata.';

CREATE OR REPLACE FUNCTION wallet.get_hold(p_hold_id uuid)
RETURNS SETOF wallet.hold_result
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wallet uuid;
BEGIN
    SELECT h.wallet_id INTO v_wallet FROM wallet.holds AS h WHERE h.id = p_hold_id;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL016', format('no hold has id %s', coalesce(p_hold_id::text, 'NULL')));
    END IF;
    RETURN QUERY SELECT * FROM wallet.hold_view(v_wallet, p_hold_id, false);
END
$$;
ALTER FUNCTION wallet.get_hold(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.get_hold(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.get_hold(uuid) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.get_hold(uuid) IS
'Returns a hold by its id: status (active, captured, voided, expired), amount, captured_amount and the capture''s transfer, expires_at, closed_at (when it stopped being active), metadata, and its wallet''s available balance. An active hold past its expires_at shows as active until its wallet is next locked or wallet.expire_holds runs; it can no longer be captured. Raises WL016 if there is no such hold.';

-- Locks a hold's wallet (and, for a capture to another wallet, that one too, in id order) and the hold;
-- expires what is due. Returns the hold, or raises WL016.
CREATE OR REPLACE FUNCTION wallet.lock_hold(p_wallet_id uuid, p_hold_id uuid, p_other_wallet_id uuid)
RETURNS wallet.holds
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h wallet.holds;
    v_wallet uuid := p_wallet_id;
BEGIN
    IF v_wallet IS NULL THEN  -- psql convenience: the hold names its wallet
        SELECT x.wallet_id INTO v_wallet FROM wallet.holds AS x WHERE x.id = p_hold_id;
    END IF;
    PERFORM FROM wallet.wallets AS w
    WHERE w.id IN (v_wallet, p_other_wallet_id)
    ORDER BY w.id
    FOR NO KEY UPDATE;
    SELECT * INTO h FROM wallet.holds AS x WHERE x.wallet_id = v_wallet AND x.id = p_hold_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM wallet.raise_error('WL016', format('wallet %s has no hold %s', coalesce(v_wallet::text, '(none)'),
            coalesce(p_hold_id::text, 'NULL')));
    END IF;
    IF h.status = 'active' AND h.expires_at <= now() THEN
        PERFORM wallet.expire_due_holds(v_wallet);
        SELECT * INTO h FROM wallet.holds AS x WHERE x.wallet_id = v_wallet AND x.id = p_hold_id;
    END IF;
    RETURN h;
END
$$;
ALTER FUNCTION wallet.lock_hold(uuid, uuid, uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.lock_hold(uuid, uuid, uuid) FROM PUBLIC;
COMMENT ON FUNCTION wallet.lock_hold(uuid, uuid, uuid) IS
'Internal: locks the hold''s wallet and p_other_wallet_id (in id order) and the hold, expires the wallet''s due holds, and returns the hold; raises WL016 if the wallet has no such hold.';

-- WL017, whose detail says what became of the hold.
CREATE OR REPLACE FUNCTION wallet.raise_hold_not_active(h wallet.holds)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM wallet.raise_error('WL017', format('hold %s is %s%s', h.id, h.status,
        CASE h.status WHEN 'captured' THEN format(' (%s, transfer %s)',
                (SELECT round(h.captured_amount, c.minor_units) FROM wallet.wallets AS w
                 JOIN wallet.currencies AS c ON c.code = w.currency WHERE w.id = h.wallet_id),
                h.capture_transfer_id)
            WHEN 'expired' THEN format(' (it expired at %s)', h.expires_at) ELSE '' END));
END
$$;
ALTER FUNCTION wallet.raise_hold_not_active(wallet.holds) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.raise_hold_not_active(wallet.holds) FROM PUBLIC;
COMMENT ON FUNCTION wallet.raise_hold_not_active(wallet.holds) IS
'Internal: raises WL017 for a hold that is no longer active; the detail says its status (and for a capture, what it took).';

CREATE OR REPLACE FUNCTION wallet.capture_hold(
    p_wallet_id uuid,
    p_hold_id uuid,
    p_amount numeric DEFAULT NULL,
    p_to_wallet_id uuid DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL
)
RETURNS SETOF wallet.hold_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h wallet.holds;
    t wallet.transfer_result;
    v_amount numeric;
BEGIN
    h := wallet.lock_hold(p_wallet_id, p_hold_id, p_to_wallet_id);
    v_amount := coalesce(p_amount, h.amount);
    IF h.status <> 'active' THEN
        -- The same capture again (its key, amount and destination): the original answer.
        IF h.status = 'captured' AND p_idempotency_key IS NOT NULL AND h.close_key = p_idempotency_key
            AND h.captured_amount = v_amount AND h.capture_to_wallet_id IS NOT DISTINCT FROM p_to_wallet_id THEN
            RETURN QUERY SELECT * FROM wallet.hold_view(h.wallet_id, h.id, true);
            RETURN;
        END IF;
        PERFORM wallet.raise_hold_not_active(h);
    END IF;
    IF v_amount > h.amount THEN
        PERFORM wallet.raise_error('WL003', format('a capture takes at most the hold''s %s; got %s', h.amount, v_amount));
    END IF;

    -- Release the hold, then move the money as any withdrawal or transfer (same checks, same ledger).
    UPDATE wallet.wallets AS w SET held = w.held - h.amount WHERE w.id = h.wallet_id;
    SELECT * INTO t FROM wallet.post_transfers(h.wallet_id, ARRAY[ROW(h.wallet_id, p_to_wallet_id, v_amount, p_idempotency_key,
        false, coalesce(p_metadata, h.metadata))::wallet.transfer_request]);
    IF t.error_code IS NOT NULL THEN
        PERFORM wallet.raise_error(t.error_code, t.error_detail);
    END IF;
    IF t.replayed THEN  -- the key already moved money for another request: never link the hold to it
        PERFORM wallet.raise_error('WL005', format('key %L was used on wallet %s for transfer %s; this request captures hold %s',
            p_idempotency_key, h.wallet_id, t.transfer_id, h.id));
    END IF;
    UPDATE wallet.holds AS x
    SET status = 'captured', closed_at = now(), close_key = p_idempotency_key, captured_amount = v_amount,
        capture_transfer_id = t.transfer_id, capture_to_wallet_id = p_to_wallet_id
    WHERE x.wallet_id = h.wallet_id AND x.id = h.id;
    RETURN QUERY SELECT * FROM wallet.hold_view(h.wallet_id, h.id, false);
END
$$;
ALTER FUNCTION wallet.capture_hold(uuid, uuid, numeric, uuid, text, jsonb) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.capture_hold(uuid, uuid, numeric, uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.capture_hold(uuid, uuid, numeric, uuid, text, jsonb) TO wallet_app;
COMMENT ON FUNCTION wallet.capture_hold(uuid, uuid, numeric, uuid, text, jsonb) IS
'Captures an active hold of p_wallet_id (NULL: the hold''s own wallet): takes p_amount (default all of it, at most all of it) out of the wallet as a withdrawal, or as a transfer to p_to_wallet_id (same currency), and releases the rest of the hold at once. A hold is captured at most once. Returns the hold (status captured, captured_amount, capture_transfer_id: the transfer that moved the money).
p_idempotency_key (optional, scoped to the wallet) is the key of the money''s transfer: the same capture again returns the original (replayed = true). p_metadata goes on the transfer (default: the hold''s).
Raises WL016 no such hold, WL017 the hold is captured, voided or expired (the detail says which), WL003 more than the hold, and what the transfer raises (WL001 unknown destination, WL005 key reused, WL012 currency mismatch, WL014 same wallet, ...).';

CREATE OR REPLACE FUNCTION wallet.void_hold(p_wallet_id uuid, p_hold_id uuid, p_idempotency_key text DEFAULT NULL)
RETURNS SETOF wallet.hold_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h wallet.holds;
BEGIN
    IF p_idempotency_key IS NOT NULL AND length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM wallet.raise_error('WL007', format('an idempotency key is 1 to 255 characters long; this one has %s',
            length(p_idempotency_key)));
    END IF;
    h := wallet.lock_hold(p_wallet_id, p_hold_id, NULL);
    IF h.status <> 'active' THEN
        IF h.status = 'voided' AND p_idempotency_key IS NOT NULL AND h.close_key = p_idempotency_key THEN
            RETURN QUERY SELECT * FROM wallet.hold_view(h.wallet_id, h.id, true);
            RETURN;
        END IF;
        PERFORM wallet.raise_hold_not_active(h);
    END IF;
    UPDATE wallet.holds AS x SET status = 'voided', closed_at = now(), close_key = p_idempotency_key
    WHERE x.wallet_id = h.wallet_id AND x.id = h.id;
    UPDATE wallet.wallets AS w SET held = w.held - h.amount, updated_at = greatest(w.updated_at, now()) WHERE w.id = h.wallet_id;
    RETURN QUERY SELECT * FROM wallet.hold_view(h.wallet_id, h.id, false);
END
$$;
ALTER FUNCTION wallet.void_hold(uuid, uuid, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.void_hold(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.void_hold(uuid, uuid, text) TO wallet_app;
COMMENT ON FUNCTION wallet.void_hold(uuid, uuid, text) IS
'Voids an active hold of p_wallet_id (NULL: the hold''s own wallet): its money is available again, nothing moves. Returns the hold (status voided). The same void again with its p_idempotency_key returns the original (replayed = true). Raises WL016 no such hold, WL017 the hold is captured, voided or expired (the detail says which), WL007 invalid key.';

CREATE OR REPLACE FUNCTION wallet.expire_holds(p_limit integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer := 0;
    v_wallet uuid;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 THEN
        PERFORM wallet.raise_error('WL009', format('p_limit is at least 1; got %s', coalesce(p_limit::text, 'NULL')));
    END IF;
    -- Wallet by wallet, in id order (the one lock order), each locked before its holds change.
    FOR v_wallet IN
        SELECT DISTINCT h.wallet_id FROM (
            SELECT x.wallet_id FROM wallet.holds AS x
            WHERE x.status = 'active' AND x.expires_at <= now()
            ORDER BY x.expires_at
            LIMIT p_limit) AS h
        ORDER BY 1
    LOOP
        PERFORM FROM wallet.wallets AS w WHERE w.id = v_wallet FOR NO KEY UPDATE;
        v_count := v_count + (wallet.expire_due_holds(v_wallet)).expired;
    END LOOP;
    RETURN v_count;
END
$$;
ALTER FUNCTION wallet.expire_holds(integer) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.expire_holds(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.expire_holds(integer) TO wallet_app;
COMMENT ON FUNCTION wallet.expire_holds(integer) IS
'Expires the active holds whose expires_at has passed, wallet by wallet (each locked in id order): status expired, closed_at = now, the money available again. Takes the wallets of at most p_limit due holds (and all due holds of those wallets). Returns how many holds it expired. The API calls it periodically; a hold also expires when its wallet is next locked.';
--rollback DROP FUNCTION wallet.expire_holds(integer);
--rollback DROP FUNCTION wallet.void_hold(uuid, uuid, text);
--rollback DROP FUNCTION wallet.capture_hold(uuid, uuid, numeric, uuid, text, jsonb);
--rollback DROP FUNCTION wallet.raise_hold_not_active(wallet.holds);
--rollback DROP FUNCTION wallet.lock_hold(uuid, uuid, uuid);
--rollback DROP FUNCTION wallet.get_hold(uuid);
--rollback DROP FUNCTION wallet.create_hold(uuid, numeric, integer, text, jsonb);
--rollback DROP FUNCTION wallet.create_holds(uuid, wallet.hold_request[]);
--rollback DROP FUNCTION wallet.hold_view(uuid, uuid, boolean);
--rollback DROP FUNCTION wallet.due_held(uuid, numeric);
--rollback DROP FUNCTION wallet.expire_due_holds(uuid);
