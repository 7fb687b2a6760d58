--liquibase formatted sql

--changeset wallet:012-reversals
--comment: Reversals: a transfer that moves (all or part of) an earlier transfer's money back, linked to it.
-- A reversal is an ordinary transfer in the ledger (B->A for A->B; a withdrawal for a deposit; a deposit
-- for a withdrawal); wallet.reversals says which transfer it reverses. Only wallet.reverse_transfer
-- writes it, after it has locked the wallets, so the link cannot be forged through post_transfers and
-- the reversals of one transfer never add up to more than it. All reversals of one transfer belong to
-- one wallet (the side that pays back), so what is already reversed is one range of its index.
CREATE TABLE wallet.reversals (
    wallet_id uuid NOT NULL REFERENCES wallet.wallets (id),
    transfer_id uuid NOT NULL,
    reverses uuid NOT NULL,
    amount numeric(22, 4) NOT NULL CONSTRAINT reversals_amount_positive CHECK (amount > 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (wallet_id, transfer_id),
    CONSTRAINT reversals_not_itself CHECK (reverses <> transfer_id)
);
ALTER TABLE wallet.reversals OWNER TO wallet_owner;
CREATE INDEX reversals_reverses ON wallet.reversals (wallet_id, reverses);
COMMENT ON TABLE wallet.reversals IS 'Which transfer each reversal reverses (written only by wallet.reverse_transfer). The reversal itself is a transfer in wallet.operations like any other; the reversals of one transfer never sum to more than its amount (wallet.verify_ledger checks it).';
COMMENT ON COLUMN wallet.reversals.wallet_id IS 'The wallet that owns the reversal (its source, or the wallet of a deposit): the one whose ledger entry holds the reversal''s idempotency key. All reversals of one transfer share it: the destination of a transfer between wallets, the wallet of a deposit or withdrawal.';
COMMENT ON COLUMN wallet.reversals.transfer_id IS 'The reversal: a transfer id of wallet.operations (its owning leg is on wallet_id).';
COMMENT ON COLUMN wallet.reversals.reverses IS 'The transfer it reverses (all or part of).';
COMMENT ON COLUMN wallet.reversals.amount IS 'The amount the reversal moved back, in the wallets'' currency.';
COMMENT ON COLUMN wallet.reversals.created_at IS 'When the reversal was made (its ledger entries have the same time).';
REVOKE ALL ON wallet.reversals FROM PUBLIC;
GRANT SELECT ON wallet.reversals TO wallet_reader;

-- A reversal as wallet.reverse_transfer returns it (amounts in the currency's minor units).
CREATE TYPE wallet.reversal_result AS (
    transfer_id uuid,
    kind text,
    from_wallet_id uuid,
    to_wallet_id uuid,
    amount numeric,
    currency text,
    metadata jsonb,
    created_at timestamptz,
    reverses uuid,
    original_reversed_amount numeric,
    balance_after numeric,
    replayed boolean
);
ALTER TYPE wallet.reversal_result OWNER TO wallet_owner;
COMMENT ON TYPE wallet.reversal_result IS 'A reversal as wallet.reverse_transfer returns it: transfer_id, kind (DEPOSIT, WITHDRAW or TRANSFER), from_wallet_id, to_wallet_id, amount, currency, metadata, created_at describe the reversal (a transfer like any other); reverses: the transfer it reverses; original_reversed_amount: how much of that transfer is reversed in all now; balance_after: the balance of the reversal''s owning wallet (its source, or the wallet of a deposit) after the reversal; replayed: an answer to a repeated key.';

--rollback DROP TYPE wallet.reversal_result;
--rollback DROP TABLE wallet.reversals;
