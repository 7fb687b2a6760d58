--liquibase formatted sql

--changeset wallet:008-transfer-types
--comment: The row types of wallet.post_transfers: a request is a row, not parallel arrays.
-- In a changeset of their own, early in the changelog: the functions that declare variables of these
-- types (apply_operations, post_transfers) are checked against them when they are created.
-- Requests and results of wallet.post_transfers: a request is a row, not parallel arrays.
CREATE TYPE wallet.transfer_request AS (
    from_wallet_id uuid,
    to_wallet_id uuid,
    amount numeric,
    idempotency_key text,
    ephemeral_key boolean,
    metadata jsonb
);
ALTER TYPE wallet.transfer_request OWNER TO wallet_owner;
COMMENT ON TYPE wallet.transfer_request IS 'One movement of money: from_wallet_id NULL is a deposit (from the outside world), to_wallet_id NULL a withdrawal (to it), both set a transfer between wallets. idempotency_key: the client''s key, scoped to the wallet that owns the transfer (the source; the wallet of a deposit). ephemeral_key: the key was made up by the caller for its own retries (a refusal for it expires). metadata: a JSON object or NULL.';

CREATE TYPE wallet.transfer_result AS (
    ordinal integer,
    transfer_id uuid,
    kind text,
    wallet_id uuid,
    from_wallet_id uuid,
    to_wallet_id uuid,
    amount numeric,
    currency text,
    metadata jsonb,
    entry_id uuid,
    entry_kind text,
    seq bigint,
    balance_after numeric,
    counter_entry_id uuid,
    counter_seq bigint,
    idempotency_key text,
    created_at timestamptz,
    replayed boolean,
    error_code text,
    error_detail text
);
ALTER TYPE wallet.transfer_result OWNER TO wallet_owner;
COMMENT ON TYPE wallet.transfer_result IS 'The outcome of one transfer request. kind: DEPOSIT, WITHDRAW or TRANSFER. wallet_id: the wallet that owns it (the source; the wallet of a deposit); entry_id, entry_kind, seq, balance_after: that wallet''s leg and its balance after it (for a refusal: the balance it was checked against); counter_entry_id, counter_seq: the destination''s leg of a transfer between wallets. error_code/error_detail: the SQLSTATE and facts of a refusal, nothing of which was written.';

GRANT USAGE ON TYPE wallet.transfer_request, wallet.transfer_result TO wallet_app, wallet_reader;
--rollback DROP TYPE wallet.transfer_result;
--rollback DROP TYPE wallet.transfer_request;
