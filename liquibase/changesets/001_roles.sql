--liquibase formatted sql

--changeset wallet:001-roles splitStatements:false
--comment: Roles are cluster-wide: create them once, whichever database migrates first.
-- wallet_owner owns every object and logs in never; wallet_app may only EXECUTE the API functions;
-- wallet_reader reads for reports; pgbouncer_auth only runs PgBouncer's auth_query.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('wallet_owner', 'NOLOGIN'),
        ('wallet_app', 'LOGIN'),
        ('wallet_reader', 'LOGIN'),
        ('pgbouncer_auth', 'LOGIN')) AS v (name, login)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', r.name, r.login);
        END IF;
    END LOOP;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO wallet_app, wallet_reader, pgbouncer_auth', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
--rollback DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM wallet_app, wallet_reader, pgbouncer_auth', current_database()); EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database()); END $$;
