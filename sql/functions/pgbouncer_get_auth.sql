--liquibase formatted sql

--changeset wallet:fn-pgbouncer-get-auth runOnChange:true splitStatements:false
-- PgBouncer's auth_query: the SCRAM secret of a login role, so PgBouncer needs no list of users.
-- Owned by the migrating superuser (reads pg_shadow); never returns a superuser or an expired role.
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
RETURNS TABLE (usename name, passwd text)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.usename, s.passwd
    FROM pg_catalog.pg_shadow AS s
    WHERE s.usename = p_usename
        AND NOT s.usesuper
        AND (s.valuntil IS NULL OR s.valuntil > now())
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO pgbouncer_auth;
COMMENT ON FUNCTION pgbouncer.get_auth(text) IS
'PgBouncer auth_query: returns the name and SCRAM secret of a non-superuser login role whose password has not expired. EXECUTE: pgbouncer_auth only.';
--rollback DROP FUNCTION pgbouncer.get_auth(text);
