--liquibase formatted sql

--changeset wallet:005-app-timeouts splitStatements:false
--comment: Bounds on what one API call may hold: no statement, lock wait or idle transaction lasts long.
-- statement_timeout 8s stays under the API's command_timeout (10s), so the database cancels first and
-- the API retries with the same idempotency keys; lock_timeout 4s turns a wallet stuck behind a long
-- lock into a retry rather than a pile-up; idle_in_transaction_session_timeout 10s ends a session
-- that opened a transaction and went quiet (the API never does: it runs one autocommit call).
-- Per database (IN DATABASE), so each database's migration owns its own settings.
DO $$
BEGIN
    EXECUTE format('ALTER ROLE wallet_app IN DATABASE %I SET statement_timeout = %L', current_database(), '8s');
    EXECUTE format('ALTER ROLE wallet_app IN DATABASE %I SET lock_timeout = %L', current_database(), '4s');
    EXECUTE format('ALTER ROLE wallet_app IN DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '10s');
END
$$;
--rollback DO $$ BEGIN EXECUTE format('ALTER ROLE wallet_app IN DATABASE %I RESET ALL', current_database()); END $$;
