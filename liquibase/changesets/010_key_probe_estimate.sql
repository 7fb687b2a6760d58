--liquibase formatted sql

--changeset wallet:010-key-probe-estimate
--comment: The planner assumes a wallet has many entries, so the idempotency-key probe always takes the key index.
-- The probe of a batch's keys (wallet_id = ? AND idempotency_key = ?) can use two indexes that both start with
-- wallet_id: the key index, one row, or the primary key (wallet_id, seq), filtering every entry of the wallet.
-- When the statistics say a wallet has about one entry (a young ledger, or many wallets holding only their
-- opening deposit), both look like one row and the planner may take the primary key: on a hot wallet with
-- 100,000 entries each probe then reads all of them (measured: a batch of 100 went from 9 ms to 300 ms, until
-- autovacuum's next ANALYZE). Fixing the estimate at 100 entries per wallet (n_distinct = -0.01, applied by
-- the next ANALYZE, run here) keeps the key index the cheaper plan whatever the data looks like; the ranges
-- over seq that list and audit a wallet take the primary key either way.
ALTER TABLE wallet.operations ALTER COLUMN wallet_id SET (n_distinct = -0.01);
ANALYZE wallet.operations;
--rollback ALTER TABLE wallet.operations ALTER COLUMN wallet_id RESET (n_distinct);
