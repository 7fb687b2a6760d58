--liquibase formatted sql

--changeset wallet:fn-expire-refusals runOnChange:true splitStatements:false
-- Deletes the refusals whose expires_at has passed (records of keys the API made for its own retries).
-- Safe at any time: no attempt with such a key can still be in flight (see changeset 007).
CREATE OR REPLACE FUNCTION wallet.expire_refusals(p_limit integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_removed bigint;
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000000 THEN
        PERFORM wallet.raise_error('WL009', format('p_limit must be 1 to 1000000, not %s', coalesce(p_limit::text, 'NULL')));
    END IF;
    -- At most p_limit rows per call (the index on expires_at finds them), so one call stays short.
    DELETE FROM wallet.refusals AS r
    WHERE (r.wallet_id, r.idempotency_key) IN (
        SELECT x.wallet_id, x.idempotency_key FROM wallet.refusals AS x
        WHERE x.expires_at IS NOT NULL AND x.expires_at < now()
        LIMIT p_limit);
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN v_removed;
END
$$;
ALTER FUNCTION wallet.expire_refusals(integer) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.expire_refusals(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.expire_refusals(integer) TO wallet_app;
COMMENT ON FUNCTION wallet.expire_refusals(integer) IS
'Deletes up to p_limit (default 10000) recorded refusals whose expires_at has passed: those of keys the API made up for requests without an Idempotency-Key (kept 10 minutes, far longer than any retry of that request). Returns how many. The API calls it every WALLET_HOUSEKEEPING_SECONDS; refusals of client keys (expires_at NULL) are never touched (see wallet.prune_refusals).';
--rollback DROP FUNCTION wallet.expire_refusals(integer);
