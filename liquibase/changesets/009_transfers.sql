--liquibase formatted sql

--changeset wallet:009-transfers splitStatements:false
--comment: Double entry: every ledger entry is a leg of a transfer; wallets have a currency.
-- A deposit is a transfer from the outside world, a withdrawal one to it: the world's leg is implied
-- (equal and opposite to the wallet's), never a row that every deposit would lock (see the view
-- wallet.postings). A transfer between wallets has two legs, TRANSFER_OUT and TRANSFER_IN, in one
-- currency. Existing entries become one-leg transfers whose transfer id is their own id; existing
-- wallets become USD. No cent and no id changes.

-- The currencies (ISO 4217 alphabetic codes) and their minor units: what an amount may be.
CREATE TABLE wallet.currencies (
    code text PRIMARY KEY CONSTRAINT currencies_code_iso CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CONSTRAINT currencies_minor_units_range CHECK (minor_units BETWEEN 0 AND 4),
    name text NOT NULL
);
ALTER TABLE wallet.currencies OWNER TO wallet_owner;
COMMENT ON TABLE wallet.currencies IS 'ISO 4217 currencies a wallet may hold, with their minor units (decimal places of an amount). A DBA may add more.';
INSERT INTO wallet.currencies (code, minor_units, name) VALUES
    ('AED', 2, 'UAE Dirham'), ('ARS', 2, 'Argentine Peso'), ('AUD', 2, 'Australian Dollar'),
    ('BHD', 3, 'Bahraini Dinar'), ('BRL', 2, 'Brazilian Real'), ('CAD', 2, 'Canadian Dollar'),
    ('CHF', 2, 'Swiss Franc'), ('CLF', 4, 'Unidad de Fomento'), ('CLP', 0, 'Chilean Peso'),
    ('CNY', 2, 'Yuan Renminbi'), ('COP', 2, 'Colombian Peso'), ('CZK', 2, 'Czech Koruna'),
    ('DKK', 2, 'Danish Krone'), ('EGP', 2, 'Egyptian Pound'), ('EUR', 2, 'Euro'),
    ('GBP', 2, 'Pound Sterling'), ('HKD', 2, 'Hong Kong Dollar'), ('HUF', 2, 'Forint'),
    ('IDR', 2, 'Rupiah'), ('ILS', 2, 'New Israeli Sheqel'), ('INR', 2, 'Indian Rupee'),
    ('IQD', 3, 'Iraqi Dinar'), ('ISK', 0, 'Iceland Krona'), ('JOD', 3, 'Jordanian Dinar'),
    ('JPY', 0, 'Yen'), ('KES', 2, 'Kenyan Shilling'), ('KRW', 0, 'Won'), ('KWD', 3, 'Kuwaiti Dinar'),
    ('LYD', 3, 'Libyan Dinar'), ('MXN', 2, 'Mexican Peso'), ('MYR', 2, 'Malaysian Ringgit'),
    ('NGN', 2, 'Naira'), ('NOK', 2, 'Norwegian Krone'), ('NZD', 2, 'New Zealand Dollar'),
    ('OMR', 3, 'Rial Omani'), ('PHP', 2, 'Philippine Peso'), ('PLN', 2, 'Zloty'),
    ('RON', 2, 'Romanian Leu'), ('SAR', 2, 'Saudi Riyal'), ('SEK', 2, 'Swedish Krona'),
    ('SGD', 2, 'Singapore Dollar'), ('THB', 2, 'Baht'), ('TND', 3, 'Tunisian Dinar'),
    ('TRY', 2, 'Turkish Lira'), ('TWD', 2, 'New Taiwan Dollar'), ('UAH', 2, 'Hryvnia'),
    ('UGX', 0, 'Uganda Shilling'), ('USD', 2, 'US Dollar'), ('UYW', 4, 'Unidad Previsional'),
    ('VND', 0, 'Dong'), ('XAF', 0, 'CFA Franc BEAC'), ('XOF', 0, 'CFA Franc BCEAO'),
    ('ZAR', 2, 'Rand');

-- What each kind of ledger entry does to its wallet's balance: the one definition (direction), and
-- who is on the other side of its transfer (the outside world, or another wallet).
CREATE TABLE wallet.entry_kinds (
    kind text PRIMARY KEY,
    direction smallint NOT NULL CONSTRAINT entry_kinds_direction_sign CHECK (direction IN (-1, 1)),
    counterparty text NOT NULL CONSTRAINT entry_kinds_counterparty_known CHECK (counterparty IN ('world', 'wallet')),
    description text NOT NULL
);
ALTER TABLE wallet.entry_kinds OWNER TO wallet_owner;
COMMENT ON TABLE wallet.entry_kinds IS 'The kinds of ledger entries: direction is what an entry does to its wallet''s balance (+1 adds its amount, -1 subtracts it); counterparty says whether the transfer''s other leg is the outside world (implied) or another wallet''s entry.';
INSERT INTO wallet.entry_kinds (kind, direction, counterparty, description) VALUES
    ('DEPOSIT', 1, 'world', 'money in from the outside world'),
    ('WITHDRAW', -1, 'world', 'money out to the outside world'),
    ('TRANSFER_IN', 1, 'wallet', 'money in from another wallet (counterparty_wallet_id)'),
    ('TRANSFER_OUT', -1, 'wallet', 'money out to another wallet (counterparty_wallet_id)');

-- Wallets: a currency; amounts with up to 4 decimal places (the most any currency has).
ALTER TABLE wallet.wallets
    ADD COLUMN currency text NOT NULL DEFAULT 'USD' CONSTRAINT wallets_currency_known REFERENCES wallet.currencies (code),
    ALTER COLUMN balance TYPE numeric(22, 4),
    ALTER COLUMN initial_balance TYPE numeric(22, 4);
ALTER TABLE wallet.wallets ALTER COLUMN currency DROP DEFAULT;
COMMENT ON COLUMN wallet.wallets.currency IS 'ISO 4217 code (wallet.currencies); every amount of the wallet is in it, with at most its minor units.';
COMMENT ON COLUMN wallet.wallets.balance IS 'Current balance in the wallet''s currency, never negative.';

-- The ledger: each entry is a leg of a transfer. Existing entries are one-leg transfers (deposits and
-- withdrawals) whose transfer id is their own id. The append-only guard is lifted for this one update.
ALTER TABLE wallet.operations
    ADD COLUMN transfer_id uuid,
    ADD COLUMN counterparty_wallet_id uuid,
    ADD COLUMN metadata jsonb,
    ALTER COLUMN amount TYPE numeric(22, 4),
    ALTER COLUMN balance_after TYPE numeric(22, 4),
    DROP CONSTRAINT operations_type_known;
ALTER TABLE wallet.operations DISABLE TRIGGER operations_append_only;
UPDATE wallet.operations SET transfer_id = id;
ALTER TABLE wallet.operations ENABLE TRIGGER operations_append_only;
-- The kinds are checked by a CHECK list, not a foreign key to entry_kinds: a foreign key would take a
-- KEY SHARE lock on the kind's row for every inserted entry, a row every concurrent transaction shares
-- (MultiXact contention on the hot path). pgTAP checks that the list and entry_kinds agree.
ALTER TABLE wallet.operations
    ALTER COLUMN transfer_id SET NOT NULL,
    ADD CONSTRAINT operations_kind_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW', 'TRANSFER_IN', 'TRANSFER_OUT')),
    ADD CONSTRAINT operations_counterparty_only_for_transfers
        CHECK ((counterparty_wallet_id IS NOT NULL) = (operation_type IN ('TRANSFER_IN', 'TRANSFER_OUT'))),
    ADD CONSTRAINT operations_metadata_object CHECK (metadata IS NULL OR jsonb_typeof(metadata) = 'object');
CREATE INDEX operations_transfer_id ON wallet.operations (transfer_id);
COMMENT ON COLUMN wallet.operations.operation_type IS 'The entry''s kind (wallet.entry_kinds): DEPOSIT, WITHDRAW, TRANSFER_IN, TRANSFER_OUT.';
COMMENT ON COLUMN wallet.operations.transfer_id IS 'The transfer this entry is a leg of: one leg for a deposit or withdrawal (the world''s leg is implied), two for a transfer between wallets.';
COMMENT ON COLUMN wallet.operations.counterparty_wallet_id IS 'For TRANSFER_IN/OUT: the wallet on the other side.';
COMMENT ON COLUMN wallet.operations.metadata IS 'The client''s JSON object given with the transfer (both legs keep it), or NULL.';
COMMENT ON COLUMN wallet.operations.idempotency_key IS 'Client key, unique per wallet, on the leg of the wallet that owns the transfer (its source, or the wallet of a deposit).';

-- Refusals compare the whole request: the counterparty and the metadata too.
ALTER TABLE wallet.refusals
    ADD COLUMN counterparty_wallet_id uuid,
    ADD COLUMN metadata jsonb,
    ALTER COLUMN amount TYPE numeric(22, 4),
    ALTER COLUMN balance TYPE numeric(22, 4),
    DROP CONSTRAINT refusals_type_known,
    ADD CONSTRAINT refusals_kind_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW', 'TRANSFER_OUT'));

-- Every leg of every transfer, the outside world's included: per transfer and currency they sum to
-- zero (wallet.verify_ledger checks it). The world's legs are derived, never stored.
CREATE VIEW wallet.postings AS
SELECT o.transfer_id, o.wallet_id AS account, w.currency, o.operation_type AS kind,
    round(k.direction * o.amount, c.minor_units) AS amount, o.created_at
FROM wallet.operations AS o
JOIN wallet.wallets AS w ON w.id = o.wallet_id
JOIN wallet.currencies AS c ON c.code = w.currency
JOIN wallet.entry_kinds AS k ON k.kind = o.operation_type
UNION ALL
SELECT o.transfer_id, NULL::uuid, w.currency, 'WORLD', round(-k.direction * o.amount, c.minor_units), o.created_at
FROM wallet.operations AS o
JOIN wallet.wallets AS w ON w.id = o.wallet_id
JOIN wallet.currencies AS c ON c.code = w.currency
JOIN wallet.entry_kinds AS k ON k.kind = o.operation_type AND k.counterparty = 'world';
ALTER VIEW wallet.postings OWNER TO wallet_owner;
COMMENT ON VIEW wallet.postings IS 'Double entry: every leg of every transfer, signed (+ into the account, - out of it). account NULL is the outside world, whose leg of a deposit or withdrawal is implied. SELECT transfer_id, currency, sum(amount) FROM wallet.postings GROUP BY 1, 2 HAVING sum(amount) <> 0 returns nothing.';

GRANT SELECT ON wallet.currencies, wallet.entry_kinds, wallet.postings TO wallet_reader;
--rollback DROP VIEW wallet.postings;
--rollback ALTER TABLE wallet.refusals DROP CONSTRAINT refusals_kind_known, DROP COLUMN counterparty_wallet_id, DROP COLUMN metadata, ALTER COLUMN amount TYPE numeric(20, 2), ALTER COLUMN balance TYPE numeric(20, 2), ADD CONSTRAINT refusals_type_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW'));
--rollback DROP INDEX wallet.operations_transfer_id;
--rollback ALTER TABLE wallet.operations DROP CONSTRAINT operations_kind_known, DROP CONSTRAINT operations_counterparty_only_for_transfers, DROP CONSTRAINT operations_metadata_object, DROP COLUMN transfer_id, DROP COLUMN counterparty_wallet_id, DROP COLUMN metadata, ALTER COLUMN amount TYPE numeric(20, 2), ALTER COLUMN balance_after TYPE numeric(20, 2), ADD CONSTRAINT operations_type_known CHECK (operation_type IN ('DEPOSIT', 'WITHDRAW'));
--rollback ALTER TABLE wallet.wallets DROP COLUMN currency, ALTER COLUMN balance TYPE numeric(20, 2), ALTER COLUMN initial_balance TYPE numeric(20, 2);
--rollback DROP TABLE wallet.entry_kinds;
--rollback DROP TABLE wallet.currencies;
