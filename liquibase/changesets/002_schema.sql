--liquibase formatted sql

--changeset wallet:002-schema
--comment: The wallets (one lean, hot row each) and their append-only ledger, keyed by wallet id first.
CREATE SCHEMA wallet AUTHORIZATION wallet_owner;
COMMENT ON SCHEMA wallet IS 'Digital wallets and their ledger. Call the functions (\df+ wallet.*); the tables are not writable by applications.';

-- No index on balance or updated_at: they would make every balance update a non-HOT update.
-- fillfactor leaves room on each page so a balance update stays on the page (HOT).
CREATE TABLE wallet.wallets (
    id uuid PRIMARY KEY,
    balance numeric(20, 2) NOT NULL CONSTRAINT wallets_balance_not_negative CHECK (balance >= 0),
    version bigint NOT NULL CONSTRAINT wallets_version_not_negative CHECK (version >= 0),
    initial_balance numeric(20, 2) NOT NULL CONSTRAINT wallets_initial_balance_not_negative CHECK (initial_balance >= 0),
    creation_key text CONSTRAINT wallets_creation_key_length CHECK (length(creation_key) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
) WITH (fillfactor = 70);
ALTER TABLE wallet.wallets OWNER TO wallet_owner;
COMMENT ON TABLE wallet.wallets IS 'One row per wallet. balance always equals the signed sum of the wallet''s ledger entries; version is the seq of its last entry.';
COMMENT ON COLUMN wallet.wallets.balance IS 'Current balance, 2 decimal places, never negative.';
COMMENT ON COLUMN wallet.wallets.version IS 'Number of ledger entries of this wallet = seq of the newest one.';
COMMENT ON COLUMN wallet.wallets.initial_balance IS 'Balance the wallet was created with (its first ledger entry when > 0).';
COMMENT ON COLUMN wallet.wallets.creation_key IS 'Idempotency key the wallet was created with, if any (replays of the creation return this wallet).';

CREATE TABLE wallet.operations (
    wallet_id uuid NOT NULL REFERENCES wallet.wallets (id),
    seq bigint NOT NULL CONSTRAINT operations_seq_positive CHECK (seq > 0),
    id uuid NOT NULL,
    operation_type text NOT NULL CONSTRAINT operations_type_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW')),
    amount numeric(20, 2) NOT NULL CONSTRAINT operations_amount_positive CHECK (amount > 0),
    balance_after numeric(20, 2) NOT NULL CONSTRAINT operations_balance_after_not_negative CHECK (balance_after >= 0),
    idempotency_key text CONSTRAINT operations_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (wallet_id, seq),
    CONSTRAINT operations_idempotency_key_unique UNIQUE (wallet_id, idempotency_key)
);
ALTER TABLE wallet.operations OWNER TO wallet_owner;
COMMENT ON TABLE wallet.operations IS 'The ledger: one row per applied operation, append-only. Ordered per wallet by seq (1, 2, 3, ... without gaps).';
COMMENT ON COLUMN wallet.operations.seq IS 'Position in the wallet''s ledger, 1-based, gap-free; page by it, never by id.';
COMMENT ON COLUMN wallet.operations.id IS 'Public operation id (random UUID).';
COMMENT ON COLUMN wallet.operations.balance_after IS 'The wallet''s balance right after this entry.';
COMMENT ON COLUMN wallet.operations.idempotency_key IS 'Client key, unique per wallet: a repeat with the same request returns this row.';

-- Nobody, not even the owner, updates or deletes ledger rows; only the functions insert them.
REVOKE ALL ON wallet.wallets, wallet.operations FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON wallet.operations FROM wallet_owner;
GRANT USAGE ON SCHEMA wallet TO wallet_app, wallet_reader;
GRANT SELECT ON wallet.wallets, wallet.operations TO wallet_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE wallet_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
--rollback ALTER DEFAULT PRIVILEGES FOR ROLE wallet_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
--rollback DROP TABLE wallet.operations;
--rollback DROP TABLE wallet.wallets;
--rollback DROP SCHEMA wallet;
