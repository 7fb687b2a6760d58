--liquibase formatted sql

--changeset wallet:fn-apply-operations runOnChange:true splitStatements:false
-- Applies a batch of operations to one wallet atomically and in order: the wallet row is locked once,
-- every element is checked and applied in memory, then ONE update and ONE multi-row insert are written.
-- Idempotent per element (key unique per wallet); a failing element is reported in its row, not raised;
-- a keyed refusal for the wallet's state (WL002, WL006) is recorded and replayed for that key.
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
#variable_conflict use_column
DECLARE
    c_max constant numeric := 999999999999999999.99;
    c_max_batch constant integer := 1000;
    -- How long the refusal of an ephemeral key (one the caller made for its own retries) is kept: far
    -- longer than any attempt of the API can stay in flight (retries end within seconds).
    c_ephemeral_ttl constant interval := interval '10 minutes';
    v_n integer := coalesce(cardinality(p_amounts), 0);
    v_balance numeric;
    v_version bigint;
    v_now timestamptz := now();
    v_applied integer := 0;
    e record;
    i integer;
    j integer;
    -- the ledger entries carrying one of this batch's keys: the wallet's, then this batch's own
    k_keys text[];
    k_ids uuid[];
    k_seqs bigint[];
    k_types text[];
    k_amounts numeric[];
    k_balances numeric[];
    k_created timestamptz[];
    k_codes text[];
    k_details text[];
    -- one slot per element: its result
    r_applied boolean[];
    r_refused boolean[];
    r_replayed boolean[];
    r_ids uuid[];
    r_seqs bigint[];
    r_types text[];
    r_amounts numeric[];
    r_balances numeric[];
    r_created timestamptz[];
    r_codes text[];
    r_details text[];
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

    r_applied := array_fill(false, ARRAY[v_n]);
    r_refused := array_fill(false, ARRAY[v_n]);
    r_replayed := array_fill(false, ARRAY[v_n]);
    r_ids := array_fill(NULL::uuid, ARRAY[v_n]);
    r_seqs := array_fill(NULL::bigint, ARRAY[v_n]);
    r_types := array_fill(NULL::text, ARRAY[v_n]);
    r_amounts := array_fill(NULL::numeric, ARRAY[v_n]);
    r_balances := array_fill(NULL::numeric, ARRAY[v_n]);
    r_created := array_fill(NULL::timestamptz, ARRAY[v_n]);
    r_codes := array_fill(NULL::text, ARRAY[v_n]);
    r_details := array_fill(NULL::text, ARRAY[v_n]);

    -- The row lock serialises everything below for this wallet: balance, seq and key checks.
    SELECT w.balance, w.version INTO v_balance, v_version
    FROM wallet.wallets AS w
    WHERE w.id = p_wallet_id
    FOR NO KEY UPDATE;

    IF NOT FOUND THEN
        RETURN QUERY
        SELECT u.i::integer, NULL::uuid, p_wallet_id, NULL::bigint, u.t, u.a, NULL::numeric, u.k,
            NULL::timestamptz, false, 'WL001'::text, format('no wallet has id %s', p_wallet_id)
        FROM unnest(p_operation_types, p_amounts, p_idempotency_keys) WITH ORDINALITY AS u (t, a, k, i);
        RETURN;
    END IF;

    IF cardinality(array_remove(p_idempotency_keys, NULL)) > 0 THEN
        -- One probe of the (wallet_id, idempotency_key) index per key. A plain `= ANY (keys)` or join
        -- lets the planner, whose statistics say a wallet has few entries, scan the whole ledger of a
        -- hot wallet; LIMIT 1 keeps the subquery from being flattened into such a join.
        -- A key names either a ledger entry or a recorded refusal, never both.
        SELECT array_agg(o.idempotency_key), array_agg(o.id), array_agg(o.seq), array_agg(o.operation_type),
            array_agg(o.amount), array_agg(o.balance_after), array_agg(o.created_at), array_agg(o.code),
            array_agg(o.detail)
        INTO k_keys, k_ids, k_seqs, k_types, k_amounts, k_balances, k_created, k_codes, k_details
        FROM (SELECT DISTINCT q.key FROM unnest(p_idempotency_keys) AS q (key) WHERE q.key IS NOT NULL) AS q
        CROSS JOIN LATERAL (
            (SELECT o1.idempotency_key, o1.id, o1.seq, o1.operation_type, o1.amount, o1.balance_after,
                o1.created_at, NULL::text AS code, NULL::text AS detail
            FROM wallet.operations AS o1
            WHERE o1.wallet_id = p_wallet_id AND o1.idempotency_key = q.key
            LIMIT 1)
            UNION ALL
            (SELECT f.idempotency_key, NULL::uuid, NULL::bigint, f.operation_type, f.amount, f.balance,
                f.created_at, f.error_code, f.error_detail
            FROM wallet.refusals AS f
            WHERE f.wallet_id = p_wallet_id AND f.idempotency_key = q.key
            LIMIT 1)
        ) AS o;
    END IF;

    FOR e IN
        SELECT u.t, u.a, u.k, u.i::integer AS i
        FROM unnest(p_operation_types, p_amounts, p_idempotency_keys) WITH ORDINALITY AS u (t, a, k, i)
    LOOP
        i := e.i;
        r_balances[i] := v_balance;
        IF e.k IS NOT NULL AND length(e.k) NOT BETWEEN 1 AND 255 THEN
            r_codes[i] := 'WL007';
            r_details[i] := format('an idempotency key is 1 to 255 characters long; this one has %s', length(e.k));
            CONTINUE;
        END IF;
        IF e.t IS DISTINCT FROM 'DEPOSIT' AND e.t IS DISTINCT FROM 'WITHDRAW' THEN
            r_codes[i] := 'WL004';
            r_details[i] := format('operation type %s is neither DEPOSIT nor WITHDRAW', coalesce(quote_literal(e.t), 'NULL'));
            CONTINUE;
        END IF;
        IF e.a IS NULL OR NOT (e.a >= 0.01 AND e.a <= c_max) OR e.a <> round(e.a, 2) THEN
            r_codes[i] := 'WL003';
            r_details[i] := format('amount %s is not a positive number of whole cents up to %s', coalesce(e.a::text, 'NULL'), c_max);
            CONTINUE;
        END IF;

        IF e.k IS NOT NULL THEN
            -- A key seen before (in the ledger or earlier in this batch): the same request replays the
            -- original entry, another one is refused.
            j := array_position(k_keys, e.k);
            IF j IS NOT NULL THEN
                IF k_types[j] = e.t AND k_amounts[j] = e.a AND k_codes[j] IS NOT NULL THEN
                    r_replayed[i] := true;  -- refused before: refused again, whatever the balance now
                    r_codes[i] := k_codes[j];
                    r_details[i] := k_details[j];
                    r_balances[i] := k_balances[j];
                ELSIF k_types[j] = e.t AND k_amounts[j] = e.a THEN
                    r_replayed[i] := true;
                    r_ids[i] := k_ids[j];
                    r_seqs[i] := k_seqs[j];
                    r_types[i] := k_types[j];
                    r_amounts[i] := k_amounts[j];
                    r_balances[i] := k_balances[j];
                    r_created[i] := k_created[j];
                ELSE
                    r_codes[i] := 'WL005';
                    r_details[i] := format('key %L was used for %s %s on wallet %s (%s); this request is %s %s',
                        e.k, k_types[j], k_amounts[j], p_wallet_id,
                        CASE WHEN k_codes[j] IS NULL THEN format('ledger entry %s', k_seqs[j])
                            ELSE format('refused: %s', (SELECT x.name FROM wallet.error_codes() AS x WHERE x.sqlstate = k_codes[j]))
                        END,
                        e.t, e.a);
                END IF;
                CONTINUE;
            END IF;
        END IF;

        IF e.t = 'DEPOSIT' AND v_balance + e.a > c_max THEN
            r_codes[i] := 'WL006';
            r_details[i] := format('wallet %s has %s; depositing %s would take it above %s',
                p_wallet_id, v_balance::numeric(20, 2), e.a, c_max);
        ELSIF e.t = 'WITHDRAW' AND e.a > v_balance THEN
            r_codes[i] := 'WL002';
            r_details[i] := format('wallet %s has %s; withdrawing %s needs %s more',
                p_wallet_id, v_balance::numeric(20, 2), e.a::numeric(20, 2), (e.a - v_balance)::numeric(20, 2));
        END IF;
        IF r_codes[i] IS NOT NULL THEN
            IF e.k IS NOT NULL THEN  -- a refusal for the wallet's state is final for its key
                r_refused[i] := true;
                k_keys := array_append(k_keys, e.k);
                k_ids := array_append(k_ids, NULL::uuid);
                k_seqs := array_append(k_seqs, NULL::bigint);
                k_types := array_append(k_types, e.t);
                k_amounts := array_append(k_amounts, e.a);
                k_balances := array_append(k_balances, v_balance);
                k_created := array_append(k_created, v_now);
                k_codes := array_append(k_codes, r_codes[i]);
                k_details := array_append(k_details, r_details[i]);
            END IF;
            CONTINUE;
        END IF;
        v_balance := v_balance + CASE e.t WHEN 'DEPOSIT' THEN e.a ELSE -e.a END;

        v_version := v_version + 1;
        v_applied := v_applied + 1;
        r_applied[i] := true;
        r_ids[i] := gen_random_uuid();
        r_seqs[i] := v_version;
        r_types[i] := e.t;
        r_amounts[i] := e.a::numeric(20, 2);
        r_balances[i] := v_balance::numeric(20, 2);
        r_created[i] := v_now;
        IF e.k IS NOT NULL THEN  -- a later element with this key replays this one
            k_keys := array_append(k_keys, e.k);
            k_ids := array_append(k_ids, r_ids[i]);
            k_seqs := array_append(k_seqs, v_version);
            k_types := array_append(k_types, e.t);
            k_amounts := array_append(k_amounts, r_amounts[i]);
            k_balances := array_append(k_balances, r_balances[i]);
            k_created := array_append(k_created, v_now);
            k_codes := array_append(k_codes, NULL::text);
            k_details := array_append(k_details, NULL::text);
        END IF;
    END LOOP;

    IF v_applied > 0 THEN
        UPDATE wallet.wallets AS w
        SET balance = v_balance, version = v_version, updated_at = v_now
        WHERE w.id = p_wallet_id;

        INSERT INTO wallet.operations AS o
            (wallet_id, seq, id, operation_type, amount, balance_after, idempotency_key, created_at)
        SELECT p_wallet_id, u.s, u.id, u.t, u.a, u.b, u.k, v_now
        FROM unnest(r_applied, r_seqs, r_ids, r_types, r_amounts, r_balances, p_idempotency_keys)
            AS u (applied, s, id, t, a, b, k)
        WHERE u.applied;
    END IF;

    IF true = ANY (r_refused) THEN  -- at most one element per key: a repeat replays instead
        INSERT INTO wallet.refusals
            (wallet_id, idempotency_key, operation_type, amount, balance, error_code, error_detail, created_at, expires_at)
        SELECT p_wallet_id, u.k, u.t, u.a, u.b, u.code, u.detail, v_now,
            CASE WHEN u.ephemeral THEN v_now + c_ephemeral_ttl END
        FROM unnest(r_refused, p_idempotency_keys, p_operation_types, p_amounts, r_balances, r_codes, r_details,
                coalesce(p_ephemeral_keys, array_fill(false, ARRAY[v_n])))
            AS u (refused, k, t, a, b, code, detail, ephemeral)
        WHERE u.refused;
    END IF;

    RETURN QUERY
    SELECT u.i::integer, u.id, p_wallet_id, u.s, coalesce(u.t, u.in_t), coalesce(u.a, u.in_a),
        u.b::numeric(20, 2), u.k, u.c, u.rp, u.code, u.detail
    FROM unnest(r_ids, r_seqs, r_types, r_amounts, r_balances, r_created, r_replayed, r_codes, r_details,
            p_operation_types, p_amounts, p_idempotency_keys)
        WITH ORDINALITY AS u (id, s, t, a, b, c, rp, code, detail, in_t, in_a, k, i);
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
