--liquibase formatted sql

--changeset wallet:003-pgbouncer-schema
--comment: Home of PgBouncer's auth_query function; only pgbouncer_auth may use it.
CREATE SCHEMA pgbouncer;
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;
--rollback DROP SCHEMA pgbouncer;
