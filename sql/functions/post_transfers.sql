--liquibase formatted sql

--changeset wallet:fn-post-transfers runOnChange:true splitStatements:false
-- The one place money moves. Applies a batch of transfers (deposits, withdrawals, transfers between
-- wallets) atomically and in order: every wallet the batch touches is locked once, in one global
-- order (by id), so no two calls can deadlock; every element is checked and applied in memory; then
-- ONE update of the wallets and ONE multi-row insert of the legs are written. Idempotent per element
-- (a key is scoped to the wallet that owns the transfer); a failing element is reported in its row,
-- not raised; a keyed refusal for the wallets' state (WL002, WL006) is recorded and replayed.
CREATE OR REPLACE FUNCTION wallet.post_transfers(p_wallet_id uuid, p_requests wallet.transfer_request[])
RETURNS SETOF wallet.transfer_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_batch constant integer := 1000;
    c_limit constant numeric := 1000000000000000000;  -- amounts and balances stay below 10^18
    c_ephemeral_ttl constant interval := interval '10 minutes';  -- see changeset 007
    c_metadata_bytes constant integer := 4096;
    v_n integer := coalesce(cardinality(p_requests), 0);
    v_now timestamptz := now();
    v_last timestamptz;  -- the latest updated_at of the locked wallets
    r wallet.transfer_request;
    res wallet.transfer_result;
    prior wallet.transfer_result;
    results wallet.transfer_result[] := '{}';
    v_applied boolean := false;
    v_counter_bal numeric[];  -- per request, a transfer's destination balance after it (NULL: none applied)
    refusal wallet.refusals;
    refusals wallet.refusals[] := '{}';
    -- the locked wallets, in id order, and their state as the batch goes
    w_ids uuid[] := '{}';
    w_bal numeric[];
    w_ver bigint[];
    w_cur text[];
    w_mu integer[];
    w_held numeric[];  -- the wallets' active holds: what a source may spend is balance - held
    w_touched boolean[];
    -- outcomes seen so far per (owner wallet, key): the ledger's and refusals' (in priors, referred to
    -- as -position), then this batch's (in results, referred to as +position)
    known_ix text[] := '{}';
    known_ref integer[] := '{}';
    v_track boolean := false;  -- does any key need looking up (found before, or twice in the batch)?
    priors wallet.transfer_result[] := '{}';
    i integer;
    j integer;
    f integer;
    t integer;
    o integer;
    v_owner uuid;
    v_kind text;
    v_mu integer;
    v_tid uuid;
    v_tids uuid[];
    v_max numeric;
    v_keys text[] := '{}';
    v_owners uuid[] := '{}';
    p record;
BEGIN
    IF p_wallet_id IS NULL THEN
        PERFORM wallet.raise_error('WL009', 'p_wallet_id is NULL');
    END IF;
    IF v_n NOT BETWEEN 1 AND c_max_batch OR array_ndims(p_requests) <> 1 THEN
        PERFORM wallet.raise_error('WL009', format('a batch has 1 to %s requests in a one-dimensional array; got %s',
            c_max_batch, v_n));
    END IF;

    -- (Loops walk p_requests with FOREACH: a subscript of an array of variable-length rows would walk it
    -- from its start every time.)
    -- The wallets of the batch, then every one of them locked at once, in id order: concurrent calls
    -- wait for each other, never deadlock. One wallet (a hot wallet's batch) is one row by its key.
    i := 0;
    FOREACH r IN ARRAY p_requests LOOP
        i := i + 1;
        IF r.from_wallet_id IS NOT NULL AND array_position(w_ids, r.from_wallet_id) IS NULL THEN
            w_ids := array_append(w_ids, r.from_wallet_id);
        END IF;
        IF r.to_wallet_id IS NOT NULL AND array_position(w_ids, r.to_wallet_id) IS NULL THEN
            w_ids := array_append(w_ids, r.to_wallet_id);
        END IF;
        IF r.idempotency_key IS NOT NULL AND coalesce(r.from_wallet_id, r.to_wallet_id) IS NOT NULL THEN
            v_keys := array_append(v_keys, r.idempotency_key);
            v_owners := array_append(v_owners, coalesce(r.from_wallet_id, r.to_wallet_id));
        END IF;
    END LOOP;
    IF cardinality(w_ids) = 1 THEN
        SELECT ARRAY[w.balance], ARRAY[w.version], ARRAY[w.currency],
            ARRAY[(SELECT c.minor_units::integer FROM wallet.currencies AS c WHERE c.code = w.currency)], ARRAY[w.held],
            w.updated_at
        INTO w_bal, w_ver, w_cur, w_mu, w_held, v_last
        FROM wallet.wallets AS w
        WHERE w.id = w_ids[1]
        FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            w_ids := '{}';
        END IF;
    ELSIF cardinality(w_ids) > 1 THEN
        SELECT array_agg(x.id), array_agg(x.balance), array_agg(x.version), array_agg(x.currency), array_agg(x.minor_units),
            array_agg(x.held), max(x.updated_at)
        INTO w_ids, w_bal, w_ver, w_cur, w_mu, w_held, v_last
        FROM (
            SELECT w.id, w.balance, w.version, w.currency, w.held, w.updated_at,
                (SELECT c.minor_units::integer FROM wallet.currencies AS c WHERE c.code = w.currency) AS minor_units
            FROM wallet.wallets AS w
            WHERE w.id = ANY (w_ids)
            ORDER BY w.id
            FOR NO KEY UPDATE
        ) AS x;
    END IF;
    w_ids := coalesce(w_ids, '{}');
    -- A wallet's entries never go back in time: a transaction that started before the one that held the
    -- lock ahead of it dates its entries no earlier than that one's (so wallet.balance_at can take the
    -- latest entry by time). now() is the transaction's start; the lock may have been taken later.
    v_now := greatest(v_now, v_last);
    w_touched := array_fill(false, ARRAY[coalesce(cardinality(w_ids), 0)]);
    -- Holds whose time has come give their money back now that their wallet is locked (no request
    -- needed; wallet.expire_holds sweeps the rest). Nothing to do for wallets without holds.
    IF 0 < ANY (w_held) THEN
        FOR j IN 1 .. cardinality(w_ids) LOOP
            IF w_held[j] > 0 THEN
                w_held[j] := w_held[j] - (wallet.expire_due_holds(w_ids[j])).released;
            END IF;
        END LOOP;
    END IF;

    -- What each (owner, key) of the batch did before: one probe of the (wallet_id, idempotency_key)
    -- index per key (the keys were gathered above; a wallet that does not exist has no rows to find).
    -- LIMIT 1 keeps each probe from being flattened into a scan of a hot wallet's ledger.
    -- Kept simple: PL/pgSQL plans it for each call, and planning a complex query costs more than running it.
    -- Keys are looked up only if one was found or occurs twice in the batch: on the common path (fresh
    -- keys) the per-element lookup, linear in the batch, is skipped.
    IF cardinality(v_keys) > 1 THEN
        v_track := cardinality(v_keys) > cardinality(ARRAY(
            SELECT DISTINCT (q.owner, q.key) FROM unnest(v_owners, v_keys) AS q (owner, key)));
    END IF;
    IF cardinality(v_keys) > 0 THEN
        FOR p IN
            SELECT q.owner, q.key, x.*
            FROM unnest(v_owners, v_keys) AS q (owner, key)
            CROSS JOIN LATERAL (
                (SELECT o1.transfer_id, o1.operation_type AS kind, o1.counterparty_wallet_id AS counterparty, o1.amount,
                    o1.metadata, o1.id AS entry_id, o1.seq, o1.balance_after AS balance, o1.created_at,
                    NULL::text AS code, NULL::text AS detail
                FROM wallet.operations AS o1
                WHERE o1.wallet_id = q.owner AND o1.idempotency_key = q.key
                LIMIT 1)
                UNION ALL
                (SELECT NULL, f1.operation_type, f1.counterparty_wallet_id, f1.amount, f1.metadata, NULL, NULL,
                    f1.balance, f1.created_at, f1.error_code, f1.error_detail
                FROM wallet.refusals AS f1
                WHERE f1.wallet_id = q.owner AND f1.idempotency_key = q.key
                LIMIT 1)
            ) AS x
        LOOP
            o := array_position(w_ids, p.owner);
            prior := ROW(NULL, p.transfer_id, CASE p.kind WHEN 'TRANSFER_OUT' THEN 'TRANSFER' ELSE p.kind END, p.owner,
                CASE WHEN p.kind <> 'DEPOSIT' THEN p.owner END,
                CASE p.kind WHEN 'DEPOSIT' THEN p.owner WHEN 'TRANSFER_OUT' THEN p.counterparty END,
                round(p.amount, w_mu[o]), w_cur[o], p.metadata, p.entry_id, p.kind, p.seq, round(p.balance, w_mu[o]),
                NULL, NULL, p.key, p.created_at, true, p.code, p.detail)::wallet.transfer_result;
            IF p.kind = 'TRANSFER_OUT' AND p.code IS NULL THEN  -- the destination's leg, for a replay
                SELECT i1.id, i1.seq INTO prior.counter_entry_id, prior.counter_seq
                FROM wallet.operations AS i1
                WHERE i1.wallet_id = p.counterparty AND i1.transfer_id = p.transfer_id;
            END IF;
            priors := array_append(priors, prior);
            known_ix := array_append(known_ix, p.owner::text || ' ' || p.key);
            known_ref := array_append(known_ref, -cardinality(priors));
            v_track := true;
        END LOOP;
    END IF;

    -- One id per request, used by those that apply: wallet.time_ordered_ids(v_n), inline (see there why).
    v_tids := ARRAY(
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING t.ms FROM 1 FOR 6), 52, 1), 53, 1),
            'hex')::uuid
        FROM (SELECT substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) AS ms) AS t
        CROSS JOIN generate_series(1, v_n));
    i := 0;
    FOREACH r IN ARRAY p_requests LOOP
        i := i + 1;
        v_owner := coalesce(r.from_wallet_id, r.to_wallet_id);
        v_kind := CASE WHEN r.from_wallet_id IS NULL THEN 'DEPOSIT' WHEN r.to_wallet_id IS NULL THEN 'WITHDRAW'
            ELSE 'TRANSFER' END;
        res := ROW(i, NULL, v_kind, v_owner, r.from_wallet_id, r.to_wallet_id, r.amount, NULL, r.metadata, NULL,
            CASE v_kind WHEN 'TRANSFER' THEN 'TRANSFER_OUT' ELSE v_kind END, NULL, NULL, NULL, NULL,
            r.idempotency_key, NULL, false, NULL, NULL)::wallet.transfer_result;
        f := array_position(w_ids, r.from_wallet_id);
        t := array_position(w_ids, r.to_wallet_id);
        o := coalesce(f, t);

        -- The request itself: its wallets, key, metadata, currency and amount.
        IF v_owner IS NULL THEN
            res.kind := NULL;
            res.entry_kind := NULL;
            res.error_code := 'WL009';
            res.error_detail := 'a transfer names a source wallet, a destination wallet, or both';
        ELSIF r.from_wallet_id = r.to_wallet_id THEN
            res.error_code := 'WL014';
            res.error_detail := format('wallet %s cannot transfer to itself', r.from_wallet_id);
        ELSIF r.from_wallet_id IS NOT NULL AND f IS NULL THEN
            res.error_code := 'WL001';
            res.error_detail := format('no wallet has id %s', r.from_wallet_id)
                || CASE WHEN v_kind = 'TRANSFER' THEN ' (the source)' ELSE '' END;
        ELSIF r.to_wallet_id IS NOT NULL AND t IS NULL THEN
            res.error_code := 'WL001';
            res.error_detail := format('no wallet has id %s', r.to_wallet_id)
                || CASE WHEN v_kind = 'TRANSFER' THEN ' (the destination)' ELSE '' END;
        ELSE
            v_mu := w_mu[o];
            res.currency := w_cur[o];
            res.balance_after := round(w_bal[o], v_mu);
            IF r.idempotency_key IS NOT NULL AND length(r.idempotency_key) NOT BETWEEN 1 AND 255 THEN
                res.error_code := 'WL007';
                res.error_detail := format('an idempotency key is 1 to 255 characters long; this one has %s',
                    length(r.idempotency_key));
            ELSIF r.metadata IS NOT NULL AND (jsonb_typeof(r.metadata) <> 'object'
                    OR octet_length(r.metadata::text) > c_metadata_bytes) THEN
                res.error_code := 'WL013';
                res.error_detail := format('metadata is a JSON object of at most %s bytes; this is %s of %s bytes',
                    c_metadata_bytes, jsonb_typeof(r.metadata), octet_length(r.metadata::text));
            ELSIF v_kind = 'TRANSFER' AND w_cur[f] <> w_cur[t] THEN
                res.error_code := 'WL012';
                res.error_detail := format('wallet %s holds %s and wallet %s holds %s: a transfer moves one currency',
                    r.from_wallet_id, w_cur[f], r.to_wallet_id, w_cur[t]);
            ELSIF r.amount IS NULL OR NOT (r.amount > 0 AND r.amount < c_limit) OR r.amount <> round(r.amount, v_mu) THEN
                res.error_code := 'WL003';
                res.error_detail := format('amount %s is not a positive number of whole %s up to %s',
                    coalesce(r.amount::text, 'NULL'),
                    CASE v_mu WHEN 2 THEN 'cents' WHEN 0 THEN format('units of %s', res.currency)
                        ELSE format('%s minor units (%s decimal places)', res.currency, v_mu) END,
                    round(c_limit - power(10::numeric, -v_mu), v_mu));
            END IF;
        END IF;
        IF res.error_code IS NOT NULL THEN
            results[i] := res;
            CONTINUE;
        END IF;

        -- A key seen before (in the ledger, in the refusals, or earlier in this batch): the same request
        -- replays the original outcome, another one is refused.
        IF v_track AND r.idempotency_key IS NOT NULL THEN
            j := array_position(known_ix, v_owner::text || ' ' || r.idempotency_key);
            IF j IS NOT NULL THEN
                prior := CASE WHEN known_ref[j] > 0 THEN results[known_ref[j]] ELSE priors[-known_ref[j]] END;
                IF prior.kind = v_kind AND prior.to_wallet_id IS NOT DISTINCT FROM r.to_wallet_id
                    AND prior.from_wallet_id IS NOT DISTINCT FROM r.from_wallet_id AND prior.amount = r.amount
                    AND prior.metadata IS NOT DISTINCT FROM r.metadata THEN
                    prior.ordinal := i;
                    prior.replayed := true;
                    results[i] := prior;
                ELSE
                    res.error_code := 'WL005';
                    res.error_detail := format('key %L was used for %s %s%s on wallet %s (%s); this request is %s %s%s%s',
                        r.idempotency_key, prior.entry_kind, prior.amount,
                        CASE WHEN prior.kind = 'TRANSFER' THEN ' to ' || prior.to_wallet_id END, v_owner,
                        CASE WHEN prior.error_code IS NULL THEN format('ledger entry %s', prior.seq)
                            ELSE format('refused: %s', (SELECT x.name FROM wallet.error_codes() AS x
                                                        WHERE x.sqlstate = prior.error_code)) END,
                        res.entry_kind, r.amount, CASE WHEN v_kind = 'TRANSFER' THEN ' to ' || r.to_wallet_id END,
                        CASE WHEN prior.metadata IS DISTINCT FROM r.metadata THEN ' with other metadata' END);
                    results[i] := res;
                END IF;
                CONTINUE;
            END IF;
        END IF;

        -- The wallets' state: the source's funds, the destination's limit.
        IF f IS NOT NULL AND r.amount > w_bal[f] - w_held[f] THEN
            res.error_code := 'WL002';
            res.error_detail := format('wallet %s has %s%s; %s %s needs %s more', r.from_wallet_id,
                round(w_bal[f], v_mu),
                CASE WHEN w_held[f] > 0 THEN format(', of which %s is available (%s is held)',
                    round(w_bal[f] - w_held[f], v_mu), round(w_held[f], v_mu)) ELSE '' END,
                CASE v_kind WHEN 'TRANSFER' THEN 'transferring' ELSE 'withdrawing' END,
                round(r.amount, v_mu), round(r.amount - (w_bal[f] - w_held[f]), v_mu));
        ELSIF t IS NOT NULL AND w_bal[t] + r.amount >= c_limit THEN
            v_max := round(c_limit - power(10::numeric, -v_mu), v_mu);
            res.error_code := 'WL006';
            res.error_detail := CASE v_kind
                WHEN 'TRANSFER' THEN format('wallet %s cannot receive %s: its balance would exceed %s',
                    r.to_wallet_id, round(r.amount, v_mu), v_max)
                ELSE format('wallet %s has %s; depositing %s would take it above %s',
                    r.to_wallet_id, round(w_bal[t], v_mu), r.amount, v_max) END;
        END IF;
        IF res.error_code IS NOT NULL THEN
            IF r.idempotency_key IS NOT NULL THEN  -- a refusal for the wallets' state is final for its key
                refusal := ROW(v_owner, r.idempotency_key, res.entry_kind, r.amount, w_bal[o], res.error_code,
                    res.error_detail, v_now,
                    CASE WHEN r.ephemeral_key THEN v_now + c_ephemeral_ttl END, r.to_wallet_id, r.metadata)::wallet.refusals;
                IF v_kind <> 'TRANSFER' THEN
                    refusal.counterparty_wallet_id := NULL;
                END IF;
                refusals := array_append(refusals, refusal);
                IF v_track THEN
                    known_ix := array_append(known_ix, v_owner::text || ' ' || r.idempotency_key);
                    known_ref := array_append(known_ref, i);
                END IF;
            END IF;
            results[i] := res;
            CONTINUE;
        END IF;

        -- Apply it, in memory: its result row describes its legs, which are written from it below. The
        -- first leg (the source's, or the only one) has the transfer's id, as every entry from before
        -- transfers has; a transfer's second leg has its own.
        v_tid := v_tids[i];
        res.transfer_id := v_tid;
        res.entry_id := v_tid;
        res.amount := round(r.amount, v_mu);
        res.created_at := v_now;
        IF f IS NOT NULL THEN
            w_bal[f] := w_bal[f] - r.amount;
            w_ver[f] := w_ver[f] + 1;
            w_touched[f] := true;
            res.seq := w_ver[f];
            res.balance_after := round(w_bal[f], v_mu);
        END IF;
        IF t IS NOT NULL THEN
            w_bal[t] := w_bal[t] + r.amount;
            w_ver[t] := w_ver[t] + 1;
            w_touched[t] := true;
            IF f IS NULL THEN
                res.seq := w_ver[t];
                res.balance_after := round(w_bal[t], v_mu);
            ELSE
                res.counter_entry_id := gen_random_uuid();
                res.counter_seq := w_ver[t];
                IF v_counter_bal IS NULL THEN
                    v_counter_bal := array_fill(NULL::numeric, ARRAY[v_n]);
                END IF;
                v_counter_bal[i] := w_bal[t];
            END IF;
        END IF;
        v_applied := true;
        results[i] := res;
        IF v_track AND r.idempotency_key IS NOT NULL THEN  -- a later element with this key replays this one
            known_ix := array_append(known_ix, v_owner::text || ' ' || r.idempotency_key);
            known_ref := array_append(known_ref, i);
        END IF;
    END LOOP;

    IF v_applied THEN
        IF cardinality(w_ids) = 1 THEN  -- one wallet (a hot wallet's batch): one row by its key
            UPDATE wallet.wallets AS w
            SET balance = w_bal[1], version = w_ver[1], updated_at = v_now
            WHERE w.id = w_ids[1];
        ELSE  -- the id list gives the planner an index condition: without it, it may scan the table
            UPDATE wallet.wallets AS w
            SET balance = u.balance, version = u.version, updated_at = v_now
            FROM unnest(w_ids, w_bal, w_ver, w_touched) AS u (id, balance, version, touched)
            WHERE w.id = ANY (w_ids) AND w.id = u.id AND u.touched;
        END IF;

        IF v_counter_bal IS NULL THEN  -- deposits and withdrawals only: one leg each
            INSERT INTO wallet.operations AS o (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key,
                created_at, transfer_id, counterparty_wallet_id, metadata)
            SELECT a.wallet_id, a.seq, a.entry_id, a.entry_kind, a.amount, a.balance_after, a.idempotency_key, a.created_at,
                a.transfer_id, NULL, a.metadata
            FROM unnest(results) AS a
            WHERE a.entry_id IS NOT NULL AND NOT a.replayed;
        ELSE
            INSERT INTO wallet.operations AS o (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key,
                created_at, transfer_id, counterparty_wallet_id, metadata)
            SELECT a.wallet_id, a.seq, a.entry_id, a.entry_kind, a.amount, a.balance_after, a.idempotency_key, a.created_at,
                a.transfer_id, CASE a.kind WHEN 'TRANSFER' THEN a.to_wallet_id END, a.metadata
            FROM unnest(results) AS a
            WHERE a.entry_id IS NOT NULL AND NOT a.replayed
            UNION ALL  -- the destinations' legs of transfers between wallets
            SELECT b.to_wallet_id, b.counter_seq, b.counter_entry_id, 'TRANSFER_IN', b.amount, b.counter_balance,
                NULL, b.created_at, b.transfer_id, b.from_wallet_id, b.metadata
            FROM ROWS FROM (unnest(results), unnest(v_counter_bal)) AS b (ordinal, transfer_id, kind, wallet_id, from_wallet_id,
                to_wallet_id, amount, currency, metadata, entry_id, entry_kind, seq, balance_after, counter_entry_id,
                counter_seq, idempotency_key, created_at, replayed, error_code, error_detail, counter_balance)
            WHERE b.counter_entry_id IS NOT NULL AND NOT b.replayed;
        END IF;
    END IF;

    IF cardinality(refusals) > 0 THEN
        INSERT INTO wallet.refusals (wallet_id, idempotency_key, operation_type, amount, balance, error_code,
            error_detail, created_at, expires_at, counterparty_wallet_id, metadata)
        SELECT x.wallet_id, x.idempotency_key, x.operation_type, x.amount, x.balance, x.error_code, x.error_detail,
            x.created_at, x.expires_at, x.counterparty_wallet_id, x.metadata
        FROM unnest(refusals) AS x;
    END IF;

    RETURN QUERY SELECT * FROM unnest(results);
END
$$;
ALTER FUNCTION wallet.post_transfers(uuid, wallet.transfer_request[]) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.post_transfers(uuid, wallet.transfer_request[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.post_transfers(uuid, wallet.transfer_request[]) TO wallet_app;
COMMENT ON FUNCTION wallet.post_transfers(uuid, wallet.transfer_request[]) IS
'Applies up to 1000 transfer requests (wallet.transfer_request: deposits, withdrawals, transfers between wallets) in one transaction, in array order; each sees the effect of the ones before it.
p_wallet_id: the wallet the batch is grouped on (a distributed database routes the call by it); requests may involve other wallets. Every wallet of the batch is locked once, in id order, so calls never deadlock.
Returns one wallet.transfer_result per request, in input order. A failing request does not abort the others: its row has error_code (WL001 wallet not found, WL002 insufficient funds, WL003 invalid amount for the currency, WL005 key reused, WL006 balance limit, WL007 invalid key, WL009 no wallet named, WL012 currency mismatch, WL013 invalid metadata, WL014 same wallet) and error_detail, and nothing of it is written.
A key already used by the owning wallet (the source; the wallet of a deposit) for the same request (kind, wallets, amount, metadata) returns the original outcome with replayed = true: the transfer, or the refusal; another request with it gets WL005. A keyed refusal for insufficient funds or the balance limit is recorded in wallet.refusals and final for its key.
Raises WL009 for a NULL p_wallet_id or an empty or oversized batch.';
--rollback DROP FUNCTION wallet.post_transfers(uuid, wallet.transfer_request[]);
