--liquibase formatted sql

--changeset wallet:011-holds
--comment: Holds: money reserved on a wallet, captured (all or part) or voided later, or expired.
-- A hold moves no money: it lowers the wallet's available balance (balance - held), against which
-- withdrawals, transfers out and new holds are checked. wallets.held is the sum of the wallet's
-- active holds, kept under the wallet's row lock by the functions that change either.
ALTER TABLE wallet.wallets
    ADD COLUMN held numeric(22, 4) NOT NULL DEFAULT 0,
    ADD CONSTRAINT wallets_held_within_balance CHECK (held >= 0 AND held <= balance);
COMMENT ON COLUMN wallet.wallets.held IS 'The sum of the wallet''s active holds (wallet.holds); available balance = balance - held, never negative.';

CREATE TABLE wallet.holds (
    wallet_id uuid NOT NULL REFERENCES wallet.wallets (id),
    id uuid NOT NULL,
    amount numeric(22, 4) NOT NULL CONSTRAINT holds_amount_positive CHECK (amount > 0),
    status text NOT NULL CONSTRAINT holds_status_known CHECK (status IN ('active', 'captured', 'voided', 'expired')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    idempotency_key text CONSTRAINT holds_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    metadata jsonb CONSTRAINT holds_metadata_object CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object'),
    -- how it ended: when, by which request (its key), and for a capture what moved where
    closed_at timestamptz,
    close_key text CONSTRAINT holds_close_key_length CHECK (length(close_key) BETWEEN 1 AND 255),
    captured_amount numeric(22, 4),
    capture_transfer_id uuid,
    capture_to_wallet_id uuid,
    PRIMARY KEY (wallet_id, id),
    CONSTRAINT holds_idempotency_key_unique UNIQUE (wallet_id, idempotency_key),
    CONSTRAINT holds_closed_unless_active CHECK ((status = 'active') = (closed_at IS NULL)),
    CONSTRAINT holds_capture_only_when_captured CHECK (
        (status = 'captured') = (captured_amount IS NOT NULL AND capture_transfer_id IS NOT NULL)),
    CONSTRAINT holds_captured_within_amount CHECK (captured_amount > 0 AND captured_amount <= amount)
);
ALTER TABLE wallet.holds OWNER TO wallet_owner;
CREATE INDEX holds_id ON wallet.holds (id);
CREATE INDEX holds_active_expiry ON wallet.holds (expires_at) WHERE status = 'active';
COMMENT ON TABLE wallet.holds IS 'Money reserved on a wallet (wallet.create_hold): active until captured (wallet.capture_hold: a withdrawal or a transfer of at most its amount, the rest released), voided (wallet.void_hold) or expired (at expires_at: wallet.expire_holds, or whenever the wallet is locked). closed_at records when it stopped being active.';
REVOKE ALL ON wallet.holds FROM PUBLIC;
GRANT SELECT ON wallet.holds TO wallet_reader;

-- A hold refused for insufficient available funds is recorded like any keyed refusal.
ALTER TABLE wallet.refusals
    DROP CONSTRAINT refusals_kind_known,
    ADD CONSTRAINT refusals_kind_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW', 'TRANSFER_OUT', 'HOLD'));
--rollback ALTER TABLE wallet.refusals DROP CONSTRAINT refusals_kind_known, ADD CONSTRAINT refusals_kind_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW', 'TRANSFER_OUT'));
--rollback DROP TABLE wallet.holds;
--rollback ALTER TABLE wallet.wallets DROP CONSTRAINT wallets_held_within_balance, DROP COLUMN held;
