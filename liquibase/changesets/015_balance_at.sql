--liquibase formatted sql

--changeset wallet:015-balance-at
--comment: A wallet's balance at a point in time in one index probe: its entries by time.
-- wallet.balance_at takes the wallet's latest entry at or before the moment (created_at, then seq, both
-- descending: a backward scan of this index, LIMIT 1). Entries of one wallet never go back in time
-- (wallet.post_transfers dates them no earlier than the wallet's last change), so by time is by seq.
CREATE INDEX operations_wallet_time ON wallet.operations (wallet_id, created_at, seq);
--rollback DROP INDEX wallet.operations_wallet_time;
