--liquibase formatted sql

--changeset wallet:013-hold-indexes
--comment: The indexes the hold paths need as a wallet's holds pile up.
-- A wallet's due holds (expired when it is locked, added back by readers) are found among its active
-- holds alone, never by walking every hold it ever had; a capture's hold is found from its transfer.
CREATE INDEX holds_active_due ON wallet.holds (wallet_id, expires_at) WHERE status = 'active';
CREATE INDEX holds_capture_transfer ON wallet.holds (capture_transfer_id) WHERE capture_transfer_id IS NOT NULL;
--rollback DROP INDEX wallet.holds_capture_transfer;
--rollback DROP INDEX wallet.holds_active_due;
