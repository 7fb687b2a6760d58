--liquibase formatted sql

--changeset wallet:fn-refuse-ledger-change runOnChange:true splitStatements:false
-- The ledger guard's trigger function: any UPDATE, DELETE or TRUNCATE of wallet.operations raises
-- WL010, whoever runs it (privileges already refuse it to everyone but a superuser).
CREATE OR REPLACE FUNCTION wallet.refuse_ledger_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM wallet.raise_error('WL010', format('%s on %s.%s refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME));
    RETURN NULL;
END
$$;
ALTER FUNCTION wallet.refuse_ledger_change() OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.refuse_ledger_change() FROM PUBLIC;
COMMENT ON FUNCTION wallet.refuse_ledger_change() IS
'Trigger function of operations_append_only: refuses UPDATE, DELETE and TRUNCATE on the ledger with WL010.';
--rollback DROP FUNCTION wallet.refuse_ledger_change();
