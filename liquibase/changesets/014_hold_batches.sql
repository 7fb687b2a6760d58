--liquibase formatted sql

--changeset wallet:014-hold-batches
--comment: Holds in batches: the row types of wallet.create_holds, which places many holds on one (hot)
-- wallet in one call, as wallet.post_transfers does for movements (live batching in the API).
CREATE TYPE wallet.hold_request AS (
    amount numeric,
    expires_in_seconds integer,
    idempotency_key text,
    ephemeral_key boolean,
    metadata jsonb
);
ALTER TYPE wallet.hold_request OWNER TO wallet_owner;
COMMENT ON TYPE wallet.hold_request IS 'One hold to place (wallet.create_holds): amount, expires_in_seconds (1 to 2592000), idempotency_key (scoped to the wallet; NULL: none), ephemeral_key (the caller made the key up for its own retries), metadata (a JSON object or NULL).';

-- A hold_result with the element's position first and its refusal last.
CREATE TYPE wallet.hold_outcome AS (
    ordinal integer,
    hold_id uuid,
    wallet_id uuid,
    amount numeric,
    currency text,
    status text,
    captured_amount numeric,
    capture_transfer_id uuid,
    capture_to_wallet_id uuid,
    expires_at timestamptz,
    created_at timestamptz,
    closed_at timestamptz,
    metadata jsonb,
    available_balance numeric,
    replayed boolean,
    error_code text,
    error_detail text
);
ALTER TYPE wallet.hold_outcome OWNER TO wallet_owner;
COMMENT ON TYPE wallet.hold_outcome IS 'The outcome of one element of wallet.create_holds: the hold as wallet.hold_result has it (available_balance: the wallet''s right after this element), or, for a refused element, error_code and error_detail (nothing of it written).';
GRANT USAGE ON TYPE wallet.hold_request, wallet.hold_outcome TO wallet_app, wallet_reader;
--rollback DROP TYPE wallet.hold_outcome;
--rollback DROP TYPE wallet.hold_request;
