--liquibase formatted sql

--changeset wallet:006-refusals
--comment: Refusals that depend on the wallet's state (insufficient funds, balance limit) are final for their key.
-- Without this record, an attempt still in flight (stuck in a retry behind a fault) could apply a
-- withdrawal that the same key had already been refused, after the client took the refusal as
-- final. With it, every attempt with the key replays the refusal. Not part of the ledger: no
-- balance moves; rows may be pruned once no attempt can be in flight (wallet.prune_refusals).
CREATE TABLE wallet.refusals (
    wallet_id uuid NOT NULL REFERENCES wallet.wallets (id),
    idempotency_key text NOT NULL CONSTRAINT refusals_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    operation_type text NOT NULL CONSTRAINT refusals_type_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW')),
    amount numeric(20, 2) NOT NULL CONSTRAINT refusals_amount_positive CHECK (amount > 0),
    balance numeric(20, 2) NOT NULL,
    error_code text NOT NULL,
    error_detail text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (wallet_id, idempotency_key)
);
ALTER TABLE wallet.refusals OWNER TO wallet_owner;
COMMENT ON TABLE wallet.refusals IS 'Keyed operations refused for the wallet''s state (WL002, WL006): a repeat of the key replays the refusal. Not ledger entries.';
COMMENT ON COLUMN wallet.refusals.balance IS 'The balance the operation was checked against.';
REVOKE ALL ON wallet.refusals FROM PUBLIC;
GRANT SELECT ON wallet.refusals TO wallet_reader;
--rollback DROP TABLE wallet.refusals;
