--liquibase formatted sql

--changeset wallet:fn-prune-refusals runOnChange:true splitStatements:false
-- Removes recorded refusals older than a given age, for a DBA's housekeeping. Safe once no attempt
-- with those keys can still be in flight (the API gives up on a call within seconds).
CREATE OR REPLACE FUNCTION wallet.prune_refusals(p_wallet_id uuid, p_older_than interval DEFAULT '7 days')
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_removed bigint;
BEGIN
    IF p_older_than IS NULL OR p_older_than < interval '1 hour' THEN
        PERFORM wallet.raise_error('WL009', 'p_older_than must be at least 1 hour, so no attempt in flight can miss its refusal');
    END IF;
    DELETE FROM wallet.refusals AS r
    WHERE (p_wallet_id IS NULL OR r.wallet_id = p_wallet_id) AND r.created_at < now() - p_older_than;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN v_removed;
END
$$;
ALTER FUNCTION wallet.prune_refusals(uuid, interval) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.prune_refusals(uuid, interval) FROM PUBLIC;
COMMENT ON FUNCTION wallet.prune_refusals(uuid, interval) IS
'Deletes recorded refusals (wallet.refusals) of one wallet, or of all when p_wallet_id is NULL, older than p_older_than (default 7 days, at least 1 hour). Returns how many. After pruning, the same key may be tried again. For DBAs; the API never calls it.';
--rollback DROP FUNCTION wallet.prune_refusals(uuid, interval);
