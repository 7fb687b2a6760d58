--liquibase formatted sql

--changeset wallet:fn-verify-ledger runOnChange:true splitStatements:false
-- Audits wallets against their ledgers: balance = signed sum of entries, version = entry count,
-- seq gap-free, every balance_after = running sum. Read-only; no rows means consistent.
CREATE OR REPLACE FUNCTION wallet.verify_ledger(p_wallet_id uuid DEFAULT NULL)
RETURNS TABLE (
    wallet_id uuid,
    balance numeric,
    ledger_sum numeric,
    version bigint,
    entries bigint,
    last_seq bigint,
    bad_running_balances bigint
)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT w.id, w.balance, l.total, w.version, l.entries, l.last_seq, l.bad
    FROM wallet.wallets AS w
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(x.signed), 0) AS total,
            count(*) AS entries,
            coalesce(max(x.seq), 0) AS last_seq,
            count(*) FILTER (WHERE x.balance_after <> x.running) AS bad
        FROM (
            SELECT o.seq, o.balance_after,
                CASE o.operation_type WHEN 'DEPOSIT' THEN o.amount ELSE -o.amount END AS signed,
                sum(CASE o.operation_type WHEN 'DEPOSIT' THEN o.amount ELSE -o.amount END)
                    OVER (ORDER BY o.seq) AS running
            FROM wallet.operations AS o
            WHERE o.wallet_id = w.id
        ) AS x
    ) AS l
    WHERE (p_wallet_id IS NULL OR w.id = p_wallet_id)
        AND (w.balance <> l.total OR w.version <> l.entries OR l.last_seq <> l.entries OR l.bad > 0)
    ORDER BY w.id
$$;
ALTER FUNCTION wallet.verify_ledger(uuid) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.verify_ledger(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.verify_ledger(uuid) TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.verify_ledger(uuid) IS
'Returns the wallets (all, or only p_wallet_id) whose stored state disagrees with their ledger: balance <> ledger_sum, version <> entries, a gap in seq (last_seq <> entries), or entries whose balance_after is not the running sum (bad_running_balances). No rows = consistent. Scans the whole ledger when p_wallet_id is NULL.';
--rollback DROP FUNCTION wallet.verify_ledger(uuid);
