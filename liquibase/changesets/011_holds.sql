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

-- A hold as the hold functions return it (amounts in its currency's minor units).
CREATE TYPE wallet.hold_result AS (
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
    replayed boolean
);
ALTER TYPE wallet.hold_result OWNER TO wallet_owner;
COMMENT ON TYPE wallet.hold_result IS 'A hold as wallet.create_hold, get_hold, capture_hold and void_hold return it: status active, captured, voided or expired; captured_amount and capture_transfer_id (the transfer that moved the money) once captured; closed_at when it stopped being active; available_balance: its wallet''s balance - held now; replayed: an answer to a repeated key.';

--rollback DROP TYPE wallet.hold_result;
--rollback DROP TABLE wallet.holds;
--rollback ALTER TABLE wallet.wallets DROP CONSTRAINT wallets_held_within_balance, DROP COLUMN held;
