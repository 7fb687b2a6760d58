--liquibase formatted sql

--changeset wallet:004-ledger-guard
--comment: A second lock on the ledger besides privileges: UPDATE, DELETE and TRUNCATE raise WL010.
-- Kept in a changeset of its own: a distributed (Citus) table refuses triggers by default.
CREATE TRIGGER operations_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON wallet.operations
    FOR EACH STATEMENT EXECUTE FUNCTION wallet.refuse_ledger_change();
--rollback DROP TRIGGER operations_append_only ON wallet.operations;
