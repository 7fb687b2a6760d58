--liquibase formatted sql

--changeset wallet:fn-verify-ledger runOnChange:true splitStatements:false
-- Audits wallets against their ledgers: balance = signed sum of entries (signs from wallet.entry_kinds),
-- version = entry count, seq gap-free, every balance_after = running sum, and every transfer of the
-- wallet balanced (its legs sum to zero per currency, wallet.postings); held = its active holds, no hold
-- captured twice, no transfer reversed beyond its amount. Read-only; no rows = consistent.
-- 1.1.0 added unbalanced_transfers (and PL/pgSQL, which a distributed database can plan), then held and
-- active_holds (held must be the sum of the wallet's active holds), then over_reversed (reversals that sum
-- to more than what they reverse) and bad_captures (a hold captured twice, or for another amount than its
-- transfer moved): the old form is dropped first.
DROP FUNCTION IF EXISTS wallet.verify_ledger(uuid);
CREATE OR REPLACE FUNCTION wallet.verify_ledger(p_wallet_id uuid DEFAULT NULL)
RETURNS TABLE (
    wallet_id uuid,
    balance numeric,
    ledger_sum numeric,
    version bigint,
    entries bigint,
    last_seq bigint,
    bad_running_balances bigint,
    unbalanced_transfers bigint,
    held numeric,
    active_holds numeric,
    over_reversed bigint,
    bad_captures bigint
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH bad_transfers AS (
        -- Transfers between wallets (deposits and withdrawals balance by construction: the leg of the
        -- outside world is implied) whose legs do not sum to zero in one currency, or that lack a leg.
        SELECT t.transfer_id
        FROM wallet.operations AS t
        JOIN wallet.wallets AS tw ON tw.id = t.wallet_id
        JOIN wallet.entry_kinds AS k ON k.kind = t.operation_type
        WHERE k.counterparty = 'wallet'
            AND (p_wallet_id IS NULL
                 OR t.transfer_id IN (SELECT s.transfer_id FROM wallet.operations AS s WHERE s.wallet_id = p_wallet_id))
        GROUP BY t.transfer_id
        HAVING sum(k.direction * t.amount) <> 0 OR count(*) <> 2 OR count(DISTINCT tw.currency) <> 1
    ), bad_per_wallet AS (
        SELECT b.wallet_id, count(DISTINCT b.transfer_id) AS n
        FROM wallet.operations AS b
        WHERE b.transfer_id IN (SELECT x.transfer_id FROM bad_transfers AS x)
        GROUP BY b.wallet_id
    )
    SELECT w.id, w.balance, l.total, w.version, l.entries, l.last_seq, l.bad, coalesce(u.n, 0), w.held, hs.total,
        rv.n, hs.bad_captures
    FROM wallet.wallets AS w
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(x.signed), 0) AS total,
            count(*) AS entries,
            coalesce(max(x.seq), 0) AS last_seq,
            count(*) FILTER (WHERE x.balance_after <> x.running) AS bad
        FROM (
            SELECT o.seq, o.balance_after, k.direction * o.amount AS signed,
                sum(k.direction * o.amount) OVER (ORDER BY o.seq) AS running
            FROM wallet.operations AS o
            JOIN wallet.entry_kinds AS k ON k.kind = o.operation_type
            WHERE o.wallet_id = w.id
        ) AS x
    ) AS l
    CROSS JOIN LATERAL (
        -- held = the active holds; a captured hold's transfer is its own (no other hold names it) and moved
        -- exactly the captured amount out of the hold's wallet
        SELECT coalesce(sum(h.amount) FILTER (WHERE h.status = 'active'), 0) AS total,
            count(*) FILTER (WHERE h.status = 'captured' AND (
                EXISTS (SELECT FROM wallet.holds AS h2
                        WHERE h2.wallet_id = w.id AND h2.capture_transfer_id = h.capture_transfer_id AND h2.id <> h.id)
                OR h.captured_amount IS DISTINCT FROM (
                    SELECT c.amount FROM wallet.operations AS c
                    WHERE c.wallet_id = w.id AND c.transfer_id = h.capture_transfer_id AND c.operation_type <> 'TRANSFER_IN'
                    LIMIT 1))) AS bad_captures
        FROM wallet.holds AS h
        WHERE h.wallet_id = w.id
    ) AS hs
    CROSS JOIN LATERAL (
        -- The wallet's reversals, per transfer they reverse, sum to at most its amount. All of them belong to
        -- the wallet that pays back, whose own leg of the original (the TRANSFER_IN of a transfer between
        -- wallets, the one leg of a deposit or withdrawal) gives the amount; without such a leg, nothing
        -- may be reversed there.
        SELECT count(*) AS n
        FROM (
            SELECT r.reverses, sum(r.amount) AS total
            FROM wallet.reversals AS r
            WHERE r.wallet_id = w.id
            GROUP BY r.reverses
        ) AS x
        WHERE x.total > coalesce((
            SELECT g.amount FROM wallet.operations AS g
            WHERE g.wallet_id = w.id AND g.transfer_id = x.reverses AND g.operation_type <> 'TRANSFER_OUT'
            LIMIT 1), 0)
    ) AS rv
    LEFT JOIN bad_per_wallet AS u ON u.wallet_id = w.id
    WHERE (p_wallet_id IS NULL OR w.id = p_wallet_id)
        AND (w.balance <> l.total OR w.version <> l.entries OR l.last_seq <> l.entries OR l.bad > 0 OR u.n > 0
             OR w.held <> hs.total OR rv.n > 0 OR hs.bad_captures > 0)
    ORDER BY w.id;
END
$$;
ALTER FUNCTION wallet.verify_ledger(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.verify_ledger(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.verify_ledger(uuid) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.verify_ledger(uuid) IS
'Returns the wallets (all, or only p_wallet_id) whose stored state disagrees with their ledger: balance <> ledger_sum (the entries signed by wallet.entry_kinds), version <> entries, a gap in seq (last_seq <> entries), entries whose balance_after is not the running sum (bad_running_balances), or transfers between wallets touching it whose two legs do not sum to zero in one currency (unbalanced_transfers; wallet.postings shows every leg, the outside world''s included), or whose held amount is not the sum of its active holds (held, active_holds), or that paid back more of some transfer than it moved (over_reversed: how many transfers its reversals in wallet.reversals over-reverse), or whose captured holds share a capture transfer or took another amount than that transfer moved (bad_captures: how many such holds). No rows = consistent. Scans the whole ledger when p_wallet_id is NULL.';
--rollback DROP FUNCTION wallet.verify_ledger(uuid);
